/**
 * The publish_context ControllerPublishVolume hands the node (through the CO) and the node reads in
 * NodeStageVolume and NodePublishVolume. Key listed in src/node/README.md.
 */

/** "true" when the volume was published read-only: the node stages and publishes it read-only. */
export const PUBLISH_READ_ONLY = "readOnly";
