import { defineMatrixSuite } from "./matrix-suite.js";

defineMatrixSuite("snapshots", ["CreateSnapshot", "DeleteSnapshot"], ["DeleteSnapshotOfLiveVolume"]);
