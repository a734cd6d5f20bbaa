export { type ScheduleKeys, scheduleFor, scheduleKeys } from "./annotations.js";
export { dueSlot, snapshotNameFor, snapshotsToPrune } from "./decide.js";
export { scheduleMarks } from "./kubernetes.js";
export {
  type SchedulePassReport,
  type SnapshotSchedules,
  type SnapshotSchedulesOptions,
  startSnapshotSchedules,
} from "./schedules.js";
