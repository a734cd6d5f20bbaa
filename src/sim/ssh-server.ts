import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import ssh2 from "ssh2";
import type { Settings } from "./settings.js";

const { Server, utils } = ssh2;
type ParsedKey = ssh2.ParsedKey;

/** What one exec request may do with its channel. */
export interface ExecIO {
  write(data: Buffer): void;
  /** Sends the exit status and closes the channel. */
  finish(code: number): void;
  /** Cuts the TCP connection without an SSH goodbye (fault injection). */
  drop(): void;
}

export interface ExecRequest {
  readonly line: string;
  readonly user: string;
  /** Terminal width: from a `+Nw` login suffix, else the setting. */
  readonly width: number;
}

export interface SshServerOptions {
  readonly hostKey: string;
  readonly authorizedKeysFile: string;
  settings(): Settings;
  exec(request: ExecRequest, io: ExecIO): Promise<void>;
  onError?(message: string): void;
}

export interface LoginName {
  readonly user: string;
  readonly width?: number;
}

/** `admin+ct80w` → user `admin`, width 80; each option is an optional number and a letter. */
export function parseLoginName(name: string): LoginName {
  const plus = name.indexOf("+");
  if (plus < 0) return { user: name };
  let width: number | undefined;
  const re = /(\d*)([a-zA-Z])/g;
  for (const m of name.slice(plus + 1).matchAll(re)) {
    if (m[2] === "w" && m[1] !== "") width = Number(m[1]);
  }
  return width === undefined ? { user: name.slice(0, plus) } : { user: name.slice(0, plus), width };
}

/** User keys RouterOS accepts: ssh-ed25519 and ssh-rsa (ECDSA is refused, as on real routers). */
export function loadAuthorizedKeys(file: string): ParsedKey[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const keys: ParsedKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const parsed = utils.parseKey(line);
    if (parsed instanceof Error) continue;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && (key.type === "ssh-ed25519" || key.type === "ssh-rsa")) keys.push(key);
  }
  return keys;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The RouterOS-like SSH front: public-key login for `admin`, exec requests only, session limits. */
export class SshServer {
  private readonly server: InstanceType<typeof Server>;
  private readonly tcp: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private activeSessions = 0;

  constructor(private readonly options: SshServerOptions) {
    this.server = new Server({ hostKeys: [options.hostKey] }, (client, info) => this.onClient(client, info));
    this.server.on("error", (e: Error) => options.onError?.(`ssh server: ${e.message}`));
    this.tcp = net.createServer((socket) => this.onSocket(socket));
  }

  get sessions(): number {
    return this.activeSessions;
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        resolve(this.tcp.address() as net.AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private onSocket(socket: net.Socket): void {
    if (this.options.settings().reject_sessions) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    this.server.injectSocket(socket);
  }

  private onClient(client: ssh2.Connection, info: ssh2.ClientInfo): void {
    let login: LoginName = { user: "" };
    let channels = 0;
    const releases = new Set<() => void>();
    client.on("close", () => {
      for (const release of releases) release();
    });
    const socket = [...this.sockets].find((s) => s.remotePort === info.port && s.remoteAddress === info.ip);
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => {
      login = parseLoginName(ctx.username);
      if (login.user !== "admin") return ctx.reject(["publickey"]);
      if (ctx.method === "publickey") {
        const key = loadAuthorizedKeys(this.options.authorizedKeysFile).find((k) =>
          sameBytes(k.getPublicSSH(), ctx.key.data),
        );
        if (!key) return ctx.reject(["publickey"]);
        if (ctx.signature && ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          return ctx.reject(["publickey"]);
        }
        return ctx.accept();
      }
      const password = this.options.settings().admin_password;
      if (ctx.method === "password" && password !== undefined) {
        const ok = sameBytes(Buffer.from(ctx.password), Buffer.from(password));
        return ok ? ctx.accept() : ctx.reject(["publickey", "password"]);
      }
      return ctx.reject(password === undefined ? ["publickey"] : ["publickey", "password"]);
    });
    client.on("ready", () => {
      client.on("session", (accept, reject) => {
        const s = this.options.settings();
        const tooMany = this.activeSessions >= s.max_sessions;
        const perConnection = s.max_channels_per_connection > 0 && channels >= s.max_channels_per_connection;
        if (s.reject_sessions || tooMany || perConnection) return reject();
        const session = accept();
        this.activeSessions += 1;
        channels += 1;
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          releases.delete(release);
          this.activeSessions -= 1;
          channels -= 1;
        };
        releases.add(release);
        session.on("close", release);
        session.on("pty", (ok) => ok?.());
        session.on("env", (ok) => ok?.());
        session.on("shell", (_ok, no) => no?.());
        session.on("subsystem", (_ok, no) => no?.());
        session.on("exec", (ok, _no, request) => {
          const channel = ok();
          const width = login.width ?? this.options.settings().wrap_width;
          const io: ExecIO = {
            write: (data) => {
              if (data.length > 0) channel.write(data);
            },
            finish: (code) => {
              channel.exit(code);
              channel.end();
            },
            drop: () => {
              release();
              if (socket) {
                socket.end();
                setTimeout(() => socket.destroy(), 50).unref();
              } else client.end();
            },
          };
          this.options.exec({ line: request.command, user: login.user, width }, io).catch((e: Error) => {
            this.options.onError?.(`exec failed: ${e.stack ?? e.message}`);
            io.finish(1);
          });
        });
      });
    });
  }
}
