import type { Runner } from "../exec";
import type { Netns } from "./ip";

/**
 * The sockets that listen on a machine (`ss -Htulnp`): what a port forward must not take over.
 * A DNAT on a port that a service listens on silently steals its traffic (Docker refuses the
 * same with "address already in use"), so forwards are checked against this list.
 */

/** Which families a listener takes connections of. */
export type ListenerFamily = "ipv4" | "ipv6" | "both";

export interface SocketListener {
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  /**
   * The address it is bound to, as ss prints it without brackets; undefined: the wildcard of
   * its family (0.0.0.0, [::], or ss's `*`: an IPv6 wildcard without v6only, which also takes
   * IPv4 connections).
   */
  readonly address: string | undefined;
  readonly family: ListenerFamily;
  /** The interface it is bound to (SO_BINDTODEVICE, ss's `%iface`). */
  readonly device?: string;
  /** The processes that hold it, where ss could tell (root sees all; others only their own). */
  readonly processes: readonly { readonly name: string; readonly pid: number }[];
  /** The local address column as ss printed it, for messages. */
  readonly shown: string;
}

/** ss's local address column: `*:22`, `[::]:22`, `0.0.0.0:22`, `127.0.0.1:53`, `[::1]:631`, `[fe80::1]%eth0:9000`, `0.0.0.0%eth0:67`. */
function parseLocal(text: string): { address: string | undefined; family: ListenerFamily; device?: string; port: number } | undefined {
  const m = /^(\*|\[[0-9A-Fa-f:.]+\]|[0-9.]+)(?:%([^:\s]+))?:(\d+)$/.exec(text);
  if (!m) return undefined;
  const [, host = "", device, port] = m;
  const extra = device ? { device } : {};
  if (host === "*") return { address: undefined, family: "both", port: Number(port), ...extra };
  if (host.startsWith("[")) {
    const inner = host.slice(1, -1);
    // An IPv4-mapped address is an IPv4 socket's address seen through a dual-stack one.
    const mapped = /^::ffff:([0-9.]+)$/i.exec(inner)?.[1];
    if (mapped) return { address: mapped === "0.0.0.0" ? undefined : mapped, family: "ipv4", port: Number(port), ...extra };
    return { address: inner === "::" ? undefined : inner.toLowerCase(), family: "ipv6", port: Number(port), ...extra };
  }
  return { address: host === "0.0.0.0" ? undefined : host, family: "ipv4", port: Number(port), ...extra };
}

/** The processes of ss's `users:(("sshd",pid=123,fd=3),("sshd",pid=456,fd=3))`. */
function parseProcesses(text: string): { name: string; pid: number }[] {
  const found = new Map<number, string>();
  for (const m of text.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)/g)) found.set(Number(m[2]), m[1] ?? "");
  return [...found].map(([pid, name]) => ({ name, pid }));
}

/** Parses `ss -Htulnp` (or without -p): one listener per line; lines it does not know are skipped. */
export function parseSsListeners(stdout: string): SocketListener[] {
  const listeners: SocketListener[] = [];
  for (const line of stdout.split("\n")) {
    // Netid State Recv-Q Send-Q Local Peer [Process]
    const fields = line.trim().split(/\s+/);
    const [netid, state, , , local, , ...rest] = fields;
    if ((netid !== "tcp" && netid !== "udp") || !local) continue;
    if (netid === "tcp" && state !== "LISTEN") continue;
    const parsed = parseLocal(local);
    if (!parsed) continue;
    listeners.push({ protocol: netid, ...parsed, processes: parseProcesses(rest.join(" ")), shown: local });
  }
  return listeners;
}

/** The tcp and udp sockets listening in this netns (the host's netns of a machine: its services). */
export async function listeningSockets(runner: Runner, netns: Netns): Promise<SocketListener[]> {
  const { stdout } = await runner.run({ argv: ["ss", "-H", "-t", "-u", "-l", "-n", "-p"], netns });
  return parseSsListeners(stdout);
}

/** A host port a forward would listen on. */
export interface WantedPort {
  readonly protocol: "tcp" | "udp";
  readonly from: number;
  readonly to: number;
  readonly family: "ipv4" | "ipv6";
  /** One host address; undefined: every address of the host of that family. */
  readonly hostAddress?: string;
}

/**
 * Whether a forward would take connections meant for this listener. Same protocol and port,
 * a family the listener takes (ss's `*` takes both), and a common address: a forward on every
 * address clashes with any listener of its family (its output-chain DNAT catches even the
 * host's own connections to 127.0.0.1), one on an address clashes with a listener on that
 * address or on its family's wildcard. A listener bound to an interface counts as its address:
 * the forward would still take the packets that arrive there.
 */
export function clashes(wanted: WantedPort, listener: SocketListener): boolean {
  if (wanted.protocol !== listener.protocol || listener.port < wanted.from || listener.port > wanted.to) return false;
  if (listener.family !== "both" && listener.family !== wanted.family) return false;
  if (wanted.hostAddress === undefined || listener.address === undefined) return true;
  return sameAddress(wanted.hostAddress, listener.address);
}

function sameAddress(a: string, b: string): boolean {
  if (!a.includes(":") || !b.includes(":")) return a === b;
  return expandIpv6(a) === expandIpv6(b);
}

/** An IPv6 address in full (eight groups of four digits), so that spellings compare. */
function expandIpv6(address: string): string {
  const [head = "", tail] = address.toLowerCase().split("::");
  const groups = (s: string) => (s ? s.split(":") : []);
  const [h, t] = [groups(head), tail === undefined ? [] : groups(tail)];
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return all.map((g) => g.padStart(4, "0")).join(":");
}

/** "sshd (pid 123)", "sshd (pids 123, 456)", or "a process ss cannot name" (another user's, without root). */
export function describeHolders(listener: SocketListener): string {
  const byName = new Map<string, number[]>();
  for (const p of listener.processes) byName.set(p.name, [...(byName.get(p.name) ?? []), p.pid]);
  if (byName.size === 0) return "a socket (ss names no process: not ours to see)";
  return [...byName].map(([name, pids]) => `${name} (pid${pids.length > 1 ? "s" : ""} ${pids.join(", ")})`).join(", ");
}
