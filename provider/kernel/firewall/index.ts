import type { Runner } from "../../exec";
import type { Netns } from "../ip";
import { IptablesBackend } from "./iptables";
import { NftBackend } from "./nft";
import type { FirewallBackend } from "./types";

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

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs firewall changes for one host netns one at a time within this process: Pulumi creates
 * resources in parallel, and a listing followed by a transaction must not interleave.
 */
export function serializedPerHost<T>(netns: Netns, work: () => Promise<T>): Promise<T> {
  const key = netns ?? "";
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  queues.set(key, next.catch(() => undefined));
  return next;
}
