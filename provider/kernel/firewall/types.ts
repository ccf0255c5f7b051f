import ipaddr from "ipaddr.js";
import type { Runner } from "../../exec";
import type { Netns } from "../ip";

/**
 * Our chains; both backends keep this shape (nft base chains, or iptables chains jumped to).
 * `isolation` sees forwarded traffic before `forward` (nft: an earlier priority; iptables: jumped
 * to first), so its drops are final even though `forward` accepts; `isolation_targets` is only
 * jumped to from `isolation` (Docker's two isolation stages).
 */
export type Chain = "prerouting" | "output" | "postrouting" | "forward" | "isolation" | "isolation_targets" | "docker_user";

/**
 * `docker_user` is no chain of ours: it is Docker's documented extension point, iptables'
 * `filter DOCKER-USER` (ip6tables' for IPv6), where both backends insert their tagged rules
 * (through iptables-restore) and only when Docker made the chain. Its rules are inserted at
 * its top, in order, and never touch another rule there.
 */
export const DOCKER_USER = "DOCKER-USER";
export type IpFamily = "ipv4" | "ipv6";
export type Protocol = "tcp" | "udp";

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** What a rule matches; every field is optional and they all must hold. */
export interface RuleMatch {
  readonly source?: string;
  readonly destination?: string;
  readonly notDestination?: string;
  readonly inInterface?: string;
  readonly notInInterface?: string;
  readonly outInterface?: string;
  readonly notOutInterface?: string;
  readonly protocol?: Protocol;
  readonly destinationPort?: PortRange;
  /** The destination is an address of this host (nft `fib daddr type local`, iptables addrtype LOCAL). */
  readonly localDestination?: boolean;
  /** The connection was destination-NATed (hairpin and localhost port forwards); false: it was not. */
  readonly dnatted?: boolean;
  /** Replies and related packets of connections already accepted; false: any other packet. */
  readonly established?: boolean;
}

export type RuleAction =
  | { readonly kind: "masquerade" }
  | { readonly kind: "snat"; readonly to: string }
  | { readonly kind: "dnat"; readonly to: string; readonly port?: PortRange }
  | { readonly kind: "accept" }
  | { readonly kind: "drop" }
  /** Back to the chain that jumped here: no verdict, the next rules and chains decide. */
  | { readonly kind: "return" }
  | { readonly kind: "jump"; readonly chain: Chain };

export interface FirewallRule {
  readonly chain: Chain;
  readonly match: RuleMatch;
  readonly action: RuleAction;
}

/** All the rules of one resource: they carry its tag and change together, atomically. */
export interface TaggedRules {
  readonly tag: string;
  readonly family: IpFamily;
  readonly rules: readonly FirewallRule[];
  /**
   * No rule with this tag can exist yet: the caller has just made, for the first time, what the
   * rules belong to. Lets a backend add without first listing what to remove. Were it wrong,
   * the tag would have twice its rules, which a refresh counts as drift and `up` repairs.
   */
  readonly fresh?: boolean;
  /**
   * Rules of this tag may be in DOCKER-USER (set or planned): a backend looks there too when it
   * replaces them, even to remove them all. Left unset, DOCKER-USER is read only for a set that
   * has `docker_user` rules, so that other resources cost no iptables process.
   */
  readonly dockerUser?: boolean;
}

/**
 * A firewall backend keeps our own table (nft) or chains (iptables) and never edits anything
 * else. Changes to one host are serialized by the caller.
 */
export interface FirewallBackend {
  readonly name: "nftables" | "iptables";
  /** The runner it acts through: changes through one runner are coalesced. */
  readonly runner: Runner;
  /** Makes the rules carrying `set.tag` exactly `set.rules` (none: removes them), atomically. */
  replace(netns: Netns, set: TaggedRules): Promise<void>;
  /** The same for several resources of one family, in as few transactions as the backend allows. */
  replaceAll(netns: Netns, sets: readonly TaggedRules[]): Promise<void>;
  /** Number of rules carrying `tag` (0 when our table or the namespace is gone); `dockerUser`: DOCKER-USER's too. */
  count(netns: Netns, family: IpFamily, tag: string, dockerUser?: boolean): Promise<number>;
  /**
   * The rules carrying `tag`, each in canonical text (`canonicalRules` of what we would write
   * compares equal): refresh compares contents, so a rule edited by hand is drift even when
   * the count is right. Concurrent callers for one host and family share one listing.
   */
  taggedRules(netns: Netns, family: IpFamily, tag: string): Promise<string[]>;
  /** The canonical text of each rule of `set`, as taggedRules would read it once in place. */
  canonicalRules(set: TaggedRules): string[];
  /** Our IPv4 port forwards (DNAT in prerouting). */
  forwards(netns: Netns): Promise<ForwardSummary[]>;
  /** The distinct tags our rules of this family carry (none when our table or the namespace is gone). */
  tags(netns: Netns, family: IpFamily): Promise<string[]>;
  /** The host ports our DNAT rules of this family listen on, with the tag of each (any stack). */
  listeners(netns: Netns, family: IpFamily): Promise<HostPortListener[]>;
}

/** A host port taken by a forward: what a second forward must not overlap. */
export interface HostPortListener {
  readonly protocol: Protocol;
  readonly ports: PortRange;
  /** The one host address it answers on; undefined: every address of the host. */
  readonly hostAddress?: string;
  /** Its owner's tag (hostnet:<project>/<stack>/<resource>). */
  readonly tag: string;
}

/** The host ports a rule set listens on: its DNAT rules in prerouting. */
export function listenersOf(set: TaggedRules): HostPortListener[] {
  return set.rules.flatMap((r) =>
    r.chain === "prerouting" && r.action.kind === "dnat" && r.match.protocol && r.match.destinationPort
      ? [{ protocol: r.match.protocol, ports: r.match.destinationPort, hostAddress: r.match.destination, tag: set.tag }]
      : [],
  );
}

/** Whether two listeners take a common port: same protocol, overlapping ports, a common address. */
export function overlaps(a: HostPortListener, b: HostPortListener): boolean {
  const sameAddress = a.hostAddress === undefined || b.hostAddress === undefined || a.hostAddress === b.hostAddress;
  return a.protocol === b.protocol && sameAddress && a.ports.from <= b.ports.to && b.ports.from <= a.ports.to;
}

/** The message for a forward refused because another owner's forward holds its port. */
export function conflictMessage(wanted: HostPortListener, holder: HostPortListener, backend: string): string {
  const where = (l: HostPortListener) => `${l.protocol}/${formatPorts(l.ports)}${l.hostAddress ? ` on ${l.hostAddress}` : ""}`;
  return `host port ${where(wanted)} is already forwarded by ${holder.tag} (${where(holder)}, ${backend}); a host port can have one forward only: remove that one first, or choose another port`;
}

export function formatPorts(range: PortRange, separator = "-"): string {
  return range.from === range.to ? String(range.from) : `${range.from}${separator}${range.to}`;
}

/** A DNAT rule of ours as read back from the kernel (for pictures and reports). */
export interface ForwardSummary {
  readonly protocol: Protocol;
  readonly ports: string;
  readonly to: string;
  readonly tag: string;
}

/**
 * The rules expected but not found, and found but not expected, counted as multisets: 0 when
 * the kernel holds exactly the planned rules.
 */
export function ruleDifferences(found: readonly string[], planned: readonly string[]): number {
  const left = new Map<string, number>();
  for (const rule of planned) left.set(rule, (left.get(rule) ?? 0) + 1);
  let extra = 0;
  for (const rule of found) {
    const n = left.get(rule) ?? 0;
    if (n > 0) left.set(rule, n - 1);
    else extra++;
  }
  return extra + [...left.values()].reduce((a, b) => a + b, 0);
}

/** Every IPv6 address (with or without prefix) in a rule's text, in its one canonical spelling (RFC 5952). */
export function canonicalAddresses(text: string): string {
  return text.replace(/(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*)(?![\w:])/g, (address) => {
    try {
      return ipaddr.IPv6.parse(address).toRFC5952String();
    } catch {
      return address;
    }
  });
}
