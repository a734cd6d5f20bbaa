import protobuf from "protobufjs";

/**
 * Handlers answer int64 fields as exact decimal strings, and protobufjs turns each such string
 * into a Long with `Long.fromString`, a loop of Long multiplications that allocates as it goes: a
 * page of 100 snapshots (a size and a creation time each) spent about as long there as in
 * encoding the whole message. A string of at most 15 digits is always a safe integer, so it is
 * handed over as a number instead, which protobufjs converts with one `Long.fromNumber` to the
 * same 64 bits. Longer strings (sizes of 1 PB and up) and anything else stay as they are.
 */
const SAFE_DECIMAL = /^-?\d{1,15}$/;
/** Long.fromNumber reads a negative number in an unsigned field as 0, fromString as 2^64 − n. */
const SAFE_UNSIGNED_DECIMAL = /^\d{1,15}$/;
const UNSIGNED_LONGS: ReadonlySet<string> = new Set(["uint64", "fixed64"]);

/** A copy of a message object with its int64 fields (at any depth) ready for `Type.fromObject`. */
export type Int64Preparer = (value: Record<string, unknown>) => Record<string, unknown>;

/** How one field's value is prepared. */
type FieldStep = (value: unknown) => unknown;

function longStep(field: protobuf.Field): FieldStep {
  const safe = UNSIGNED_LONGS.has(field.type) ? SAFE_UNSIGNED_DECIMAL : SAFE_DECIMAL;
  return (value) => (typeof value === "string" && safe.test(value) ? Number(value) : value);
}

function eachOf(step: FieldStep, field: protobuf.Field): FieldStep {
  if (field.map) {
    return (value) =>
      isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, step(v)])) : value;
  }
  if (field.repeated) return (value) => (Array.isArray(value) ? value.map(step) : value);
  return step;
}

/** Whether `type`, or any message type it holds at any depth, has an int64 field. */
function holdsInt64(type: protobuf.Type, seen: Set<protobuf.Type> = new Set()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  return type.fieldsArray.some((field) => {
    field.resolve();
    if (field.long) return true;
    return field.resolvedType instanceof protobuf.Type && holdsInt64(field.resolvedType, seen);
  });
}

/**
 * The preparer of `type`, or undefined when no field of it (nor of the messages it holds) is an
 * int64: such messages go to `fromObject` untouched, without a copy. Built once per type.
 */
export function int64Preparer(
  type: protobuf.Type,
  built: Map<protobuf.Type, Int64Preparer> = new Map(),
): Int64Preparer | undefined {
  if (!holdsInt64(type)) return undefined;
  const known = built.get(type);
  if (known) return known;
  const names: string[] = [];
  const steps: FieldStep[] = [];
  const prepare: Int64Preparer = (value) => {
    const out = { ...value };
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const fieldValue = out[name];
      if (fieldValue !== undefined && fieldValue !== null) out[name] = (steps[i] as FieldStep)(fieldValue);
    }
    return out;
  };
  // Registered before its fields are looked at: a message type may hold itself.
  built.set(type, prepare);
  for (const field of type.fieldsArray) {
    let step: FieldStep | undefined;
    if (field.long) step = longStep(field);
    else if (field.resolvedType instanceof protobuf.Type) {
      const nested = int64Preparer(field.resolvedType, built);
      if (nested) step = (value) => (isPlainObject(value) ? nested(value) : value);
    }
    if (step) {
      names.push(field.name);
      steps.push(eachOf(step, field));
    }
  }
  return prepare;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !Buffer.isBuffer(value);
}
