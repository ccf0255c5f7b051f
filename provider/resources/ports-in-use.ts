import { isNotFound, type Runner, type SshArrival } from "../exec";
import { clashes, describeHolders, firewall, listeningSockets, listProxies, proxyPid, recentRead, sharedRead, type Netns, type SocketListener, type WantedPort } from "../kernel";

/**
 * Host ports a service on the machine listens on already (`ss`), and the port the provider's
 * own SSH connection arrives on: a forward of either is refused, at preview and again when it
 * is made. There is no override, as Docker has none ("address already in use"): a DNAT in
 * front of a listening service silently takes its connections, and one in front of sshd locks
 * the stack out of its machine.
 */

/** A forward's host port, with the index of the input it came from (for the failure's property). */
export interface PortClaim {
  readonly index: number;
  readonly port: WantedPort;
}

/** The claims of a rule set's forwards (its prerouting DNATs), each with `indexes[i]` (default i). */
export function claimsOf(set: firewall.TaggedRules, indexes: readonly number[] = []): PortClaim[] {
  return firewall.listenersOf(set).map((l, i) => ({ index: indexes[i] ?? i, port: { protocol: l.protocol, from: l.ports.from, to: l.ports.to, family: set.family, hostAddress: l.hostAddress } }));
}

/** The claims not already made by `before` (an update checks only the forwards it adds). */
export function newClaims(claims: readonly PortClaim[], before: readonly PortClaim[]): PortClaim[] {
  const key = (c: PortClaim) => JSON.stringify([c.port.protocol, c.port.from, c.port.to, c.port.family, c.port.hostAddress ?? ""]);
  const had = new Set(before.map(key));
  return claims.filter((c) => !had.has(key(c)));
}

/** A runner that reaches its machine over SSH (SshRunner): the connection's own port is never forwarded. */
function arrivalOf(runner: Runner): Promise<SshArrival> | undefined {
  const remote = runner as Partial<{ arrival: () => Promise<SshArrival>; label: string }>;
  return typeof remote.arrival === "function" ? remote.arrival() : undefined;
}

function placeOf(runner: Runner, where: Netns): string {
  const label = (runner as Partial<{ label: string }>).label;
  const machine = typeof label === "string" ? `machine ${label}` : "this machine";
  return where ? `netns ${where} on ${machine}` : machine;
}

/** How long one `ss` listing serves the checks of a preview. */
const CHECK_READ_MAX_AGE_MS = 2000;

/**
 * The claims that would take a port in use, each with its message. `mode` "check" (preview)
 * shares a listing a moment old and says nothing about what it cannot read (a netns not made
 * yet, no ss); "create" reads now (concurrent creates share one process) and fails on what it
 * cannot read. Our own [::1] proxies (this tag's pid files) are no clash: they are this
 * resource's, kept across updates and re-ups.
 */
export async function portsInUseIssues(runner: Runner, where: Netns, tag: string, claims: readonly PortClaim[], mode: "check" | "create"): Promise<{ index: number; message: string }[]> {
  if (claims.length === 0) return [];
  const issues: { index: number; message: string }[] = [];
  const place = placeOf(runner, where);
  const arrival = where === undefined ? arrivalOf(runner) : undefined;
  if (arrival) {
    const ssh = await arrival;
    for (const c of claims) {
      const p = c.port;
      const covers = p.hostAddress === undefined || ssh.address === undefined || sameHost(p.hostAddress, ssh.address);
      if (p.protocol === "tcp" && p.from <= ssh.port && ssh.port <= p.to && covers) {
        issues.push({ index: c.index, message: `host port tcp/${ssh.port} is the port this stack's SSH connection to ${place} arrives on${ssh.address ? ` (${ssh.address})` : ""}: forwarding it would lock the stack out of its machine (destroy included); choose another host port` });
      }
    }
  }
  let listeners: SocketListener[];
  try {
    const read = () => listeningSockets(runner, where);
    listeners = mode === "check" ? await recentRead(runner, `ss ${where ?? ""}`, CHECK_READ_MAX_AGE_MS, read) : await sharedRead(runner, `ss ${where ?? ""}`, read);
  } catch (err) {
    if (mode === "check" || isNotFound(err)) return issues;
    throw err;
  }
  const found = claims.flatMap((c) => listeners.filter((l) => clashes(c.port, l)).map((l) => ({ claim: c, listener: l })));
  if (found.length === 0) return issues;
  const ours = await ownProxyPids(runner, where, tag);
  for (const { claim, listener } of found) {
    if (listener.processes.length > 0 && listener.processes.every((p) => ours.has(p.pid))) continue;
    const seen = issues.some((i) => i.index === claim.index && i.message.includes(`listens on ${listener.shown} `));
    if (!seen) issues.push({ index: claim.index, message: inUseMessage(listener, place) });
  }
  return issues;
}

export function inUseMessage(listener: SocketListener, place: string): string {
  return `host port ${listener.protocol}/${listener.port} is in use on ${place}: ${describeHolders(listener)} listens on ${listener.shown} (a forward would take its connections); choose another host port, or stop that service first`;
}

/** The pids of this tag's running [::1] proxies, from their pid files. */
async function ownProxyPids(runner: Runner, where: Netns, tag: string): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const file of await listProxies(runner, where, tag).catch(() => [])) {
    const pid = await proxyPid(runner, file);
    if (pid !== undefined) pids.add(pid);
  }
  return pids;
}

function sameHost(a: string, b: string): boolean {
  const plain = (s: string) => s.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  return plain(a) === plain(b);
}
