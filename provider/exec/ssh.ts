import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError } from "./errors";
import { shellLine } from "./quote";
import { fullArgv, type Command, type CommandResult, type Runner } from "./runner";

/** How a remote machine is reached: the shape of @pulumi/command's `connection`. */
export interface SshConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key's text (OpenSSH or PEM). Without it, the agent and ssh's own identities are used. */
  readonly privateKey?: string;
  readonly privateKeyPassword?: string;
  readonly password?: string;
  /** An ssh-agent socket (default: SSH_AUTH_SOCK of the provider's environment). */
  readonly agentSocketPath?: string;
  /** The machine's public host key ("ssh-ed25519 AAAA..."): when given, only that key is accepted. */
  readonly hostKey?: string;
  /**
   * Without `hostKey`: "known-hosts" checks ssh's known_hosts files strictly (ssh's default),
   * "accept-new" records a key seen for the first time there, "ignore" checks nothing.
   */
  readonly hostKeyPolicy: "known-hosts" | "accept-new" | "ignore";
  /** Seconds to wait for the TCP connection and the key exchange. */
  readonly perDialTimeout: number;
}

/** Where a machine's SSH connection arrives: its sshd's address (when known) and port. */
export interface SshArrival {
  readonly address: string | undefined;
  readonly port: number;
}

/** "m1 (root@192.168.77.1:22)": how errors name a machine. */
export function machineLabel(name: string, connection: Pick<SshConnection, "user" | "host" | "port">): string {
  return `${name} (${connection.user}@${connection.host}:${connection.port})`;
}

/** ssh's own failures (exit 255 with one of these) mean the command never ran, or was cut. */
const SSH_FAILURE = /^ssh: |Permission denied \(|Host key verification failed|IDENTIFICATION HAS CHANGED|No \S+ host key is known|Connection refused|Connection timed out|No route to host|Network is unreachable|Could not resolve hostname|kex_exchange_identification|banner exchange|Connection closed by|Connection reset by|Too many authentication failures|closed by remote host|client_loop|Broken pipe|mux_client|Control socket/m;
/**
 * Failures before the remote command started: safe to retry once on a fresh connection. A
 * key refused after the master ended (ControlPersist, idle) is one: the key file is gone
 * once a connection is made, so ssh's own new connection had none; the preflight writes it.
 */
const BEFORE_COMMAND = /^ssh: connect|Connection refused|Connection timed out|No route to host|Network is unreachable|kex_exchange_identification|banner exchange|Connection closed by [^\n]* port \d+\s*$|Connection reset by|mux_client|Control socket|Permission denied \(publickey/m;

/** "SHA256:abc..." of a public key line ("ssh-ed25519 AAAA... comment"), as ssh prints fingerprints. */
export function hostKeyFingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1] ?? "";
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/** The declared host key and what the machine presented (when ssh said), for a mismatch. */
function hostKeyMismatch(stderr: string, hostKey: string): string {
  const declared = `${hostKey.trim().split(/\s+/)[0] ?? "key"} ${hostKeyFingerprint(hostKey)}`;
  const presented = /fingerprint for the (\S+) key sent by the remote host is\s+(SHA256:[A-Za-z0-9+/]+)/.exec(stderr);
  const unknownType = /No (\S+) host key is known/.exec(stderr);
  const got = presented ? `it presented ${presented[1]} ${presented[2]}` : unknownType ? `it presented an ${unknownType[1]} key, a type the declared one is not` : "it presented another key";
  return (
    `host key verification failed: ${got}, but the Machine's declared hostKey is ${declared}. ` +
    "If the machine was reinstalled or its keys changed, put its new public key (/etc/ssh/ssh_host_*_key.pub, checked on the machine itself) in the Machine's hostKey; " +
    "if not, something else answers at this address: do not connect"
  );
}

function describeSshFailure(stderr: string, connection: SshConnection): string {
  // ssh's banner, and its advice about the provider's own temporary known_hosts file, mean nothing to the user.
  const words = stderr
    .trim()
    .split("\n")
    .filter((l) => !/^\*|^@|^Warning: Permanently added|hostnet-ssh-|^\s*remove with:|hostnet-machine/.test(l))
    .join("; ");
  if (/Host key verification failed|IDENTIFICATION HAS CHANGED|No \S+ host key is known/.test(stderr)) {
    if (connection.hostKey) return hostKeyMismatch(stderr, connection.hostKey);
    return `host key verification failed: the machine's host key is not the one in ssh's known_hosts (check the machine, then correct known_hosts, or declare its key as hostKey): ${words}`;
  }
  if (/Permission denied \(|Too many authentication failures/.test(stderr)) {
    return `authentication failed for user ${connection.user} (wrong private key, password or agent): ${words}`;
  }
  return `cannot reach the machine over ssh: ${words}`;
}

/**
 * Leftover working directories of provider processes that have ended (a name carries its
 * pid): the engine stops its provider process without an exit handler running. They hold no
 * secret (the key is removed once a connection is made), only a dead socket and public keys.
 */
export function removeStaleSshDirs(): void {
  for (const entry of readdirSync(tmpdir())) {
    const pid = /^hostnet-ssh-(\d+)-/.exec(entry)?.[1];
    if (!pid || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
}

const ASKPASS = `#!/bin/sh\nprintf '%s\\n' "$HOSTNET_SSH_SECRET"\n`;

/**
 * Runs commands on a remote machine through OpenSSH, as the same argv they would run as here:
 * each word quoted by shellQuote, `LC_ALL=C` set remotely. One multiplexed connection per
 * machine (ControlMaster), opened by the first command after a preflight that checks the
 * machine has `ip` and the capabilities we need; every later command is a session on it
 * (≈ 8 ms, where a fresh connection costs ≈ 200 ms). Sessions are limited to `maxSessions`
 * at a time, below sshd's default MaxSessions of 10. The master ends itself `persistSeconds`
 * after its last session, and is told to end when this process exits.
 *
 * The private key exists on disk only while a connection is being made (mode 0600 in a 0700
 * directory of our own), since OpenSSH reads keys from files; a password or key passphrase
 * reaches ssh through SSH_ASKPASS from this process's memory, never on a command line.
 */
export class SshRunner implements Runner {
  readonly label: string;
  private readonly dir: string;
  private connecting: Promise<void> | undefined;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly maxSessions: number;
  private readonly persistSeconds: number;

  constructor(
    readonly name: string,
    private readonly connection: SshConnection,
    /** Starts the local `ssh` processes (the one execa runner, or a test's sandboxed one). */
    private readonly local: Runner,
    options: { maxSessions?: number; persistSeconds?: number } = {},
  ) {
    this.label = machineLabel(name, connection);
    this.maxSessions = options.maxSessions ?? 8;
    this.persistSeconds = options.persistSeconds ?? 10;
    removeStaleSshDirs();
    this.dir = mkdtempSync(join(tmpdir(), `hostnet-ssh-${process.pid}-`));
    if (connection.hostKey) writeFileSync(join(this.dir, "known_hosts"), `hostnet-machine ${connection.hostKey.trim()}\n`, { mode: 0o600 });
    if (connection.password !== undefined || connection.privateKeyPassword !== undefined) writeFileSync(join(this.dir, "askpass"), ASKPASS, { mode: 0o700 });
    liveRunners.add(this);
  }

  async run(command: Command): Promise<CommandResult> {
    await this.connect();
    try {
      return await this.session(command);
    } catch (err) {
      if (!(err instanceof CommandError) || err.kind !== "unreachable" || !BEFORE_COMMAND.test(err.stderr)) throw err;
      // The connection went away before the command ran (the master ended, the machine came
      // back): connect again, once.
      this.connecting = undefined;
      await this.connect();
      return this.session(command);
    }
  }

  private arrived: Promise<SshArrival> | undefined;

  /**
   * Where this connection arrives on the machine: the address and port its sshd answered on,
   * from the session's SSH_CONNECTION (the port dialed may be NATed on the way); without it,
   * the port dialed and no address. A forward of it would lock the stack out of the machine.
   */
  arrival(): Promise<SshArrival> {
    this.arrived ??= this.run({ argv: ["printenv", "SSH_CONNECTION"] }).then(
      ({ stdout }) => {
        const [, , address, port] = stdout.trim().split(/\s+/);
        return port && /^\d+$/.test(port) ? { address, port: Number(port) } : { address: undefined, port: this.connection.port };
      },
      () => ({ address: undefined, port: this.connection.port }),
    );
    return this.arrived;
  }

  /** Opens the multiplexed connection (once; again after it failed) and checks the machine. */
  connect(): Promise<void> {
    this.connecting ??= this.preflight().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async preflight(): Promise<void> {
    const keyFile = join(this.dir, "id");
    if (this.connection.privateKey) writeFileSync(keyFile, this.connection.privateKey.endsWith("\n") ? this.connection.privateKey : `${this.connection.privateKey}\n`, { mode: 0o600 });
    let out: string;
    try {
      // A fixed script, no user words: is ip there, and what may this user do.
      const script = "ip -V >/dev/null 2>&1 || echo missing-ip; sed -n 's/^CapEff:[[:space:]]*/caps /p' /proc/self/status";
      ({ stdout: out } = await this.session({ argv: ["sh", "-c", script] }));
    } catch (err) {
      // The connection itself failed: say so without the preflight's script.
      if (err instanceof CommandError && err.kind === "unreachable") throw new CommandError([], err.exitCode, err.stderr, "unreachable", "", this.label);
      throw err;
    } finally {
      rmSync(keyFile, { force: true });
    }
    if (out.includes("missing-ip")) throw new CommandError([], 127, "the `ip` tool (iproute2) is not installed, or not on the login user's PATH", "other", "", this.label);
    const caps = /^caps ([0-9a-f]+)$/m.exec(out)?.[1];
    if (caps === undefined) throw new CommandError([], undefined, `could not read the login user's capabilities from /proc/self/status: ${out.trim()}`, "other", "", this.label);
    const effective = BigInt(`0x${caps}`);
    const missing = [
      ["CAP_NET_ADMIN", 12n],
      ["CAP_SYS_ADMIN", 21n],
    ].filter(([, bit]) => ((effective >> (bit as bigint)) & 1n) === 0n).map(([n]) => n);
    if (missing.length) {
      throw new CommandError([], undefined, `user ${this.connection.user} lacks ${missing.join(" and ")}: Operation not permitted`, "permission", "", this.label);
    }
  }

  private async session(command: Command): Promise<CommandResult> {
    if (this.active >= this.maxSessions) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await this.exec(command);
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async exec(command: Command): Promise<CommandResult> {
    const shown = fullArgv(command);
    const remote = `LC_ALL=C ${shellLine(shown)}`;
    // npm run bench counts round trips per machine from this trace.
    const trace = process.env.HOSTNET_TRACE_FILE;
    if (trace) appendFileSync(trace, `${JSON.stringify({ kind: "ssh", machine: this.name })}\n`);
    try {
      return await this.local.run({ argv: this.sshArgv(["--", remote]), stdin: command.stdin, timeoutMs: command.timeoutMs, env: this.env() });
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      if (err.kind === "timeout") throw new CommandError(shown, undefined, err.stderr, "timeout", "", this.label);
      if (err.exitCode === 255 && SSH_FAILURE.test(err.stderr)) {
        throw new CommandError(shown, 255, describeSshFailure(err.stderr, this.connection), "unreachable", err.stdout, this.label);
      }
      if (err.exitCode === 127 && /command not found|not found/.test(err.stderr)) {
        throw new CommandError(shown, 127, `${shown[0]}: command not found (install it on the machine, or put it on the login user's PATH)`, "other", err.stdout, this.label);
      }
      throw new CommandError(shown, err.exitCode, err.stderr, undefined, err.stdout, this.label);
    }
  }

  /** ssh's argv up to the destination, then `rest`. */
  sshArgv(rest: readonly string[], master: "auto" | "exit" = "auto"): string[] {
    const c = this.connection;
    const options: Record<string, string> = {
      ControlPath: join(this.dir, "cm"),
      ControlPersist: `${this.persistSeconds}s`,
      ConnectTimeout: String(c.perDialTimeout),
      ServerAliveInterval: "5",
      ServerAliveCountMax: "2",
      LogLevel: "ERROR",
      BatchMode: c.password !== undefined || c.privateKeyPassword !== undefined ? "no" : "yes",
      NumberOfPasswordPrompts: "1",
    };
    if (master === "auto") options.ControlMaster = "auto";
    if (c.privateKey) Object.assign(options, { IdentityFile: join(this.dir, "id"), IdentitiesOnly: "yes" });
    if (c.hostKey) {
      Object.assign(options, { StrictHostKeyChecking: "yes", HostKeyAlias: "hostnet-machine", UserKnownHostsFile: join(this.dir, "known_hosts"), GlobalKnownHostsFile: "/dev/null" });
    } else if (c.hostKeyPolicy === "ignore") {
      Object.assign(options, { StrictHostKeyChecking: "no", UserKnownHostsFile: "/dev/null", GlobalKnownHostsFile: "/dev/null" });
    } else {
      options.StrictHostKeyChecking = c.hostKeyPolicy === "accept-new" ? "accept-new" : "yes";
    }
    const flags = Object.entries(options).flatMap(([k, v]) => ["-o", `${k}=${v}`]);
    return ["ssh", "-T", ...(master === "exit" ? ["-O", "exit"] : []), ...flags, "-p", String(c.port), "-l", c.user, c.host, ...rest];
  }

  private env(): Record<string, string> {
    const c = this.connection;
    const env: Record<string, string> = {};
    if (c.agentSocketPath) env.SSH_AUTH_SOCK = c.agentSocketPath;
    const secret = c.privateKeyPassword ?? c.password;
    if (secret !== undefined) Object.assign(env, { SSH_ASKPASS: join(this.dir, "askpass"), SSH_ASKPASS_REQUIRE: "force", HOSTNET_SSH_SECRET: secret });
    return env;
  }

  /** Ends the master connection and removes the working directory (synchronously: also from an exit handler). */
  close(): void {
    liveRunners.delete(this);
    const [file, ...args] = this.sshArgv([], "exit");
    spawnSync(file ?? "ssh", args, { stdio: "ignore", timeout: 2000 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const liveRunners = new Set<SshRunner>();
process.once("exit", () => {
  for (const runner of liveRunners) runner.close();
});
