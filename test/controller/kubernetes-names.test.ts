/**
 * The PV and claim names the external-provisioner passes (--extra-create-metadata) end up in the
 * volume's `/disk` comment on the RDS, survive the confirmation of a retried create, and volumes
 * made before names were recorded keep working.
 */
import { describe, expect, it } from "vitest";
import { createSnapshotRequest, createVolumeRequest, useHarness } from "./harness.js";

const MiB = 1024n * 1024n;
const h = useHarness();

const pvcParameters = (pv: string) => ({
  "csi.storage.k8s.io/pv/name": pv,
  "csi.storage.k8s.io/pvc/name": "data-postgres-0",
  "csi.storage.k8s.io/pvc/namespace": "shop",
});

describe("Kubernetes names on the RDS", () => {
  it("records the PV and claim in the /disk comment, kept when a retried create confirms it", async () => {
    const pv = "pvc-1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    const request = createVolumeRequest(pv, { required: 8n * MiB, parameters: pvcParameters(pv) });
    const made = await h.call("CreateVolume", request);
    const id = made.volume.volume_id;
    expect((await h.client.getDisk(id))?.comment).toMatch(
      new RegExp(`^rds-csi v1 attempt=[0-9a-f]{16} pv=${pv} pvc=shop/data-postgres-0$`),
    );
    const again = await h.call("CreateVolume", request);
    expect(again.volume.volume_id).toBe(id);
    expect((await h.client.getDisk(id))?.comment).toBe(`rds-csi v1 pv=${pv} pvc=shop/data-postgres-0`);
    // A snapshot with the snapshotter's parameters is accepted (its names go to the log).
    const snap = await h.call("CreateSnapshot", {
      ...createSnapshotRequest("snapshot-names", id),
      parameters: {
        "csi.storage.k8s.io/volumesnapshot/name": "nightly",
        "csi.storage.k8s.io/volumesnapshot/namespace": "shop",
        "csi.storage.k8s.io/volumesnapshotcontent/name": "snapcontent-1",
      },
    });
    expect(snap.snapshot.ready_to_use).toBe(true);
    await h.call("DeleteSnapshot", { snapshot_id: snap.snapshot.snapshot_id, secrets: {} });
    await h.call("DeleteVolume", { volume_id: id, secrets: {} });
  });

  it("a volume made without names (before they were recorded) is found, confirmed and deleted as before", async () => {
    const request = createVolumeRequest("made-before-names", { required: 8n * MiB });
    const made = await h.call("CreateVolume", request);
    const id = made.volume.volume_id;
    // The same name again, now with the names the provisioner passes: the existing volume answers.
    const again = await h.call("CreateVolume", {
      ...request,
      parameters: pvcParameters("pvc-2c5f39cb-3ab2-42e3-994f-1127e4ddb538"),
    });
    expect(again.volume.volume_id).toBe(id);
    expect((await h.client.getDisk(id))?.comment).toBe("rds-csi v1");
    await h.call("DeleteVolume", { volume_id: id, secrets: {} });
    expect(await h.client.getDisk(id)).toBeNull();
  });
});
