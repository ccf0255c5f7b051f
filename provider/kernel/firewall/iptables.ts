import { isExists, isNotFound, type Runner } from "../../exec";
import type { Netns } from "../ip";
import { sharedRead } from "../shared";
import { canonicalAddresses, DOCKER_USER, formatPorts, type Chain, type FirewallBackend, type FirewallRule, type ForwardSummary, type HostPortListener, type IpFamily, type Protocol, type TaggedRules } from "./types";

/**
 * Our chains and the built-in chain of each table that jumps to them (appended, or `first`:
 * inserted at the top, so that its drops come before any accept). A chain without `builtin`
 * is jumped to only from another of ours. In creation order: a jump's target exists first.
 */
const CHAINS: Record<Chain, { table: "nat" | "filter"; name: string; builtin?: string; first?: boolean; foreign?: boolean }> = {
  prerouting: { table: "nat", name: "HOSTNET-PREROUTING", builtin: "PREROUTING" },
  output: { table: "nat", name: "HOSTNET-OUTPUT", builtin: "OUTPUT" },
  postrouting: { table: "nat", name: "HOSTNET-POSTROUTING", builtin: "POSTROUTING" },
  forward: { table: "filter", name: "HOSTNET-FORWARD", builtin: "FORWARD" },
  isolation_targets: { table: "filter", name: "HOSTNET-ISOLATION-TARGETS" },
  isolation: { table: "filter", name: "HOSTNET-ISOLATION", builtin: "FORWARD", first: true },
  // Docker's: never made nor removed by us; only our tagged rules in it are ours.
  docker_user: { table: "filter", name: DOCKER_USER, foreign: true },
};

/** Our tags' prefix: a DOCKER-USER rule carrying it is ours (see ownershipTag). */
const OUR_COMMENT = '--comment "hostnet:';
const TABLES = ["nat", "filter"] as const;
type Table = (typeof TABLES)[number];

function binaries(family: IpFamily): { cli: string; restore: string } {
  return family === "ipv4" ? { cli: "iptables", restore: "iptables-restore" } : { cli: "ip6tables", restore: "ip6tables-restore" };
}

/** One rule as iptables arguments (after `-A CHAIN`), in the order `iptables -S` prints them. */
export function iptablesRuleArgs(family: IpFamily, rule: FirewallRule, tag: string): string[] {
  const m = rule.match;
  const args: string[] = [];
  if (m.source) args.push("-s", m.source);
  if (m.destination) args.push("-d", m.destination);
  if (m.notDestination) args.push("!", "-d", m.notDestination);
  if (m.inInterface) args.push("-i", m.inInterface);
  if (m.notInInterface) args.push("!", "-i", m.notInInterface);
  if (m.outInterface) args.push("-o", m.outInterface);
  if (m.notOutInterface) args.push("!", "-o", m.notOutInterface);
  if (m.protocol) args.push("-p", m.protocol, "-m", m.protocol);
  if (m.protocol && m.destinationPort) args.push("--dport", formatPorts(m.destinationPort, ":"));
  if (m.localDestination) args.push("-m", "addrtype", "--dst-type", "LOCAL");
  const not = (yes: boolean) => (yes ? [] : ["!"]);
  if (m.dnatted !== undefined) args.push("-m", "conntrack", ...not(m.dnatted), "--ctstate", "DNAT");
  if (m.established !== undefined) args.push("-m", "conntrack", ...not(m.established), "--ctstate", "RELATED,ESTABLISHED");
  args.push("-m", "comment", "--comment", `"${tag}"`);
  const a = rule.action;
  switch (a.kind) {
    case "masquerade":
      args.push("-j", "MASQUERADE");
      break;
    case "snat":
      args.push("-j", "SNAT", "--to-source", a.to);
      break;
    case "dnat": {
      const to = family === "ipv6" && a.port ? `[${a.to}]` : a.to;
      args.push("-j", "DNAT", "--to-destination", `${to}${a.port ? `:${formatPorts(a.port)}` : ""}`);
      break;
    }
    case "accept":
    case "drop":
    case "return":
      args.push("-j", a.kind.toUpperCase());
      break;
    case "jump":
      args.push("-j", CHAINS[a.chain].name);
      break;
  }
  return args;
}

/** The host ports of our DNAT rules, from `iptables -S` lines of our prerouting chain. */
export function parseIptablesListeners(lines: readonly string[]): HostPortListener[] {
  return lines.flatMap((line) => {
    if (!line.startsWith(`-A ${CHAINS.prerouting.name} `) || !line.includes(" -j DNAT")) return [];
    const protocol = / -p (tcp|udp)\b/.exec(line)?.[1] as Protocol | undefined;
    const ports = / --dport (\d+)(?::(\d+))?/.exec(line);
    const tag = / --comment "?([^"\s]+)"?/.exec(line)?.[1];
    if (!protocol || !ports || !tag) return [];
    const from = Number(ports[1]);
    // iptables prints a host address with its full prefix: 10.200.0.1/32.
    const address = / -d ([0-9A-Fa-f:.]+)\/(?:32|128)\b/.exec(line)?.[1];
    return [{ protocol, ports: { from, to: ports[2] ? Number(ports[2]) : from }, hostAddress: address, tag }];
  });
}

/**
 * One `-A` line in canonical text: the comment left out, host addresses without the /32 or
 * /128 that `iptables -S` adds, IPv6 in one spelling.
 */
function canonicalIptables(line: string): string {
  const text = line
    .replace(/ -m comment --comment (?:"[^"]*"|\S+)/, "")
    .replace(/( -[sd] [0-9A-Fa-f:.]+)\/(?:32|128)(?=\s|$)/g, "$1");
  return canonicalAddresses(text).replace(/\s+/g, " ").trim();
}

/**
 * The iptables backend (iptables-nft or legacy, whichever `iptables` is): our own chains,
 * jumped to from the built-in ones; each table changed in one `iptables-restore --noflush`
 * transaction; `-w` waits for the xtables lock.
 */
export class IptablesBackend implements FirewallBackend {
  readonly name = "iptables";

  constructor(readonly runner: Runner) {}

  /** `-A` lines of our chains in one table, and our tagged ones in DOCKER-USER, as `iptables -S` prints them. */
  private async listOurs(netns: Netns, family: IpFamily, table: Table): Promise<string[]> {
    const { stdout } = await this.runner.run({ argv: [binaries(family).cli, "-w", "-t", table, "-S"], netns });
    const ours = new Set(Object.values(CHAINS).filter((c) => !c.foreign).map((c) => c.name));
    return stdout.split("\n").filter((line) => {
      if (!line.startsWith("-A ")) return false;
      const chain = line.split(" ")[1] ?? "";
      return ours.has(chain) || (chain === DOCKER_USER && line.includes(OUR_COMMENT));
    });
  }

  async forwards(netns: Netns): Promise<ForwardSummary[]> {
    const lines = await this.listOurs(netns, "ipv4", "nat");
    return lines.flatMap((line) => {
      const m = /^-A HOSTNET-PREROUTING .*-p (tcp|udp) .*--dport (\S+) .*--comment "([^"]+)" -j DNAT --to-destination (\S+)/.exec(line);
      return m ? [{ protocol: m[1] as Protocol, ports: (m[2] ?? "").replace(":", "-"), to: m[4] ?? "", tag: m[3] ?? "" }] : [];
    });
  }

  async tags(netns: Netns, family: IpFamily): Promise<string[]> {
    const found = new Set<string>();
    try {
      for (const table of TABLES) {
        for (const line of await this.listOurs(netns, family, table)) {
          const tag = /--comment "([^"]+)"/.exec(line)?.[1];
          if (tag) found.add(tag);
        }
      }
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return [...found];
  }

  async listeners(netns: Netns, family: IpFamily): Promise<HostPortListener[]> {
    return parseIptablesListeners(await this.listOurs(netns, family, "nat"));
  }

  async taggedRules(netns: Netns, family: IpFamily, tag: string): Promise<string[]> {
    const found: string[] = [];
    for (const table of TABLES) {
      let lines: string[];
      try {
        // A refresh reads every firewall resource at once: they share one listing per host, family and table.
        lines = await sharedRead(this.runner, `iptables ${netns ?? ""} ${family} ${table}`, () => this.listOurs(netns, family, table));
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
      found.push(...lines.filter((line) => line.includes(`--comment "${tag}"`) || line.includes(`--comment ${tag} `)).map(canonicalIptables));
    }
    return found;
  }

  canonicalRules(set: TaggedRules): string[] {
    return set.rules.map((rule) => canonicalIptables(["-A", CHAINS[rule.chain].name, ...iptablesRuleArgs(set.family, rule, set.tag)].join(" ")));
  }

  async count(netns: Netns, family: IpFamily, tag: string): Promise<number> {
    let total = 0;
    for (const table of TABLES) total += (await this.listOurs(netns, family, table)).filter((line) => line.includes(`--comment "${tag}"`)).length;
    return total;
  }

  /** iptables has no cheap way to merge resources' changes: one after the other. */
  async replaceAll(netns: Netns, sets: readonly TaggedRules[]): Promise<void> {
    for (const set of sets) await this.replace(netns, set);
  }

  async replace(netns: Netns, set: TaggedRules): Promise<void> {
    const { cli, restore } = binaries(set.family);
    const run = (args: string[]) => this.runner.run({ argv: [cli, "-w", ...args], netns });
    if (set.rules.some((r) => !CHAINS[r.chain].foreign)) {
      for (const chain of Object.values(CHAINS).filter((c) => !c.foreign)) {
        try {
          await run(["-t", chain.table, "-N", chain.name]);
        } catch (err) {
          if (!isExists(err)) throw err;
        }
        if (!chain.builtin) continue;
        try {
          await run(["-t", chain.table, "-C", chain.builtin, "-j", chain.name]);
        } catch {
          await run(["-t", chain.table, ...(chain.first ? ["-I", chain.builtin, "1"] : ["-A", chain.builtin]), "-j", chain.name]);
        }
      }
    }
    let remaining = 0;
    for (const table of TABLES) {
      const existing = await this.listOurs(netns, set.family, table);
      const ours = existing.filter((line) => line.includes(`--comment "${set.tag}"`));
      // Other tags' rules in DOCKER-USER keep no chain of ours alive.
      remaining += existing.filter((line) => !line.includes(`--comment "${set.tag}"`) && !line.startsWith(`-A ${DOCKER_USER} `)).length;
      const additions = set.rules.filter((r) => CHAINS[r.chain].table === table);
      if (ours.length === 0 && additions.length === 0) continue;
      let dockerUserPosition = 0;
      const script = [
        `*${table}`,
        ...ours.map((line) => `-D${line.slice(2)}`),
        // DOCKER-USER's own rules (its RETURN, the admin's) come after ours: inserted at its top, in order.
        ...additions.map((rule) =>
          [...(CHAINS[rule.chain].foreign ? ["-I", CHAINS[rule.chain].name, String(++dockerUserPosition)] : ["-A", CHAINS[rule.chain].name]), ...iptablesRuleArgs(set.family, rule, set.tag)].join(" "),
        ),
        "COMMIT",
      ];
      await this.runner.run({ argv: [restore, "-w", "--noflush"], stdin: `${script.join("\n")}\n`, netns });
    }
    if (set.rules.length === 0 && remaining === 0) await this.removeChains(netns, set.family);
  }

  /** Our last rule is gone: remove the jumps and our chains, leaving the tables as we found them. */
  private async removeChains(netns: Netns, family: IpFamily): Promise<void> {
    const { cli } = binaries(family);
    const run = (args: string[]) => this.runner.run({ argv: [cli, "-w", ...args], netns });
    const { stdout: nat } = await run(["-t", "nat", "-S"]);
    const { stdout: filter } = await run(["-t", "filter", "-S"]);
    const listed = `${nat}\n${filter}`;
    // Jumps first, then chains, the jumping ones before the ones they jump to.
    for (const chain of Object.values(CHAINS).filter((c) => !c.foreign).reverse()) {
      if (chain.builtin && listed.includes(`-A ${chain.builtin} -j ${chain.name}`)) await run(["-t", chain.table, "-D", chain.builtin, "-j", chain.name]);
      if (listed.includes(`-N ${chain.name}`)) await run(["-t", chain.table, "-X", chain.name]);
    }
  }
}
