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
    socket.setNoDelay(this.options.settings().tcp_nodelay);
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    this.server.injectSocket(socket);
  }

  private onClient(client: ssh2.Connection, info: ssh2.ClientInfo): void {
    const socket = [...this.sockets].find((s) => s.remotePort === info.port && s.remoteAddress === info.ip);
    new ClientConnection(client, socket, this.options, this.counter);
  }

  private readonly counter: SessionCounter = {
    active: () => this.activeSessions,
    add: (n) => {
      this.activeSessions += n;
    },
  };
}

interface SessionCounter {
  active(): number;
  add(n: number): void;
}

/** One SSH connection: its login, its open sessions, and the exec requests on them. */
class ClientConnection {
  private login: LoginName = { user: "" };
  private readonly releases = new Set<() => void>();

  constructor(
    private readonly client: ssh2.Connection,
    private readonly socket: net.Socket | undefined,
    private readonly options: SshServerOptions,
    private readonly counter: SessionCounter,
  ) {
    client.on("error", () => undefined);
    client.on("close", () => {
      for (const release of this.releases) release();
    });
    client.on("authentication", (ctx) => this.authenticate(ctx));
    client.on("ready", () => client.on("session", (accept, reject) => this.openSession(accept, reject)));
  }

  private authenticate(ctx: ssh2.AuthContext): void {
    this.login = parseLoginName(ctx.username);
    const password = this.options.settings().admin_password;
    const methods: ssh2.AuthenticationType[] =
      password === undefined ? ["publickey"] : ["publickey", "password"];
    if (this.allowed(ctx, password)) ctx.accept();
    else ctx.reject(methods);
  }

  /** Public keys from the authorized_keys file (signature verified), or the optional password. */
  private allowed(ctx: ssh2.AuthContext, password: string | undefined): boolean {
    if (this.login.user !== "admin") return false;
    if (ctx.method === "publickey") {
      const offered = ctx.key.data;
      const key = loadAuthorizedKeys(this.options.authorizedKeysFile).find((k) =>
        sameBytes(k.getPublicSSH(), offered),
      );
      if (!key) return false;
      return (
        !ctx.signature ||
        (ctx.blob !== undefined && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)
      );
    }
    if (ctx.method === "password" && password !== undefined) {
      return sameBytes(Buffer.from(ctx.password), Buffer.from(password));
    }
    return false;
  }

  private openSession(accept: ssh2.AcceptConnection<ssh2.Session>, reject: ssh2.RejectConnection): void {
    const s = this.options.settings();
    const tooMany = this.counter.active() >= s.max_sessions;
    const perConnection =
      s.max_channels_per_connection > 0 && this.releases.size >= s.max_channels_per_connection;
    if (s.reject_sessions || tooMany || perConnection) {
      reject();
      return;
    }
    const session = accept();
    this.counter.add(1);
    const release = () => {
      if (!this.releases.delete(release)) return;
      this.counter.add(-1);
    };
    this.releases.add(release);
    session.on("close", release);
    session.on("pty", (ok) => ok?.());
    session.on("env", (ok) => ok?.());
    session.on("shell", (_ok, no) => no?.());
    session.on("subsystem", (_ok, no) => no?.());
    session.on("exec", (ok, _no, request) => {
      const channel = ok();
      // A client that vanishes mid-reply must not take the emulator down with it.
      channel.on("error", () => undefined);
      this.exec(channel, request.command, release);
    });
  }

  private exec(channel: ssh2.ServerChannel, line: string, release: () => void): void {
    const width = this.login.width ?? this.options.settings().wrap_width;
    const io: ExecIO = {
      write: (data) => {
        if (data.length > 0 && channel.writable) channel.write(data);
      },
      finish: (code) => {
        if (!channel.writable) return;
        channel.exit(code);
        channel.end();
      },
      drop: () => {
        release();
        if (!this.socket) {
          this.client.end();
          return;
        }
        this.socket.end();
        setTimeout(() => this.socket?.destroy(), 50).unref();
      },
    };
    this.options.exec({ line, user: this.login.user, width }, io).catch((e: Error) => {
      this.options.onError?.(`exec failed: ${e.stack ?? e.message}`);
      io.finish(1);
    });
  }
}
