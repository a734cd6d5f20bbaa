import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Throwaway certificates for a control plane on 127.0.0.1, made with openssl: a CA, the API
 * server's serving certificate, client certificates by identity, and the service-account signing
 * key pair. Valid for a day; they live and die with the suite's temporary directory.
 */

export interface ClientIdentity {
  /** Common name: the user name the API server sees. */
  user: string;
  /** Organisation: the groups. */
  groups?: string[];
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** Issues a client certificate; returns [cert, key] paths. */
  client(name: string, identity: ClientIdentity): [string, string];
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function ecKey(file: string): void {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
}

export function createPki(dir: string): Pki {
  const file = (name: string) => path.join(dir, name);
  const caKey = file("ca.key");
  const caCert = file("ca.crt");
  ecKey(caKey);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-out",
    caCert,
    "-days",
    "1",
    "-subj",
    "/CN=rds-csi-test-ca",
  ]);

  const sign = (name: string, subject: string, extensions: string): [string, string] => {
    const key = file(`${name}.key`);
    const csr = file(`${name}.csr`);
    const cert = file(`${name}.crt`);
    const ext = file(`${name}.ext`);
    ecKey(key);
    openssl(["req", "-new", "-key", key, "-out", csr, "-subj", subject]);
    writeFileSync(ext, extensions);
    openssl(
      ["x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial"].concat([
        "-out",
        cert,
        "-days",
        "1",
        "-extfile",
        ext,
      ]),
    );
    return [cert, key];
  };

  const [serverCert, serverKey] = sign(
    "apiserver",
    "/CN=kube-apiserver",
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
      "",
    ].join("\n"),
  );

  // RSA: the signing algorithm every Kubernetes version accepts for service-account tokens.
  const serviceAccountKey = file("sa.key");
  const serviceAccountPub = file("sa.pub");
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", serviceAccountKey]);
  openssl(["pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub]);

  return {
    dir,
    caCert,
    caKey,
    serverCert,
    serverKey,
    serviceAccountKey,
    serviceAccountPub,
    client: (name, identity) => {
      const subject = [...(identity.groups ?? []).map((g) => `/O=${g}`), `/CN=${identity.user}`].join("");
      return sign(
        name,
        subject,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
      );
    },
  };
}

/** A kubeconfig for https://127.0.0.1:<port>, authenticating by client certificate or bearer token. */
export function writeKubeconfig(
  file: string,
  options: { port: number; caCert: string; user: { cert: string; key: string } | { token: string } },
): string {
  const ca = readFileSync(options.caCert).toString("base64");
  const user =
    "token" in options.user
      ? { token: options.user.token }
      : {
          "client-certificate-data": readFileSync(options.user.cert).toString("base64"),
          "client-key-data": readFileSync(options.user.key).toString("base64"),
        };
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "test",
        cluster: { server: `https://127.0.0.1:${options.port}`, "certificate-authority-data": ca },
      },
    ],
    users: [{ name: "user", user }],
    contexts: [{ name: "test", context: { cluster: "test", user: "user" } }],
    "current-context": "test",
  };
  // JSON is YAML: every client reads it.
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}
