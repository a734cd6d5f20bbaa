{{/*
The CSI driver name: the CSIDriver object, the classes' provisioner, the kubelet plugin directory
(and so the node socket path) and the driver's --driver-name. Several releases against several
RDS units each need their own.
*/}}
{{- define "rds-csi.driverName" -}}
{{- .Values.driverName -}}
{{- end }}

{{- define "rds-csi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rds-csi.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rds-csi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rds-csi.labels" -}}
helm.sh/chart: {{ include "rds-csi.chart" . }}
{{ include "rds-csi.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rds-csi
{{- end }}

{{- define "rds-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rds-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: call with (dict "ctx" $ "component" "controller"). */}}
{{- define "rds-csi.componentLabels" -}}
{{ include "rds-csi.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "rds-csi.componentSelector" -}}
{{ include "rds-csi.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "rds-csi.controllerServiceAccount" -}}
{{- default (printf "%s-controller" (include "rds-csi.fullname" .)) .Values.serviceAccount.controllerName }}
{{- end }}

{{- define "rds-csi.nodeServiceAccount" -}}
{{- default (printf "%s-node" (include "rds-csi.fullname" .)) .Values.serviceAccount.nodeName }}
{{- end }}

{{/* An image reference: call with (dict "registry" r "image" .image "default" tag). */}}
{{- define "rds-csi.image" -}}
{{- $tag := .image.tag | default .default -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .registry) .image.repository $tag -}}
{{- end }}

{{- define "rds-csi.controllerImage" -}}
{{ include "rds-csi.image" (dict "registry" .Values.image.registry "image" .Values.image.controller "default" .Chart.AppVersion) }}
{{- end }}

{{- define "rds-csi.nodeImage" -}}
{{ include "rds-csi.image" (dict "registry" .Values.image.registry "image" .Values.image.node "default" .Chart.AppVersion) }}
{{- end }}

{{- define "rds-csi.sidecarImage" -}}
{{ include "rds-csi.image" (dict "registry" .root.Values.sidecars.registry "image" .image "default" "") }}
{{- end }}

{{/* Name of the Secret the chart creates for inline credential values. */}}
{{- define "rds-csi.createdSecretName" -}}
{{- printf "%s-ssh" (include "rds-csi.fullname" .) }}
{{- end }}

{{/* Whether any inline secret value is set, so the chart creates its Secret. */}}
{{- define "rds-csi.createsSecret" -}}
{{- $ssh := .Values.rds.ssh -}}
{{- if or $ssh.privateKey $ssh.passphrase (and (eq .Values.rds.hostKey.verification "knownHosts") .Values.rds.hostKey.knownHosts) -}}
true
{{- end -}}
{{- end }}

{{/*
Where one credential field comes from, as JSON: {"secret": name, "key": key}, {"value": v}
or {} when nothing provides it. Precedence: secretRefs entry, inline value, existingSecret.
Arguments: ref, value, secretValue (inline values go to the created Secret), key (the
conventional key name), fromExisting (whether existingSecret may provide it), ctx.
*/}}
{{- define "rds-csi.credentialSource" -}}
{{- $existing := .ctx.Values.rds.existingSecret -}}
{{- if and .ref .ref.name -}}
{{- dict "secret" .ref.name "key" (.ref.key | default .key) | toJson -}}
{{- else if .value -}}
{{- if .secretValue -}}
{{- dict "secret" (include "rds-csi.createdSecretName" .ctx) "key" .key | toJson -}}
{{- else -}}
{{- dict "value" (toString .value) | toJson -}}
{{- end -}}
{{- else if and $existing .fromExisting -}}
{{- dict "secret" $existing "key" .key | toJson -}}
{{- else -}}
{}
{{- end -}}
{{- end }}

{{/* All credential sources, as JSON keyed by field; fails on a missing required field. */}}
{{- define "rds-csi.credentials" -}}
{{- $rds := .Values.rds -}}
{{- $refs := $rds.secretRefs -}}
{{- $verify := $rds.hostKey.verification -}}
{{- $out := dict -}}
{{- $_ := set $out "address" (include "rds-csi.credentialSource" (dict "ctx" . "ref" $refs.address "value" $rds.address "secretValue" false "key" "address" "fromExisting" true) | fromJson) -}}
{{- $_ := set $out "user" (include "rds-csi.credentialSource" (dict "ctx" . "ref" $refs.user "value" $rds.user "secretValue" false "key" "user" "fromExisting" true) | fromJson) -}}
{{- $_ := set $out "privateKey" (include "rds-csi.credentialSource" (dict "ctx" . "ref" $refs.privateKey "value" $rds.ssh.privateKey "secretValue" true "key" "ssh-privatekey" "fromExisting" true) | fromJson) -}}
{{- $_ := set $out "passphrase" (include "rds-csi.credentialSource" (dict "ctx" . "ref" $refs.passphrase "value" $rds.ssh.passphrase "secretValue" true "key" "passphrase" "fromExisting" $rds.ssh.passphraseFromExistingSecret) | fromJson) -}}
{{- if eq $verify "fingerprint" -}}
{{- $_ := set $out "hostKeyFingerprint" (include "rds-csi.credentialSource" (dict "ctx" . "ref" $refs.hostKeyFingerprint "value" $rds.hostKey.fingerprint "secretValue" false "key" "host-key-fingerprint" "fromExisting" true) | fromJson) -}}
{{- else if eq $verify "knownHosts" -}}
{{- $_ := set $out "knownHosts" (include "rds-csi.credentialSource" (dict "ctx" . "ref" $refs.knownHosts "value" $rds.hostKey.knownHosts "secretValue" true "key" "known_hosts" "fromExisting" true) | fromJson) -}}
{{- end -}}
{{- if not $out.address -}}
{{- fail "rds.address is required: set rds.address, rds.secretRefs.address, or rds.existingSecret with an \"address\" key" -}}
{{- end -}}
{{- if not $out.user -}}
{{- fail "rds.user is required: set rds.user, rds.secretRefs.user, or rds.existingSecret with a \"user\" key" -}}
{{- end -}}
{{- if not $out.privateKey -}}
{{- fail "an SSH private key is required: set rds.existingSecret (key ssh-privatekey), rds.secretRefs.privateKey, or rds.ssh.privateKey" -}}
{{- end -}}
{{- if and (eq $verify "fingerprint") (not $out.hostKeyFingerprint) -}}
{{- fail "rds.hostKey.verification=fingerprint needs rds.hostKey.fingerprint, rds.secretRefs.hostKeyFingerprint, or rds.existingSecret with a \"host-key-fingerprint\" key" -}}
{{- end -}}
{{- if and (eq $verify "knownHosts") (not $out.knownHosts) -}}
{{- fail "rds.hostKey.verification=knownHosts needs rds.hostKey.knownHosts, rds.secretRefs.knownHosts, or rds.existingSecret with a \"known_hosts\" key" -}}
{{- end -}}
{{- $out | toJson -}}
{{- end }}

{{/* An env entry from a credential source: call with (dict "name" ENV "source" src). */}}
{{- define "rds-csi.envFromSource" -}}
- name: {{ .name }}
{{- if hasKey .source "value" }}
  value: {{ .source.value | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ .source.secret }}
      key: {{ .source.key }}
{{- end }}
{{- end }}

{{/* Directory the SSH files are mounted at; the driver's default key path lies inside it. */}}
{{- define "rds-csi.sshDir" -}}
/etc/rds-csi/ssh
{{- end }}

{{/*
Projected volume sources that place each file credential at its conventional name, grouped
by Secret; every item is required, so a missing key stops the pod with a clear event.
*/}}
{{- define "rds-csi.sshVolumeSources" -}}
{{- $creds := include "rds-csi.credentials" . | fromJson -}}
{{- $files := dict "privateKey" "ssh-privatekey" "passphrase" "passphrase" "knownHosts" "known_hosts" -}}
{{- $bySecret := dict -}}
{{- range $field := keys $files | sortAlpha -}}
{{- $src := get $creds $field -}}
{{- if and $src (hasKey $src "secret") -}}
{{- $items := get $bySecret $src.secret | default list -}}
{{- $_ := set $bySecret $src.secret (append $items (dict "key" $src.key "path" (get $files $field))) -}}
{{- end -}}
{{- end -}}
{{- range $name := keys $bySecret | sortAlpha }}
- secret:
    name: {{ $name }}
    items:
      {{- range get $bySecret $name }}
      - key: {{ .key }}
        path: {{ .path }}
      {{- end }}
{{- end }}
{{- end }}

{{/* Pod annotation that rolls the controller when its credentials or their sources change. */}}
{{- define "rds-csi.credentialsChecksum" -}}
{{- $secret := include (print .Template.BasePath "/secret.yaml") . -}}
{{- printf "%s\n%s" (include "rds-csi.credentials" .) $secret | sha256sum -}}
{{- end }}

{{/* Leader-election and timeout flags shared by the controller sidecars. */}}
{{- define "rds-csi.sidecarCommonArgs" -}}
- --csi-address=/csi/csi.sock
- --v={{ .Values.sidecars.logVerbosity }}
- --timeout={{ .Values.controller.timeout }}
- --leader-election=true
- --leader-election-namespace={{ .Release.Namespace }}
{{- end }}

{{/* The pod security context every controller container runs under. */}}
{{- define "rds-csi.restrictedContainer" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* rds.extraPools as --rds-pools takes them: name or name:fsLabel, comma-separated. */}}
{{- define "rds-csi.extraPools" -}}
{{- $out := list -}}
{{- range . -}}
{{- $out = append $out (ternary (printf "%s:%s" .name .fsLabel) .name (not (empty .fsLabel))) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}
