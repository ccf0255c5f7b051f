import type { Runner } from "../../exec";
import type { Netns } from "../ip";
import { IptablesBackend } from "./iptables";
import { NftBackend } from "./nft";
import type { FirewallBackend, TaggedRules } from "./types";

export * from "./types";
export { IptablesBackend, iptablesRuleArgs } from "./iptables";
export { NftBackend, NFT_TABLE, nftRuleExpression, parseNftForwards, parseNftRules } from "./nft";

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

interface Pending {
  readonly set: TaggedRules;
  readonly done: (err?: unknown) => void;
}

interface HostQueue {
  pending: Pending[];
  draining: boolean;
}

/** Per runner (per machine), then per backend and netns. */
const queues = new WeakMap<Runner, Map<string, HostQueue>>();

/**
 * Applies one resource's rules, coalesced with every other change queued for the same host
 * and backend meanwhile: Pulumi creates resources in parallel, and one listing plus one
 * transaction for all of them beats one each. Changes to one host never interleave (a
 * listing followed by a transaction must see no other change in between). When a merged
 * transaction fails, each change is retried alone, so only the bad one reports the error.
 */
export function applyCoalesced(backend: FirewallBackend, netns: Netns, set: TaggedRules): Promise<void> {
  let onMachine = queues.get(backend.runner);
  if (!onMachine) queues.set(backend.runner, (onMachine = new Map()));
  const key = `${backend.name}/${netns ?? ""}`;
  let queue = onMachine.get(key);
  if (!queue) onMachine.set(key, (queue = { pending: [], draining: false }));
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
      const group = batch.filter((p) => p.set.family === family);
      if (group.length === 0) continue;
      try {
        await backend.replaceAll(netns, group.map((p) => p.set));
        for (const p of group) p.done();
      } catch (err) {
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
