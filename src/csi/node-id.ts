import { checkNqn } from "../node/index.js";

/**
 * The CSI node id: `<Kubernetes node name>/<host NQN>`. It carries the NQN the node presents to
 * the RDS, so the controller, which keeps no state and has no other way to learn it, can allow
 * exactly that host in ControllerPublishVolume. A node name cannot contain `/`.
 */

/** kubelet refuses longer node ids in CSINode. */
export const NODE_ID_MAX_BYTES = 192;

export function formatNodeId(nodeName: string, hostNqn: string): string {
  if (nodeName.includes("/")) throw new Error(`node name ${JSON.stringify(nodeName)} contains "/"`);
  checkNqn(hostNqn);
  const id = `${nodeName}/${hostNqn}`;
  if (Buffer.byteLength(id) > NODE_ID_MAX_BYTES) {
    throw new Error(
      `node id ${JSON.stringify(id)} is longer than the ${NODE_ID_MAX_BYTES} bytes Kubernetes accepts; use a shorter host NQN`,
    );
  }
  return id;
}

/** The node name and host NQN in a node id, or undefined when it is not one this driver hands out. */
export function parseNodeId(nodeId: string): { nodeName: string; hostNqn: string } | undefined {
  const slash = nodeId.indexOf("/");
  if (slash <= 0 || Buffer.byteLength(nodeId) > NODE_ID_MAX_BYTES) return undefined;
  const hostNqn = nodeId.slice(slash + 1);
  try {
    checkNqn(hostNqn);
  } catch {
    return undefined;
  }
  return { nodeName: nodeId.slice(0, slash), hostNqn };
}
