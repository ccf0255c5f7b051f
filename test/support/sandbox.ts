import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readlinkSync } from "node:fs";
import { ExecaRunner, type Runner } from "../../provider/exec";

export const isRoot = process.getuid?.() === 0;

/**
 * A throw-away host: its own network namespace and its own mount namespace with a private
 * tmpfs on /run/netns, held open by one `sleep` process. Everything a test makes (named
 * namespaces, links, routes, rules) lives inside it and vanishes when it is destroyed;
 * the machine's own stack is never touched.
 */
export class Sandbox {
  readonly runner: Runner;

  private constructor(
    private readonly holder: ChildProcess,
    readonly pid: number,
  ) {
    this.runner = new ExecaRunner({ prefix: this.prefix() });
  }

  static async create(): Promise<Sandbox> {
    mkdirSync("/run/netns", { recursive: true });
    const holder = spawn(
      "unshare",
      ["--net", "--mount", "--propagation", "private", "--", "sh", "-c", "mount -t tmpfs hostnet-sandbox /run/netns && ip link set lo up && echo ready && exec sleep infinity"],
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

  /** argv prefix that runs a command inside the sandbox. */
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

  /**
   * Everything the sandbox's host holds that the project could make: named namespaces and,
   * in the host and each of them, links, addresses and routes (ids and MACs left out, since
   * a recreated object gets new ones). Compared before and after a test.
   */
  async snapshot(): Promise<string> {
    const names = (await this.run(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]).filter(Boolean).sort();
    const parts = [`netns: ${names.join(" ")}`];
    for (const ns of [undefined, ...names]) {
      const n = ns ? ["-n", ns] : [];
      const links = await this.run(["ip", ...n, "-o", "link", "show"]);
      const addrs = await this.run(["ip", ...n, "-o", "addr", "show"]);
      const routes4 = await this.run(["ip", ...n, "-4", "route", "show", "table", "all"]);
      const routes6 = await this.run(["ip", ...n, "-6", "route", "show", "table", "all"]);
      parts.push(`[${ns ?? "host"}]`, normalize(links), normalize(addrs), routes4.trim(), routes6.trim());
    }
    return parts.join("\n");
  }

  /** Kills the holder and every process still inside the sandbox's mount namespace. */
  async destroy(): Promise<void> {
    let mountNs: string | undefined;
    try {
      mountNs = readlinkSync(`/proc/${this.pid}/ns/mnt`);
    } catch {
      mountNs = undefined;
    }
    if (mountNs) {
      for (const entry of readdirSync("/proc")) {
        if (!/^[0-9]+$/.test(entry) || entry === String(this.pid)) continue;
        try {
          if (readlinkSync(`/proc/${entry}/ns/mnt`) === mountNs) process.kill(Number(entry), "SIGKILL");
        } catch {
          // The process ended meanwhile.
        }
      }
    }
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
