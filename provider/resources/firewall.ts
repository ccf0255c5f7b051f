import { z } from "zod";
import type { Runner } from "../exec";
import { firewall, recentRead, type Netns } from "../kernel";
import { ipAddress, maybeFamilyOf, networkCidr } from "./validation";

export const firewallChoice = z.enum(["auto", "nftables", "iptables"]).default("auto");
export type BackendName = "nftables" | "iptables";

/** A single port or an inclusive range: 8080, or "8000-8010". */
export const portOrRange = z.union([
  z.number().int("port must be an integer").min(1, "port must be 1-65535").max(65535, "port must be 1-65535"),
  z.string().regex(/^[0-9]{1,5}-[0-9]{1,5}$/, 'a port range is written "from-to", e.g. "8000-8010"').superRefine((s, ctx) => {
    const [from, to] = s.split("-").map(Number) as [number, number];
    if (from < 1 || to > 65535) ctx.addIssue({ code: "custom", message: "ports must be 1-65535" });
    if (from > to) ctx.addIssue({ code: "custom", message: `port range ${s} is reversed` });
  }),
]);

export function toRange(value: number | string): firewall.PortRange {
  if (typeof value === "number") return { from: value, to: value };
  const [from, to] = value.split("-").map(Number) as [number, number];
  return { from, to };
}

/** An address or a network: what saddr/daddr accept. */
export const addressOrNetwork = z.union([ipAddress, networkCidr], { error: "must be an address or a network in CIDR form (no host bits)" });

/** The one address family of a set of addresses, or an error naming the mix. */
export function familyOfAll(values: readonly (string | undefined)[]): firewall.IpFamily {
  const families = new Set(values.filter((v): v is string => !!v).map(maybeFamilyOf).filter((f) => f !== undefined));
  if (families.size > 1) throw new Error("addresses mix IPv4 and IPv6");
  return families.has("ipv6") ? "ipv6" : "ipv4";
}

const chosen = new WeakMap<Runner, Map<string, Promise<firewall.FirewallBackend>>>();

export function backendFor(runner: Runner, choice: firewall.BackendChoice | BackendName): Promise<firewall.FirewallBackend> {
  let byChoice = chosen.get(runner);
  if (!byChoice) chosen.set(runner, (byChoice = new Map()));
  let backend = byChoice.get(choice);
  if (!backend) byChoice.set(choice, (backend = firewall.chooseBackend(runner, choice)));
  return backend;
}

/** Makes the rules tagged `set.tag` exactly `set.rules`, one host at a time; returns the backend used. */
export async function applyRules(runner: Runner, where: Netns, choice: firewall.BackendChoice | BackendName, set: firewall.TaggedRules): Promise<BackendName> {
  const backend = await backendFor(runner, choice);
  await firewall.applyCoalesced(backend, where, set, [otherBackend(runner, backend.name)]);
  return backend.name;
}

/** The backend a resource did not choose: another stack's forwards may be there. */
function otherBackend(runner: Runner, name: BackendName): firewall.FirewallBackend {
  return name === "nftables" ? new firewall.IptablesBackend(runner) : new firewall.NftBackend(runner);
}

/** How long one reading of the host's forwards serves the checks that follow it. */
const CHECK_READ_MAX_AGE_MS = 2000;

/**
 * Host ports of `set` that another owner's forward holds already, read from both backends:
 * each with the index of the wanted listener in `listenersOf(set)` (one per forward, in
 * order) and a message. For check (preview), which cannot fail on what it cannot read: a
 * namespace not made yet, a missing tool or permission. The create checks again before it writes.
 */
export async function takenPortIssues(runner: Runner, where: Netns, set: firewall.TaggedRules): Promise<{ index: number; message: string }[]> {
  const wanted = firewall.listenersOf(set);
  if (wanted.length === 0) return [];
  const issues: { index: number; message: string }[] = [];
  for (const backend of [new firewall.NftBackend(runner), new firewall.IptablesBackend(runner)]) {
    let taken: firewall.HostPortListener[];
    try {
      taken = await recentRead(runner, `listeners ${backend.name} ${where ?? ""} ${set.family}`, CHECK_READ_MAX_AGE_MS, () => backend.listeners(where, set.family));
    } catch {
      continue;
    }
    for (const [index, w] of wanted.entries()) {
      for (const t of taken) if (t.tag !== set.tag && firewall.overlaps(w, t)) issues.push({ index, message: firewall.conflictMessage(w, t, backend.name) });
    }
  }
  return issues;
}

export async function countRules(runner: Runner, where: Netns, backend: BackendName, family: firewall.IpFamily, tag: string, dockerUser = false): Promise<number> {
  return (await backendFor(runner, backend)).count(where, family, tag, dockerUser);
}

/**
 * What refresh sees of a resource's rules: how many carry its tag, and how many differ from
 * `planned` (its stored inputs' rules: missing, edited or extra), compared as canonical text.
 */
export async function readRuleContents(runner: Runner, where: Netns, backend: BackendName, planned: readonly firewall.TaggedRules[]): Promise<{ count: number; drifted: number }> {
  const chosen = await backendFor(runner, backend);
  let count = 0;
  let drifted = 0;
  for (const set of planned) {
    const found = await chosen.taggedRules(where, set.family, set.tag);
    count += found.length;
    drifted += firewall.ruleDifferences(found, chosen.canonicalRules(set));
  }
  return { count, drifted };
}
