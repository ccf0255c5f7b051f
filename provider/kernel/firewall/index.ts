import type { Runner } from "../../exec";
import type { Netns } from "../ip";
import { recentRead } from "../shared";
import { IptablesBackend } from "./iptables";
import { NftBackend } from "./nft";
import { conflictMessage, listenersOf, overlaps, type FirewallBackend, type HostPortListener, type IpFamily, type TaggedRules } from "./types";

export * from "./types";
export { dockerUserLines, dockerUserScript, forwardPolicy } from "./docker-user";
export { IptablesBackend, iptablesRuleArgs, parseIptablesListeners } from "./iptables";
export { NftBackend, NFT_TABLE, nftRuleExpression, parseNftForwards, parseNftListeners, parseNftListing, parseNftRules, type NftListedRule } from "./nft";

export type BackendChoice = "auto" | "nftables" | "iptables";

/** `auto` picks nftables when the `nft` tool exists, else iptables. */
export async function chooseBackend(runner: Runner, choice: BackendChoice): Promise<FirewallBackend> {
  if (choice === "nftables") return new NftBackend(runner);
  if (choice === "iptables") return new IptablesBackend(runner);
  try {
    await runner.run({ argv: ["nft", "--version"] });
    return new NftBackend(runner);
  } catch {
    return new IptablesBackend(runner);
  }
}

/** The backends whose tool is installed here: only they can hold rules of ours. */
export async function installedBackends(runner: Runner): Promise<FirewallBackend[]> {
  const found: FirewallBackend[] = [];
  for (const [tool, make] of [["nft", () => new NftBackend(runner)], ["iptables", () => new IptablesBackend(runner)]] as const) {
    try {
      await runner.run({ argv: [tool, "--version"] });
      found.push(make());
    } catch {
      // The tool is not installed: no rules of that backend can exist.
    }
  }
  return found;
}

interface Pending {
  readonly set: TaggedRules;
  readonly done: (err?: unknown) => void;
}

interface HostQueue {
  pending: Pending[];
  draining: boolean;
  /** Backends whose forwards also hold host ports here (the other one, for another stack's rules). */
  readonly neighbours: readonly FirewallBackend[];
  /** This backend's forwards per family: the last listing, kept current with this queue's own transactions. */
  readonly listed: Map<IpFamily, ListedForwards>;
}

interface ListedForwards {
  /** When the listing was read: other processes' changes since then are not in it. */
  readonly at: number;
  listeners: HostPortListener[];
}

/**
 * How long one listing of a backend's forwards serves the port check before it is read again.
 * Within it, this process's own changes are applied to the listing as they are made (they all
 * pass this queue); another process's forward made meanwhile is seen at the next reading, as
 * with the other backend's listing. Reading each batch cost one `nft list` of the whole table
 * (~140 ms at 200 forwards) inside the host's serial queue, and bounded every create.
 */
const LISTING_MAX_AGE_MS = 2000;

/** Per runner (per machine), then per backend and netns. */
const queues = new WeakMap<Runner, Map<string, HostQueue>>();

/**
 * Applies one resource's rules, coalesced with every other change queued for the same host
 * and backend meanwhile: Pulumi creates resources in parallel, and one listing plus one
 * transaction for all of them beats one each. Changes to one host never interleave (a
 * listing followed by a transaction must see no other change in between). When a merged
 * transaction fails, each change is retried alone, so only the bad one reports the error.
 */
export function applyCoalesced(backend: FirewallBackend, netns: Netns, set: TaggedRules, neighbours: readonly FirewallBackend[] = []): Promise<void> {
  let onMachine = queues.get(backend.runner);
  if (!onMachine) queues.set(backend.runner, (onMachine = new Map()));
  const key = `${backend.name}/${netns ?? ""}`;
  let queue = onMachine.get(key);
  if (!queue) onMachine.set(key, (queue = { pending: [], draining: false, neighbours, listed: new Map() }));
  const promise = new Promise<void>((resolve, reject) => queue.pending.push({ set, done: (err) => (err === undefined ? resolve() : reject(err)) }));
  if (!queue.draining) void drain(backend, netns, queue);
  return promise;
}

async function drain(backend: FirewallBackend, netns: Netns, queue: HostQueue): Promise<void> {
  queue.draining = true;
  // Let the other creates of this tick queue up behind the first.
  await new Promise((r) => setImmediate(r));
  while (queue.pending.length > 0) {
    const batch = queue.pending.splice(0);
    for (const family of ["ipv4", "ipv6"] as const) {
      let group = batch.filter((p) => p.set.family === family);
      if (group.length === 0) continue;
      try {
        group = await refuseTakenPorts(backend, queue, netns, family, group);
      } catch (err) {
        for (const p of group) p.done(err);
        continue;
      }
      if (group.length === 0) continue;
      try {
        await backend.replaceAll(netns, group.map((p) => p.set));
        noteApplied(queue.listed.get(family), group);
        for (const p of group) p.done();
      } catch (err) {
        // Some of the group may be in place and some not: the next batch reads again.
        queue.listed.delete(family);
        if (group.length === 1) {
          group[0]!.done(err);
          continue;
        }
        for (const p of group) {
          try {
            await backend.replace(netns, p.set);
            p.done();
          } catch (alone) {
            p.done(alone);
          }
        }
      }
    }
  }
  queue.draining = false;
}

/**
 * Fails the changes whose forwards would take a host port another owner's forward holds (the
 * kernel would keep both DNAT rules and the first would silently win, where Docker says "port
 * is already allocated"); returns the rest. Read inside the host's queue, so no change of this
 * process comes between the listing and the transaction. A rule's own tag is no conflict
 * (an update or replacement of itself); of two new claims in one batch the first wins.
 */
async function refuseTakenPorts(backend: FirewallBackend, queue: HostQueue, netns: Netns, family: IpFamily, group: Pending[]): Promise<Pending[]> {
  if (!group.some((p) => listenersOf(p.set).length > 0)) return group;
  let listed = queue.listed.get(family);
  if (!listed || Date.now() - listed.at > LISTING_MAX_AGE_MS) {
    const at = Date.now();
    listed = { at, listeners: await backend.listeners(netns, family) };
    queue.listed.set(family, listed);
  }
  const taken: { listener: HostPortListener; backend: string }[] = listed.listeners.map((listener) => ({ listener, backend: backend.name }));
  for (const other of queue.neighbours) {
    try {
      // Other queues write there (the other backend's, other processes'), unordered with
      // this one: a listing a moment old is as good as a new one, and saves a process per batch.
      const listed = await recentRead(other, `listeners ${netns ?? ""} ${family}`, 2000, () => other.listeners(netns, family));
      taken.push(...listed.map((listener) => ({ listener, backend: other.name })));
    } catch {
      // The other tool is missing or cannot read here: then it holds no forwards of ours.
    }
  }
  const accepted: Pending[] = [];
  for (const p of group) {
    const wanted = listenersOf(p.set);
    const clash = wanted.flatMap((w) => taken.filter((t) => t.listener.tag !== p.set.tag && overlaps(w, t.listener)).map((t) => conflictMessage(w, t.listener, t.backend)));
    if (clash.length > 0) {
      p.done(new Error(clash.join("; ")));
      continue;
    }
    accepted.push(p);
    taken.push(...wanted.map((listener) => ({ listener, backend: backend.name })));
  }
  return accepted;
}

/** Brings a listing up to date with a transaction that replaced the rules of `group`'s tags. */
function noteApplied(listed: ListedForwards | undefined, group: readonly Pending[]): void {
  if (!listed) return;
  const tags = new Set(group.map((p) => p.set.tag));
  listed.listeners = [...listed.listeners.filter((l) => !tags.has(l.tag)), ...group.flatMap((p) => listenersOf(p.set))];
}
