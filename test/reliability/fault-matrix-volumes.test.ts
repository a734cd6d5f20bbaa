import { defineMatrixSuite } from "./matrix-suite.js";

defineMatrixSuite("volumes", ["CreateVolume", "expand", "DeleteVolume"], ["DeleteVolumeWithSnapshot"]);
