import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeStaleSshDirs } from "../../provider/exec";
import { killNamespaceMembers, Place, type Sandbox } from "./sandbox";

/** The "LAN" the simulated machines share: a bridge in the sandbox, which plays the operator's machine. */
export const LAN_PREFIX = "192.168.77";
export const OPERATOR_ADDRESS = `${LAN_PREFIX}.254`;

export interface LabHostOptions {
  /** Hide `ip` on this machine (a machine without iproute2). */
  withoutIp?: boolean;
  /** Add a login user without capabilities (uid 4242), for the permission case. */
  unprivilegedUser?: string;
}

/**
 * A simulated machine inside a sandbox: a process with its own network and mount namespace
 * (its own /run, so its own /run/netns and /run/pulumi-hostnet), a veth into the sandbox's
 * LAN bridge, and a real OpenSSH sshd on its LAN address, key-only, as ../shared/multihost.md
 * describes. Root's ~/.bashrc is an empty file inside it, as on a plain server.
 */
export class LabHost extends Place {
  constructor(
    private readonly holder: ChildProcess,
    pid: number,
    readonly name: string,
    readonly address: string,
    private readonly keys: LabKeys,
    private readonly options: LabHostOptions,
  ) {
    super(pid);
  }

  /** Starts sshd on the machine's LAN address (again after stopSshd). */
  async startSshd(): Promise<void> {
    // What its logins see: without `ip`, or with one more user; the machine itself (and the
    // leak guard's view of it) keeps the real files, in its own mount namespace.
    const hide = [
      this.options.withoutIp ? "mount --bind /dev/null /usr/bin/ip" : "",
      this.options.unprivilegedUser
        ? `cp /etc/passwd /run/passwd.lab && echo '${this.options.unprivilegedUser}::4242:4242::/tmp:/bin/sh' >> /run/passwd.lab && mount --bind /run/passwd.lab /etc/passwd`
        : "",
    ].filter(Boolean);
    const inner = hide.length ? ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", `${hide.join(" && ")} && exec "$@"`, "sshd"] : [];
    await this.run([
      ...inner,
      "/usr/sbin/sshd", "-o", `ListenAddress=${this.address}`, "-o", `HostKey=${this.keys.hostKey}`, "-o", `AuthorizedKeysFile=${this.keys.authorized}`,
      "-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no", "-o", "UsePAM=no", "-o", "StrictModes=no", "-o", "PidFile=/run/sshd.pid",
    ]);
  }

  /** Kills this machine's sshd and every session it serves, by pid (the machine "goes away" for ssh). */
  async stopSshd(): Promise<void> {
    killNamespaceMembers(this.pid, "net", "sshd");
  }

  /** Kills everything in the machine: every process in its network namespace. */
  async destroy(): Promise<void> {
    for (const service of this.services) service.kill("SIGKILL");
    killNamespaceMembers(this.pid, "net");
    const exited = new Promise<void>((resolve) => {
      if (this.holder.exitCode !== null || this.holder.signalCode !== null) resolve();
      else this.holder.once("exit", () => resolve());
    });
    this.holder.kill("SIGKILL");
    await exited;
  }
}

interface LabKeys {
  readonly dir: string;
  /** The operator's private key file and its text. */
  readonly clientKey: string;
  readonly clientKeyText: string;
  readonly authorized: string;
  readonly hostKey: string;
  /** "ssh-ed25519 AAAA..." of the machines' host key. */
  readonly hostPublicKey: string;
  /** Keys that are not the right ones, for the bad-input cases. */
  readonly wrongKeyText: string;
  readonly wrongHostPublicKey: string;
}

async function runLocal(argv: string[]): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file ?? "false", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(" ")}: exit ${code}: ${err}`))));
  });
}

async function makeKeys(): Promise<LabKeys> {
  const dir = mkdtempSync(join(tmpdir(), "hostnet-lab-"));
  chmodSync(dir, 0o755); // sshd (StrictModes=no) reads the authorized keys and host key from here
  for (const name of ["client", "host", "wrong-client", "wrong-host"]) {
    await runLocal(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `hostnet-lab-${name}`, "-f", join(dir, name)]);
  }
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client.pub")));
  const pub = (name: string) => readFileSync(join(dir, `${name}.pub`), "utf8").trim().split(" ").slice(0, 2).join(" ");
  return {
    dir,
    clientKey: join(dir, "client"),
    clientKeyText: readFileSync(join(dir, "client"), "utf8"),
    authorized: join(dir, "authorized_keys"),
    hostKey: join(dir, "host"),
    hostPublicKey: pub("host"),
    wrongKeyText: readFileSync(join(dir, "wrong-client"), "utf8"),
    wrongHostPublicKey: pub("wrong-host"),
  };
}

/**
 * Several simulated machines in one sandbox, joined by a LAN bridge (`lan`, the sandbox
 * itself at .254). Every process it starts is killed by pid in destroy(), also when a test failed.
 */
export class Lab {
  private constructor(
    private readonly sandbox: Sandbox,
    readonly hosts: LabHost[],
    readonly keys: LabKeys,
  ) {}

  static async create(sandbox: Sandbox, count: number, options: (i: number) => LabHostOptions = () => ({})): Promise<Lab> {
    const keys = await makeKeys();
    const lab = new Lab(sandbox, [], keys);
    try {
      await sandbox.run(["ip", "link", "add", "lan", "type", "bridge"]);
      await sandbox.run(["ip", "link", "set", "lan", "up"]);
      await sandbox.run(["ip", "addr", "add", `${OPERATOR_ADDRESS}/24`, "dev", "lan"]);
      for (let i = 1; i <= count; i++) await lab.addHost(i, options(i));
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private async addHost(i: number, options: LabHostOptions): Promise<void> {
    const address = `${LAN_PREFIX}.${i}`;
    const setup = [
      // Its own /run: named namespaces, our records and sshd's privilege-separation directory.
      "mount -t tmpfs lab /run && mkdir -p /run/netns /run/pulumi-hostnet /run/sshd",
      "mount --bind /dev/null /root/.bashrc 2>/dev/null || true",
      "echo ready",
      "exec sleep infinity",
    ].join(" && ");
    const [file, ...args] = [...this.sandbox.prefix(), "unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", setup];
    const holder = spawn(file ?? "nsenter", args, { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let stderr = "";
      holder.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      holder.stdout?.once("data", () => resolve());
      holder.once("exit", (code) => reject(new Error(`lab machine ${i} did not start (exit ${code}): ${stderr}`)));
    });
    if (holder.pid === undefined) throw new Error("lab machine has no pid");
    const host = new LabHost(holder, holder.pid, `m${i}`, address, this.keys, options);
    this.hosts.push(host); // destroyed with the lab even when the rest of its setup fails
    await this.sandbox.run(["ip", "link", "add", `m${i}-lan`, "type", "veth", "peer", "name", "eth0", "netns", `/proc/${holder.pid}/ns/net`]);
    await this.sandbox.run(["ip", "link", "set", `m${i}-lan`, "master", "lan", "up"]);
    await host.run(["ip", "link", "set", "lo", "up"]);
    // No IPv6 link-local address: it would appear after the leak guard's first look.
    await host.run(["ip", "link", "set", "eth0", "addrgenmode", "none"]);
    await host.run(["ip", "link", "set", "eth0", "up"]);
    await host.run(["ip", "addr", "add", `${address}/24`, "dev", "eth0"]);
    await host.startSshd();
  }

  /** What a program needs to reach machine `i` (1-based) as hostnet.Machine's connection. */
  connection(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { host: `${LAN_PREFIX}.${i}`, user: "root", privateKey: this.keys.clientKeyText, hostKey: this.keys.hostPublicKey, perDialTimeout: 5, ...overrides };
  }

  /** JavaScript that declares `m1..mN` as hostnet.Machine objects (the key read from the lab's file). */
  machinesSource(count = this.hosts.length): string {
    const lines = [`const fs = require("fs");`, `const key = fs.readFileSync(${JSON.stringify(this.keys.clientKey)}, "utf8");`];
    for (let i = 1; i <= count; i++) {
      lines.push(`const m${i} = new hostnet.Machine("m${i}", { host: "${LAN_PREFIX}.${i}", privateKey: pulumi.secret(key), hostKey: ${JSON.stringify(this.keys.hostPublicKey)}, perDialTimeout: 5 });`);
    }
    return lines.join("\n");
  }

  /** Kills every machine (and so its sshd and sessions) by pid, removes the LAN and the keys. */
  async destroy(): Promise<void> {
    for (const host of this.hosts) await host.destroy();
    // The kernel takes a network namespace (and the veth ends in it) down a little after its
    // last process: wait for their LAN ends to go, so the sandbox's guard sees it as it began.
    for (let tries = 0; tries < 100; tries++) {
      const links = await this.sandbox.run(["ip", "-o", "link", "show"]).catch(() => "");
      if (!/ m\d+-lan@/.test(links)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.sandbox.run(["ip", "link", "del", "lan"]).catch(() => undefined);
    rmSync(this.keys.dir, { recursive: true, force: true });
    // The provider processes that reached these machines have ended: their ssh directories go too.
    removeStaleSshDirs();
  }
}
