import { CommandError, type Runner } from "../../exec";
import type { Netns } from "../ip";
import { iptablesRuleArgs } from "./iptables";
import { DOCKER_USER, type IpFamily, type TaggedRules } from "./types";

/**
 * Docker's DOCKER-USER chain, seen from the nftables backend. Our nft table cannot accept for
 * iptables: a packet passes the forward hook only if every base chain there accepts it, and
 * Docker's `filter FORWARD` (iptables-nft's or legacy x_tables) ends in policy DROP. Docker
 * documents DOCKER-USER as the place for the administrator's rules (it is jumped to first and
 * Docker never writes there), so our accepts go there, tagged, through `iptables-restore
 * --noflush`: one transaction per change, nothing else in the chain is touched.
 */

function tools(family: IpFamily): { cli: string; restore: string } {
  return family === "ipv4" ? { cli: "iptables", restore: "iptables-restore" } : { cli: "ip6tables", restore: "ip6tables-restore" };
}

/** Whether iptables said the chain (or the table) does not exist; iptables-nft says "incompatible" of a chain it cannot find in an empty ruleset. */
function isMissingChain(err: unknown): boolean {
  return err instanceof CommandError && /No chain|does not exist|can.t initialize|Table does not exist|is incompatible/i.test(err.stderr);
}

/**
 * The `-A DOCKER-USER` lines as `iptables -S` prints them, or undefined when there is no such
 * chain (no Docker) or no iptables at all.
 */
export async function dockerUserLines(runner: Runner, netns: Netns, family: IpFamily): Promise<string[] | undefined> {
  try {
    const { stdout } = await runner.run({ argv: [tools(family).cli, "-w", "-t", "filter", "-S", DOCKER_USER], netns });
    return stdout.split("\n").filter((line) => line.startsWith(`-A ${DOCKER_USER} `));
  } catch (err) {
    if (isMissingChain(err) || (err instanceof Error && /ENOENT|not found|No such file or directory/i.test(err.message))) return undefined;
    throw err;
  }
}

/** `iptables -S FORWARD`'s policy (ACCEPT, DROP), or undefined when iptables cannot be read here. */
export async function forwardPolicy(runner: Runner, netns: Netns, family: IpFamily): Promise<string | undefined> {
  try {
    const { stdout } = await runner.run({ argv: [tools(family).cli, "-w", "-t", "filter", "-S", "FORWARD"], netns });
    return /^-P FORWARD (\S+)/m.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

/** Our rules in DOCKER-USER carrying `tag`. */
export function taggedLines(lines: readonly string[], tag: string): string[] {
  return lines.filter((line) => line.includes(`--comment "${tag}"`));
}

/**
 * The iptables-restore script (filter table) that makes the DOCKER-USER rules of `sets`' tags
 * exactly theirs: ours deleted, then the new ones inserted at the chain's top in order (before
 * Docker's or the admin's own, such as a final RETURN). Empty when there is nothing to do.
 */
export function dockerUserScript(existing: readonly string[], sets: readonly TaggedRules[]): string[] {
  const deletions = sets.flatMap((set) => taggedLines(existing, set.tag)).map((line) => `-D${line.slice(2)}`);
  const additions = sets.flatMap((set) => set.rules.filter((r) => r.chain === "docker_user").map((rule) => iptablesRuleArgs(set.family, rule, set.tag)));
  if (deletions.length === 0 && additions.length === 0) return [];
  return ["*filter", ...deletions, ...additions.map((args, i) => [`-I`, DOCKER_USER, String(i + 1), ...args].join(" ")), "COMMIT"];
}

/** Makes the DOCKER-USER rules of `sets` (one family) theirs, for the nftables backend. */
export async function replaceDockerUser(runner: Runner, netns: Netns, sets: readonly TaggedRules[]): Promise<void> {
  const [first] = sets;
  if (!first) return;
  const wanted = sets.some((s) => s.rules.some((r) => r.chain === "docker_user"));
  const existing = await dockerUserLines(runner, netns, first.family);
  if (existing === undefined) {
    if (wanted) throw new Error(`${tools(first.family).cli} has no ${DOCKER_USER} chain here any more (was Docker stopped or removed?): run \`pulumi up\` again, its preview reads the host anew`);
    return;
  }
  const script = dockerUserScript(existing, sets);
  if (script.length === 0) return;
  await runner.run({ argv: [tools(first.family).restore, "-w", "--noflush"], stdin: `${script.join("\n")}\n`, netns });
}
