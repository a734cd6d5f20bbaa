/** The node-side operations the CSI Node service calls; see README.md in this directory. */
export { parseCapability, type VolumeMode } from "./capability.js";
export { createNodeEnv, type NodeEnv, type OpCall } from "./env.js";
export { NodeError, type NodeErrorKind } from "./errors.js";
export { CommandError, type CommandRunner, execFileRunner } from "./exec.js";
export { expandVolume } from "./expand.js";
export { derivedHostNqn, HOST_NQN_FILE, resolveHostNqn } from "./host-nqn.js";
export { PROC_MOUNTINFO } from "./mountinfo.js";
export { DEFAULT_NVME_SETTINGS, type NvmeConnectSettings } from "./nvme-transport.js";
export { publishVolume, unpublishVolume } from "./publish.js";
export { stageVolume, unstageVolume } from "./stage.js";
export { volumeStats } from "./stats.js";
export { SYSFS } from "./sysfs.js";
export { parseVolumeContext, type Transports } from "./transport.js";
export { checkAbsolutePath, checkNqn, checkVolumeId } from "./validate.js";
