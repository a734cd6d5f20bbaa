import type { Logger } from "../log.js";
import { badArgument } from "./errors.js";
import { checkAbsolutePath, checkAddress, checkNqn, checkPort } from "./validate.js";

export const TRANSPORT_KINDS = ["nvme-tcp", "loop"] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

/** A volume exported by a real RDS over NVMe/TCP. */
export interface NvmeTarget {
  transport: "nvme-tcp";
  address: string;
  port: number;
  nqn: string;
}

/** A volume of a local emulator: its disk image, attached with a loop device. */
export interface LoopTarget {
  transport: "loop";
  backingFile: string;
  /** The volume's subsystem NQN, which the emulator's target admits hosts to. */
  nqn?: string;
}

export type VolumeTarget = NvmeTarget | LoopTarget;

export interface TransportCall {
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * How a node reaches a volume's block device. Every method is idempotent: `attach` returns the
 * existing device when the volume is already attached, `detach` of a detached volume succeeds.
 */
export interface Transport {
  readonly kind: TransportKind;
  /**
   * Refuses a target this node must never touch, before anything is recorded or attached; a
   * target that passes may still fail to attach (NOT_FOUND, unreachable).
   */
  check(target: VolumeTarget): Promise<void>;
  /** Attaches (or finds) the volume and returns its block device path, e.g. "/dev/loop3". */
  attach(target: VolumeTarget, call: TransportCall): Promise<string>;
  /** The block device of an attached volume, or undefined when it is not attached. */
  find(target: VolumeTarget, call: TransportCall): Promise<string | undefined>;
  /** Detaches the volume unless something on this node still uses it. */
  detach(target: VolumeTarget, call: TransportCall): Promise<void>;
  /** True for device paths this transport creates ("/dev/loopN", "/dev/nvmeXnY"). */
  owns(devicePath: string): boolean;
  /** Makes the kernel re-read the device size after the controller grew the volume. */
  refresh(devicePath: string, call: TransportCall): Promise<void>;
  /** Why the attachment behind `devicePath` is unhealthy, or undefined when it looks fine. */
  condition?(devicePath: string): Promise<string | undefined>;
  /**
   * The volume id `devicePath` serves, read from the kernel (the NQN of its subsystem, the path of
   * its backing file); undefined when the kernel does not say.
   */
  volumeOf(devicePath: string): Promise<string | undefined>;
}

export type Transports = Partial<Record<TransportKind, Transport>>;

function required(context: Readonly<Record<string, string>>, key: string, transport: string): string {
  const value = context[key];
  if (value === undefined || value === "") {
    throw badArgument(`volume_context.${key} is required for transport ${transport}`);
  }
  return value;
}

/**
 * Reads the transport and its parameters from a volume_context written by the controller. Keys
 * are documented in src/node/README.md.
 */
export function parseVolumeContext(context: Readonly<Record<string, string>>): VolumeTarget {
  const transport = context.transport;
  if (transport === "nvme-tcp") {
    return {
      transport,
      address: checkAddress(required(context, "nvmeAddress", transport)),
      port: checkPort(required(context, "nvmePort", transport)),
      nqn: checkNqn(required(context, "nqn", transport)),
    };
  }
  if (transport === "loop") {
    const nqn = context.nqn;
    return {
      transport,
      backingFile: checkAbsolutePath(
        required(context, "backingFile", transport),
        "volume_context.backingFile",
      ),
      ...(nqn !== undefined && nqn !== "" ? { nqn: checkNqn(nqn) } : {}),
    };
  }
  if (transport === undefined || transport === "") {
    throw badArgument(`volume_context.transport is required (one of ${TRANSPORT_KINDS.join(", ")})`);
  }
  throw badArgument(
    `volume_context.transport ${JSON.stringify(transport)} is not one of ${TRANSPORT_KINDS.join(", ")}`,
  );
}

export function sameTarget(a: VolumeTarget, b: VolumeTarget): boolean {
  if (a.transport === "loop" && b.transport === "loop") return a.backingFile === b.backingFile;
  if (a.transport === "nvme-tcp" && b.transport === "nvme-tcp") {
    return a.address === b.address && a.port === b.port && a.nqn === b.nqn;
  }
  return false;
}

export function describeTarget(t: VolumeTarget): string {
  return t.transport === "loop" ? `loop:${t.backingFile}` : `nvme-tcp:${t.address}:${t.port}/${t.nqn}`;
}
