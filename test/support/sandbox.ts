import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { ExecaRunner, type Runner } from "../../provider/exec";

export const isRoot = process.getuid?.() === 0;

const PEER = resolve(__dirname, "peer.js");

/**
 * A place commands run in: a process's network and mount namespaces, entered with nsenter.
 * Holds what tests do there (run, ping, serve, ask) and the snapshot the leak guard compares.
 */
export class Place {
  readonly runner: Runner;
  protected readonly services: ChildProcess[] = [];

  protected constructor(readonly pid: number) {
    this.runner = new ExecaRunner({ prefix: this.prefix() });
  }

  /** argv prefix that runs a command inside the place. */
  prefix(): string[] {
    return ["nsenter", "-t", String(this.pid), "-n", "-m", "--"];
  }

  /** Runs a command inside the sandbox; returns stdout, throws CommandError on failure. */
  async run(argv: string[], options: { netns?: string; stdin?: string } = {}): Promise<string> {
    return (await this.runner.run({ argv, ...options })).stdout;
  }

  /** Whether a command succeeds inside the sandbox (e.g. a ping). */
  async succeeds(argv: string[], options: { netns?: string } = {}): Promise<boolean> {
    try {
      await this.run(argv, options);
      return true;
    } catch {
      return false;
    }
  }

  /** Starts peer.js as a service inside a namespace of the place; it lives until the place is destroyed. */
  async serve(netns: string | undefined, protocol: "tcp" | "udp", port: number): Promise<void> {
    const inNetns = netns ? ["ip", "netns", "exec", netns] : [];
    const [file, ...args] = [...this.prefix(), ...inNetns, process.execPath, PEER, "serve", protocol, String(port)];
    const child = spawn(file ?? "nsenter", args, { stdio: ["ignore", "pipe", "inherit"] });
    // `ip netns exec` gives the service a mount namespace of its own, so destroy() kills it by pid.
    this.services.push(child);
    await new Promise<void>((done, fail) => {
      child.stdout?.once("data", () => done());
      child.once("exit", (code) => fail(new Error(`peer service exited (${code})`)));
    });
  }

  /**
   * Starts peer.js with `args` (a listener that logs, a client that keeps sending) inside a
   * namespace of the place, killed with the place; `output()` is all it printed so far.
   */
  async start(netns: string | undefined, args: string[]): Promise<{ output(): string }> {
    const inNetns = netns ? ["ip", "netns", "exec", netns] : [];
    const [file, ...rest] = [...this.prefix(), ...inNetns, process.execPath, PEER, ...args];
    const child = spawn(file ?? "nsenter", rest, { stdio: ["ignore", "pipe", "inherit"] });
    this.services.push(child);
    let text = "";
    child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
    await new Promise<void>((done, fail) => {
      child.stdout?.once("data", () => done());
      child.once("exit", (code) => fail(new Error(`peer exited (${code})`)));
    });
    return { output: () => text };
  }

  /** Asks a peer.js service who it sees as the source; undefined when nothing answers. */
  async ask(netns: string | undefined, protocol: "tcp" | "udp", host: string, port: number): Promise<string | undefined> {
    try {
      const out = await this.run([process.execPath, PEER, "ask", protocol, host, String(port)], { netns });
      return out.trim().replace(/^peer=/, "");
    } catch {
      return undefined;
    }
  }

  /**
   * Everything the sandbox's host holds that the project could make: named namespaces, the
   * files under /run/pulumi-hostnet and, in the host and each of them, links, addresses,
   * routes, rules and static neighbours (ids and MACs left out, since
   * a recreated object gets new ones). Compared before and after a test.
   */
  async snapshot(): Promise<string> {
    const names = (await this.run(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]).filter(Boolean).sort();
    // The provider's records (sysctl ledger) on the sandbox's private tmpfs: destroy leaves none.
    const records = (await this.run(["find", "/run/pulumi-hostnet", "-mindepth", "1"])).split("\n").filter(Boolean).sort();
    // The [::1] proxies (socat) run in the sandbox's mount namespace: one left running is a leak.
    const proxies = namespaceMembers(this.pid, "mnt", "socat").length;
    const parts = [`netns: ${names.join(" ")}`, `records: ${records.join(" ")}`, `proxies: ${proxies}`];
    for (const ns of [undefined, ...names]) {
      const n = ns ? ["-n", ns] : [];
      const links = await this.run(["ip", ...n, "-o", "link", "show"]);
      const addrs = await this.run(["ip", ...n, "-o", "addr", "show"]);
      const routes4 = await this.run(["ip", ...n, "-4", "route", "show", "table", "all"]);
      const routes6 = await this.run(["ip", ...n, "-6", "route", "show", "table", "all"]);
      // Policy rules and static neighbours (learned entries come and go with traffic).
      const rules = (await this.run(["ip", ...n, "-4", "rule", "show"])) + (await this.run(["ip", ...n, "-6", "rule", "show"]));
      const neighbours = await this.run(["ip", ...n, "neigh", "show", "nud", "permanent"]);
      const sysctls = await this.run(["sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.route_localnet", "net.ipv4.conf.all.forwarding", "net.ipv6.conf.all.forwarding"], { netns: ns });
      // The firewall byte for byte (nft also shows iptables-nft's tables), and iptables-save
      // without its timestamp comments and packet counters.
      const ruleset = (await this.run(["nft", "list", "ruleset"], { netns: ns })).replace(/counter packets \d+ bytes \d+/g, "counter");
      const saved = await this.run(["iptables-save"], { netns: ns });
      const iptables = saved.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/, "")).join("\n");
      parts.push(`[${ns ?? "host"}]`, normalize(links), normalize(addrs), routes4.trim(), routes6.trim(), rules.trim(), neighbours.trim(), sysctls.trim(), ruleset, iptables);
    }
    return parts.join("\n");
  }

}

/** Pids of the processes that share `pid`'s namespace of `kind` (not `pid` itself), optionally of one command name. */
export function namespaceMembers(pid: number, kind: "mnt" | "net", comm?: string): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry) || entry === String(pid)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/${kind}`) !== ns) continue;
      if (comm !== undefined && readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
      members.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return members;
}

/** Kills every process whose namespace of `kind` is the one of `pid` (but not `pid` itself). */
export function killNamespaceMembers(pid: number, kind: "mnt" | "net" = "mnt", comm?: string): void {
  for (const member of namespaceMembers(pid, kind, comm)) {
    try {
      process.kill(member, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
}

/**
 * A throw-away host: its own network namespace and its own mount namespace with a private
 * tmpfs on /run/netns, held open by one `sleep` process. Everything a test makes (named
 * namespaces, links, routes, rules) lives inside it and vanishes when it is destroyed;
 * the machine's own stack is never touched.
 */
export class Sandbox extends Place {
  private constructor(
    private readonly holder: ChildProcess,
    pid: number,
  ) {
    super(pid);
  }

  static async create(): Promise<Sandbox> {
    // Mount points for the sandbox's private tmpfs: named namespaces, and the provider's records.
    mkdirSync("/run/netns", { recursive: true });
    mkdirSync("/run/pulumi-hostnet", { recursive: true });
    const holder = spawn(
      "unshare",
      ["--net", "--mount", "--propagation", "private", "--", "sh", "-c", "mount -t tmpfs hostnet-sandbox /run/netns && mount -t tmpfs hostnet-sandbox /run/pulumi-hostnet && ip link set lo up && echo ready && exec sleep infinity"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      let stderr = "";
      holder.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      holder.stdout?.once("data", () => resolve());
      holder.once("exit", (code) => reject(new Error(`sandbox did not start (exit ${code}): ${stderr}`)));
    });
    if (holder.pid === undefined) throw new Error("sandbox has no pid");
    return new Sandbox(holder, holder.pid);
  }

  /** Kills the holder and every process still inside the sandbox's mount namespace. */
  async destroy(): Promise<void> {
    for (const service of this.services) service.kill("SIGKILL");
    killNamespaceMembers(this.pid);
    const exited = new Promise<void>((resolve) => {
      if (this.holder.exitCode !== null || this.holder.signalCode !== null) resolve();
      else this.holder.once("exit", () => resolve());
    });
    this.holder.kill("SIGKILL");
    await exited;
  }
}

/** Drops what changes when an identical object is recreated: indexes, MACs, lifetimes. */
function normalize(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .replace(/^\d+: /, "")
        .replace(/@if\d+/g, "@if")
        .replace(/link\/ether \S+ brd \S+/g, "link/ether")
        .replace(/link-netns(id)? \S+/g, "")
        .replace(/valid_lft \S+ preferred_lft \S+/g, "")
        .replace(/\s+/g, " ")
        .trim(),
    )
    .filter(Boolean)
    .sort()
    .join("\n");
}
