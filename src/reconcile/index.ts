/** The orphan reconciler; see README.md in this directory. */
export type {
  Finding,
  FindingAction,
  FindingType,
  PassOutcome,
  PassReport,
  ReconcilerMetrics,
} from "./findings.js";
export { FINDING_ACTIONS, FINDING_TYPES } from "./findings.js";
export type { LiveObjects } from "./kubernetes.js";
export { type Leadership, type LeaseOptions, leaseNameFor, startLeaderElection } from "./lease.js";
export {
  MIN_ACTING_GRACE_PERIOD_MS,
  MIN_ACTING_PASSES,
  type Reconciler,
  type ReconcilerOptions,
  startReconciler,
} from "./reconciler.js";
export type { OperationLocks } from "./removal.js";
