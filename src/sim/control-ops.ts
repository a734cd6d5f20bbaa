import type { Pool } from "./backend/pool.js";
import type { ControlHandler, ControlRequest } from "./control.js";
import { type ExecDeps, encodeOutput } from "./exec.js";
import type { Settings } from "./settings.js";
import type { SshServer } from "./ssh-server.js";
import type { SimWorld } from "./world.js";

export interface ControlDeps extends ExecDeps {
  readonly ssh: SshServer;
  readonly pool: Pool;
  readonly world: SimWorld;
  readonly hostKeyFingerprint: string;
  /** `ssh-rsa AAAA…`: the host key as an OpenSSH known_hosts entry needs it. */
  readonly hostPublicKey: string;
  applySettings(patch: unknown): Promise<Settings>;
}

function since(request: ControlRequest): number {
  return typeof request.since === "number" ? request.since : 0;
}

function flag(request: ControlRequest): boolean {
  if (typeof request.on !== "boolean") throw new Error('expected "on": true or false');
  return request.on;
}

/** The operations of the control channel (see src/sim/README.md). */
export function controlHandler(deps: ControlDeps): ControlHandler {
  return async (request) => {
    switch (request.op) {
      case "health":
        return {
          sessions: deps.ssh.sessions,
          mountPath: deps.pool.mountPath,
          loopDevice: deps.pool.loopDevice,
          imagePath: deps.pool.imagePath,
          hostKeyFingerprint: deps.hostKeyFingerprint,
          hostPublicKey: deps.hostPublicKey,
          routerosVersion: deps.settings().routeros_version,
        };
      case "addFault":
        return { rule: deps.faults.add(request.rule) };
      case "listFaults":
        return { rules: deps.faults.list() };
      case "clearFaults":
        deps.faults.clear();
        return {};
      case "getSettings":
        return { settings: deps.settings() };
      case "setSettings":
        return { settings: await deps.applySettings(request.settings) };
      case "poolFull":
        return { settings: await deps.applySettings({ pool_full: flag(request) }) };
      case "rejectSessions":
        return { settings: await deps.applySettings({ reject_sessions: flag(request) }) };
      case "injections":
        return { events: deps.events.injections.filter((e) => e.seq > since(request)) };
      case "commands":
        return {
          entries: deps.events.commands.filter((e) => e.seq > since(request)),
          counters: deps.events.counters(),
        };
      case "clearLogs":
        deps.events.clear(
          request.which === "commands" || request.which === "injections" ? request.which : "all",
        );
        return {};
      case "refresh":
        // Every pool: changes made behind the emulator's back are read on the next query.
        for (const pool of deps.world.pools) pool.btrfs.invalidate();
        return {};
      case "exec": {
        if (typeof request.line !== "string") throw new Error('exec needs "line"');
        const width = typeof request.width === "number" ? request.width : deps.settings().wrap_width;
        const outcome = await deps.interpreter.executeLine(request.line, width);
        return {
          output: encodeOutput(outcome.lines).toString("utf8"),
          ran: outcome.ran,
          error: outcome.error ?? null,
        };
      }
      default:
        throw new Error(`unknown op ${JSON.stringify(request.op)}`);
    }
  };
}
