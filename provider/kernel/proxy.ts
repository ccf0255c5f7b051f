import { createHash } from "node:crypto";
import { isNotFound, withContext, type Runner } from "../exec";
import type { Netns } from "./ip";
import { netnsPath } from "./netns";

/**
 * Userland proxies for port forwards that must answer on [::1]. The kernel will not route a
 * packet to or from ::1 out of `lo` (IPv6 has no route_localnet): a DNAT in `output` sends the
 * SYN to the container, but its answer, de-NATed back to ::1, is dropped on the bridge (tried:
 * conntrack shows the flow stuck in SYN_RECV). Docker's userland proxy covers that case; ours
 * is socat, one process per port, started detached by start-stop-daemon (setsid, pid file) in
 * the host's network namespace, and stopped by its pid.
 */
export const PROXY_DIR = "/run/pulumi-hostnet/proxy";

export interface LoopbackProxy {
  readonly protocol: "tcp" | "udp";
  /** The port it listens on at [::1]. */
  readonly port: number;
  readonly target: string;
  readonly targetPort: number;
}

function hash(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The file name prefix of every proxy of one owner (its tag). */
export function proxyPrefix(tag: string): string {
  return hash(tag, 16);
}

/** The pid file of one proxy: the owner's prefix, the port, and a hash of where it goes. */
export function proxyPidFile(netns: Netns, tag: string, p: LoopbackProxy): string {
  return `${PROXY_DIR}/${netns ?? "-"}/${proxyPrefix(tag)}-${p.protocol}-${p.port}-${hash(`${p.target}/${p.targetPort}`, 8)}.pid`;
}

/** socat's two addresses: listen on [::1]:port only, forward to the target (a process per connection). */
export function socatArgs(p: LoopbackProxy): string[] {
  return p.protocol === "tcp"
    ? [`TCP6-LISTEN:${p.port},bind=[::1],reuseaddr,fork`, `TCP6:[${p.target}]:${p.targetPort}`]
    : // A datagram's child waits for answers until 60 s pass without one (UDP has no end).
      ["-T", "60", `UDP6-RECVFROM:${p.port},bind=[::1],reuseaddr,fork`, `UDP6-SENDTO:[${p.target}]:${p.targetPort}`];
}

/** argv that runs in a netns without a mount namespace of its own (as `ip netns exec` would make): for daemons and their pid files. */
export function inNetns(netns: Netns, argv: string[]): string[] {
  return netns ? ["nsenter", `--net=${netnsPath(netns)}`, ...argv] : argv;
}

/** The pid a proxy's pid file holds (undefined when the file is gone or holds no pid). */
export async function proxyPid(runner: Runner, pidFile: string): Promise<number | undefined> {
  const text = (await runner.run({ argv: ["cat", "--", pidFile] }).catch(() => ({ stdout: "" }))).stdout.trim();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Whether the proxy of this pid file runs (start-stop-daemon --status: 0 running, 1 dead, 3 not running). */
export async function proxyRunning(runner: Runner, pidFile: string): Promise<boolean> {
  try {
    await runner.run({ argv: ["start-stop-daemon", "--status", "--pidfile", pidFile, "--name", "socat"] });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the proxy unless it runs already; fails with socat's own words when it does not stay
 * up (the port taken on ::1, no socat).
 */
export async function startProxy(runner: Runner, netns: Netns, tag: string, p: LoopbackProxy): Promise<void> {
  const pidFile = proxyPidFile(netns, tag, p);
  const log = pidFile.replace(/\.pid$/, ".log");
  const what = `start the proxy [::1]:${p.port}/${p.protocol} -> [${p.target}]:${p.targetPort}`;
  if (await proxyRunning(runner, pidFile)) return;
  // `env` finds socat on PATH and execs it: the pid and the process name (--name) are socat's.
  const start = ["start-stop-daemon", "--start", "--quiet", "--oknodo", "--background", "--make-pidfile", "--pidfile", pidFile, "--output", log, "--startas", "/usr/bin/env", "--name", "socat", "--", "socat", ...socatArgs(p)];
  await runner.run({ argv: inNetns(netns, start) }).catch((err: unknown) => Promise.reject(withContext(err, what)));
  // A socat that cannot bind exits at once, after start-stop-daemon returned: look a moment later.
  for (const wait of [50, 100, 200]) {
    await new Promise((r) => setTimeout(r, wait));
    const words = (await runner.run({ argv: ["cat", "--", log] }).catch(() => ({ stdout: "" }))).stdout.trim();
    if (words.includes(" E ") || !(await proxyRunning(runner, pidFile))) {
      await stopProxy(runner, pidFile);
      throw new Error(`${what}: socat did not stay up${words ? `: ${words}` : " (is socat installed? see README)"}`);
    }
  }
}

/**
 * Stops one proxy by the pid in its file (only a process named socat), then the connections
 * it forked (socat processes of its session, which start-stop-daemon's setsid made its own),
 * and removes its files. One already gone is success. (A proxy killed by hand leaves its
 * connections to end by themselves: a TCP one with its peer, a UDP one after 60 s idle.)
 */
export async function stopProxy(runner: Runner, pidFile: string): Promise<void> {
  const session = await sessionOf(runner, pidFile);
  await runner.run({ argv: ["start-stop-daemon", "--stop", "--quiet", "--oknodo", "--pidfile", pidFile, "--name", "socat", "--retry", "TERM/2/KILL/1"] });
  // pkill exits 1 when no process matched: nothing was left.
  if (session !== undefined) await runner.run({ argv: ["pkill", "-KILL", "-s", session, "-x", "socat"] }).catch(() => undefined);
  await runner.run({ argv: ["rm", "-f", "--", pidFile, pidFile.replace(/\.pid$/, ".log")] });
}

/** The session of the running proxy of this pid file (undefined when none runs). */
async function sessionOf(runner: Runner, pidFile: string): Promise<string | undefined> {
  if (!(await proxyRunning(runner, pidFile))) return undefined;
  const pid = (await runner.run({ argv: ["cat", "--", pidFile] }).catch(() => ({ stdout: "" }))).stdout.trim();
  if (!/^\d+$/.test(pid)) return undefined;
  const sid = (await runner.run({ argv: ["ps", "-o", "sid=", "-p", pid] }).catch(() => ({ stdout: "" }))).stdout.trim();
  // Never a session that is not the proxy's own (0, 1, or the caller's).
  return /^\d+$/.test(sid) && Number(sid) > 1 ? sid : undefined;
}

/** The pid files of one owner's proxies on this host (found by the owner's prefix, not re-derived). */
export async function listProxies(runner: Runner, netns: Netns, tag: string): Promise<string[]> {
  const dir = `${PROXY_DIR}/${netns ?? "-"}`;
  try {
    const { stdout } = await runner.run({ argv: ["find", dir, "-maxdepth", "1", "-name", `${proxyPrefix(tag)}-*.pid`] });
    return stdout.split("\n").filter(Boolean).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** The file naming the owner (tag) of the proxies with its prefix: what `pulumi-hostnet gc` reads. */
function ownerFile(netns: Netns, tag: string): string {
  return `${PROXY_DIR}/${netns ?? "-"}/${proxyPrefix(tag)}.owner`;
}

/** Makes the owner's running proxies exactly `wanted`: stops the others, starts the missing. */
export async function reconcileProxies(runner: Runner, netns: Netns, tag: string, wanted: readonly LoopbackProxy[]): Promise<void> {
  const keep = new Set(wanted.map((p) => proxyPidFile(netns, tag, p)));
  const errors: unknown[] = [];
  for (const file of await listProxies(runner, netns, tag)) {
    if (!keep.has(file)) await stopProxy(runner, file).catch((err: unknown) => errors.push(err));
  }
  if (wanted.length > 0) {
    await runner.run({ argv: ["mkdir", "-p", "--", `${PROXY_DIR}/${netns ?? "-"}`] });
    await runner.run({ argv: ["tee", "--", ownerFile(netns, tag)], stdin: `${tag}\n` });
  }
  for (const p of wanted) await startProxy(runner, netns, tag, p);
  if (errors.length) throw errors[0];
  if (wanted.length > 0) return;
  // The emptied directories go, so a host keeps no trace of proxies it no longer has.
  await runner.run({ argv: ["rm", "-f", "--", ownerFile(netns, tag)] });
  await runner.run({ argv: ["rmdir", "--ignore-fail-on-non-empty", "--", `${PROXY_DIR}/${netns ?? "-"}`, PROXY_DIR] }).catch(() => undefined);
}

/** The owners (tags) of the proxies on this machine, with the host netns of each. */
export async function listProxyOwners(runner: Runner): Promise<{ netns: Netns; tag: string }[]> {
  let files: string[];
  try {
    files = (await runner.run({ argv: ["find", PROXY_DIR, "-mindepth", "2", "-maxdepth", "2", "-name", "*.owner"] })).stdout.split("\n").filter(Boolean).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const owners: { netns: Netns; tag: string }[] = [];
  for (const file of files) {
    const dir = file.slice(PROXY_DIR.length + 1, file.lastIndexOf("/"));
    const tag = (await runner.run({ argv: ["cat", "--", file] }).catch(() => ({ stdout: "" }))).stdout.trim();
    if (tag) owners.push({ netns: dir === "-" ? undefined : dir, tag });
  }
  return owners;
}
