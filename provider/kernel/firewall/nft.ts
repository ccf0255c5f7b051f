import { z } from "zod";
import { isNotFound, type Runner } from "../../exec";
import type { Netns } from "../ip";
import { sharedRead } from "../shared";
import { dockerUserLines, replaceDockerUser, taggedLines } from "./docker-user";
import { canonicalAddresses, formatPorts, type Chain, type FirewallBackend, type FirewallRule, type ForwardSummary, type HostPortListener, type IpFamily, type Protocol, type TaggedRules } from "./types";

/** Our table, one per family; nothing outside it is ever edited. */
export const NFT_TABLE = "hostnet";

const CHAIN_DECLARATIONS: Record<Chain, string> = {
  prerouting: "type nat hook prerouting priority dstnat; policy accept;",
  output: "type nat hook output priority -100; policy accept;",
  postrouting: "type nat hook postrouting priority srcnat; policy accept;",
  forward: "type filter hook forward priority filter; policy accept;",
  // Before `forward`: an accept there cannot undo a drop here, and a drop here is final.
  isolation: "type filter hook forward priority filter - 10; policy accept;",
  isolation_targets: "",
  // Not ours: its rules go to iptables' DOCKER-USER (see docker-user.ts).
  docker_user: "",
};

function nftFamily(family: IpFamily): "ip" | "ip6" {
  return family === "ipv4" ? "ip" : "ip6";
}

/** Quoted string for nft's parser; inputs are validated, this only guards the quotes. */
function quote(text: string): string {
  if (/["\\\n]/.test(text)) throw new Error(`refusing to put ${JSON.stringify(text)} into an nft rule`);
  return `"${text}"`;
}

/** One rule in nft syntax, without the `add rule` prefix. */
export function nftRuleExpression(family: IpFamily, rule: FirewallRule, tag: string): string {
  const ip = nftFamily(family);
  const m = rule.match;
  const parts: string[] = [];
  if (m.inInterface) parts.push(`iifname ${quote(m.inInterface)}`);
  if (m.notInInterface) parts.push(`iifname != ${quote(m.notInInterface)}`);
  if (m.outInterface) parts.push(`oifname ${quote(m.outInterface)}`);
  if (m.notOutInterface) parts.push(`oifname != ${quote(m.notOutInterface)}`);
  if (m.source) parts.push(`${ip} saddr ${m.source}`);
  if (m.destination) parts.push(`${ip} daddr ${m.destination}`);
  if (m.notDestination) parts.push(`${ip} daddr != ${m.notDestination}`);
  if (m.localDestination) parts.push("fib daddr type local");
  if (m.protocol && m.destinationPort) parts.push(`${m.protocol} dport ${formatPorts(m.destinationPort)}`);
  else if (m.protocol) parts.push(`meta l4proto ${m.protocol}`);
  // `!` tests the bits (none set); `!=` would compare the whole mask and match almost always.
  if (m.dnatted !== undefined) parts.push(`ct status ${m.dnatted ? "" : "! "}dnat`);
  if (m.established !== undefined) parts.push(`ct state ${m.established ? "" : "! "}established,related`);
  const a = rule.action;
  switch (a.kind) {
    case "masquerade":
      parts.push("masquerade");
      break;
    case "snat":
      parts.push(`snat to ${a.to}`);
      break;
    case "dnat": {
      const to = family === "ipv6" && a.port ? `[${a.to}]` : a.to;
      parts.push(`dnat to ${to}${a.port ? `:${formatPorts(a.port)}` : ""}`);
      break;
    }
    case "accept":
    case "drop":
    case "return":
      parts.push(a.kind);
      break;
    case "jump":
      parts.push(`jump ${a.chain}`);
      break;
  }
  parts.push(`comment ${quote(tag)}`);
  return parts.join(" ");
}

const nftListSchema = z.object({
  nftables: z.array(
    z
      .object({
        rule: z
          .object({ family: z.string(), table: z.string(), chain: z.string(), handle: z.number(), comment: z.string().optional() })
          .passthrough()
          .optional(),
      })
      .passthrough(),
  ),
});

export interface NftRuleRef {
  readonly chain: string;
  readonly handle: number;
  readonly comment: string | undefined;
}

/** Parses `nft -j list table` output into the rules it holds. */
export function parseNftRules(stdout: string): NftRuleRef[] {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`parse nft -j output: not JSON: ${(err as Error).message}`);
  }
  const parsed = nftListSchema.safeParse(data);
  if (!parsed.success) throw new Error(`parse nft -j output: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data.nftables.flatMap((item) => (item.rule ? [{ chain: item.rule.chain, handle: item.rule.handle, comment: item.rule.comment }] : []));
}

/** DNAT rules of our prerouting chain, parsed from `nft list table ip hostnet` text. */
export function parseNftForwards(listing: string): ForwardSummary[] {
  const forwards: ForwardSummary[] = [];
  let chain = "";
  for (const line of listing.split("\n")) {
    const header = /^\s*chain (\S+) \{/.exec(line);
    if (header) chain = header[1] ?? "";
    const rule = /\b(tcp|udp) dport (\S+) dnat to (\S+) comment "([^"]+)"/.exec(line);
    if (chain === "prerouting" && rule) forwards.push({ protocol: rule[1] as Protocol, ports: rule[2] ?? "", to: rule[3] ?? "", tag: rule[4] ?? "" });
  }
  return forwards;
}

/** The host ports of the DNAT rules in a prerouting chain, parsed from `nft list table` text. */
export function parseNftListeners(listing: string): HostPortListener[] {
  const listeners: HostPortListener[] = [];
  let chain = "";
  for (const line of listing.split("\n")) {
    const header = /^\s*chain (\S+) \{/.exec(line);
    if (header) chain = header[1] ?? "";
    const rule = /\b(tcp|udp) dport (\d+)(?:-(\d+))? .*\bdnat\b.* comment "([^"]+)"/.exec(line);
    if (chain !== "prerouting" || !rule) continue;
    const address = /\bip6? daddr ([0-9A-Fa-f:.]+)(?:\s|$)/.exec(line)?.[1];
    const from = Number(rule[2]);
    listeners.push({ protocol: rule[1] as Protocol, ports: { from, to: rule[3] ? Number(rule[3]) : from }, hostAddress: address, tag: rule[4] ?? "" });
  }
  return listeners;
}

/** A rule of ours as `nft list table` prints it: its chain, its text without the comment, its tag. */
export interface NftListedRule {
  readonly chain: string;
  readonly text: string;
  readonly tag: string | undefined;
}

/** The rules of every chain of a `nft list table` listing (declarations and braces left out). */
export function parseNftListing(listing: string): NftListedRule[] {
  const rules: NftListedRule[] = [];
  let chain = "";
  for (const raw of listing.split("\n")) {
    const line = raw.trim();
    const header = /^chain (\S+) \{/.exec(line);
    if (header) chain = header[1] ?? "";
    if (!chain || header || !line || line === "}" || /^(type|policy) /.test(line)) continue;
    const comment = / comment "([^"]*)"$/.exec(line);
    rules.push({ chain, text: comment ? line.slice(0, comment.index) : line, tag: comment?.[1] });
  }
  return rules;
}

/** One rule's canonical text: chain and expression, addresses in one spelling, spacing collapsed. */
function canonicalNft(chain: string, text: string): string {
  return `${chain}: ${canonicalAddresses(text).replace(/\s+/g, " ").trim()}`;
}

/** The nftables backend: our own table per family, base chains, atomic `nft -f -` transactions. */
export class NftBackend implements FirewallBackend {
  readonly name = "nftables";

  constructor(readonly runner: Runner) {}

  /** Every rule in our table of this family; empty when the table (or namespace) is missing. */
  async listRules(netns: Netns, family: IpFamily): Promise<NftRuleRef[]> {
    try {
      const { stdout } = await this.runner.run({ argv: ["nft", "-j", "list", "table", nftFamily(family), NFT_TABLE], netns });
      return parseNftRules(stdout);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async forwards(netns: Netns): Promise<ForwardSummary[]> {
    try {
      const { stdout } = await this.runner.run({ argv: ["nft", "list", "table", "ip", NFT_TABLE], netns });
      return parseNftForwards(stdout);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async tags(netns: Netns, family: IpFamily): Promise<string[]> {
    const comments = (await this.listRules(netns, family)).map((r) => r.comment);
    return [...new Set(comments.filter((c): c is string => c !== undefined))];
  }

  async listeners(netns: Netns, family: IpFamily): Promise<HostPortListener[]> {
    try {
      const { stdout } = await this.runner.run({ argv: ["nft", "list", "table", nftFamily(family), NFT_TABLE], netns });
      return parseNftListeners(stdout);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async count(netns: Netns, family: IpFamily, tag: string, dockerUser = false): Promise<number> {
    // A refresh reads every firewall resource at once: they share one listing.
    const rules = await sharedRead(this.runner, `nft ${netns ?? ""} ${family}`, () => this.listRules(netns, family));
    const inNft = rules.filter((r) => r.comment === tag).length;
    if (!dockerUser) return inNft;
    const lines = await sharedRead(this.runner, `docker-user ${netns ?? ""} ${family}`, () => dockerUserLines(this.runner, netns, family));
    return inNft + taggedLines(lines ?? [], tag).length;
  }

  async taggedRules(netns: Netns, family: IpFamily, tag: string): Promise<string[]> {
    // A refresh reads every firewall resource at once: they share one listing per host and family.
    const listed = await sharedRead(this.runner, `nft text ${netns ?? ""} ${family}`, async () => {
      try {
        return parseNftListing((await this.runner.run({ argv: ["nft", "list", "table", nftFamily(family), NFT_TABLE], netns })).stdout);
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
    });
    return listed.filter((r) => r.tag === tag).map((r) => canonicalNft(r.chain, r.text));
  }

  canonicalRules(set: TaggedRules): string[] {
    return set.rules.map((rule) => canonicalNft(rule.chain, nftRuleExpression(set.family, rule, set.tag).replace(/ comment "[^"]*"$/, "")));
  }

  async replace(netns: Netns, set: TaggedRules): Promise<void> {
    await this.replaceAll(netns, [set]);
  }

  /** One listing and one transaction for the rules of many resources of one family. */
  async replaceAll(netns: Netns, sets: readonly TaggedRules[]): Promise<void> {
    const [first] = sets;
    if (!first) return;
    if (sets.some((s) => s.family !== first.family)) throw new Error("replaceAll: one family at a time");
    const family = nftFamily(first.family);
    const tags = new Set(sets.map((s) => s.tag));
    // Only new rules to add: nothing to find and delete, so no listing (one process fewer).
    const onlyAdding = sets.every((s) => s.fresh && s.rules.length > 0);
    const existing = onlyAdding ? [] : await this.listRules(netns, first.family);
    const ours = existing.filter((r) => r.comment !== undefined && tags.has(r.comment));
    const others = existing.length - ours.length;
    const adding = sets.flatMap((set) => set.rules.filter((rule) => rule.chain !== "docker_user").map((rule) => ({ rule, set })));
    const lines: string[] = [];
    if (adding.length === 0 && others === 0) {
      // Our last rules are going: the table goes with them (nothing else lives in it).
      if (existing.length > 0) lines.push(`delete table ${family} ${NFT_TABLE}`);
    } else {
      // Declaring the table and chains is idempotent, so every transaction makes sure they exist.
      lines.push(`table ${family} ${NFT_TABLE} {`);
      for (const [chain, declaration] of Object.entries(CHAIN_DECLARATIONS)) if (chain !== "docker_user") lines.push(`  chain ${chain} { ${declaration} }`);
      lines.push("}");
      for (const rule of ours) lines.push(`delete rule ${family} ${NFT_TABLE} ${rule.chain} handle ${rule.handle}`);
      for (const { rule, set } of adding) lines.push(`add rule ${family} ${NFT_TABLE} ${rule.chain} ${nftRuleExpression(set.family, rule, set.tag)}`);
    }
    if (lines.length > 0) await this.runner.run({ argv: ["nft", "-f", "-"], stdin: `${lines.join("\n")}\n`, netns });
    // After our own table: an accept there opens nothing our isolation chains would drop.
    const docker = sets.filter((s) => s.dockerUser || s.rules.some((r) => r.chain === "docker_user"));
    if (docker.length > 0) await replaceDockerUser(this.runner, netns, docker);
  }
}
