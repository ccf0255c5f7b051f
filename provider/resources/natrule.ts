import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isNotFound, type Runner } from "../exec";
import type { firewall } from "../kernel";
import { checkWith, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { addressOrNetwork, applyRules, countRules, readRuleContents, familyOfAll, firewallChoice, portOrRange, toRange, type BackendName } from "./firewall";
import { interfaceName, ipAddress, isUnknown, netnsName, ownershipTag } from "./validation";

export const natRuleInputs = z
  .object({
    type: z.enum(["masquerade", "snat", "dnat"]),
    source: addressOrNetwork.optional(),
    destination: addressOrNetwork.optional(),
    /** Match everything except this destination (e.g. a bridge's own subnet for masquerade). */
    excludeDestination: addressOrNetwork.optional(),
    outInterface: interfaceName.optional(),
    inInterface: interfaceName.optional(),
    toSource: ipAddress.optional(),
    toDestination: ipAddress.optional(),
    protocol: z.enum(["tcp", "udp"]).optional(),
    destinationPort: portOrRange.optional(),
    toPort: portOrRange.optional(),
    namespace: netnsName.optional(),
    host: netnsName.optional(),
    firewallBackend: firewallChoice,
    tag: ownershipTag.max(120),
  })
  .superRefine((r, ctx) => {
    if (isUnknown(r.type)) return; // what applies depends on the type: judged once it is known
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (r.type !== "snat" && r.toSource) issue("toSource", `toSource applies only to snat, not ${r.type}`);
    if (r.type === "snat" && !r.toSource) issue("toSource", "snat needs toSource (the address to rewrite the source to)");
    if (r.type !== "dnat" && (r.toDestination || r.toPort)) issue(r.toDestination ? "toDestination" : "toPort", `toDestination and toPort apply only to dnat, not ${r.type}`);
    if (r.type === "dnat" && !r.toDestination) issue("toDestination", "dnat needs toDestination (the address to rewrite the destination to)");
    if (r.type === "dnat" && r.outInterface) issue("outInterface", "dnat happens before routing: match inInterface, not outInterface");
    if (r.type !== "dnat" && r.inInterface) issue("inInterface", `${r.type} happens after routing: match outInterface, not inInterface`);
    if ((r.destinationPort !== undefined || r.toPort !== undefined) && !r.protocol) issue("protocol", "ports need a protocol (tcp or udp)");
    try {
      familyOfAll([r.source, r.destination, r.excludeDestination, r.toSource, r.toDestination]);
    } catch (err) {
      issue("source", (err as Error).message);
    }
  });
export type NatRuleInputs = z.infer<typeof natRuleInputs>;

export interface NatRuleOutputs extends NatRuleInputs {
  readonly backend: BackendName;
  readonly family: firewall.IpFamily;
  /** Rules carrying this resource's tag in the kernel (refresh reads it; fewer than planned is drift). */
  readonly ruleCount: number;
  readonly schemaVersion: number;
}

/** The rules a NatRule stands for: the NAT rule itself and forward-chain accepts for its traffic. */
export function natRules(r: NatRuleInputs): firewall.TaggedRules {
  const family = familyOfAll([r.source, r.destination, r.excludeDestination, r.toSource, r.toDestination]);
  const ports = { protocol: r.protocol, destinationPort: r.destinationPort === undefined ? undefined : toRange(r.destinationPort) };
  const rules: firewall.FirewallRule[] = [];
  if (r.type === "dnat") {
    rules.push({
      chain: "prerouting",
      match: { source: r.source, destination: r.destination, notDestination: r.excludeDestination, inInterface: r.inInterface, ...ports },
      action: { kind: "dnat", to: r.toDestination!, port: r.toPort === undefined ? undefined : toRange(r.toPort) },
    });
    const forwardedPort = r.toPort ?? r.destinationPort;
    rules.push({ chain: "forward", match: { destination: r.toDestination, protocol: r.protocol, destinationPort: forwardedPort === undefined ? undefined : toRange(forwardedPort) }, action: { kind: "accept" } });
  } else {
    const match = { source: r.source, destination: r.destination, notDestination: r.excludeDestination, outInterface: r.outInterface, ...ports };
    rules.push({ chain: "postrouting", match, action: r.type === "snat" ? { kind: "snat", to: r.toSource! } : { kind: "masquerade" } });
    if (r.source) {
      rules.push({ chain: "forward", match: { source: r.source, outInterface: r.outInterface }, action: { kind: "accept" } });
      rules.push({ chain: "forward", match: { destination: r.source, established: true }, action: { kind: "accept" } });
    }
  }
  return { tag: r.tag, family, rules };
}

/** A NAT rule (masquerade, SNAT or DNAT) in our own nftables table or iptables chains. */
export class NatRuleProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(natRuleInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const result = diffByRules(olds, news, [
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "firewallBackend", change: "replace" },
      ...(["type", "source", "destination", "excludeDestination", "outInterface", "inInterface", "toSource", "toDestination", "protocol", "destinationPort", "toPort", "tag"] as const).map((path) => ({ path, change: "update" as const })),
    ], []);
    return repairsDrift(result, olds, news, natRuleInputs, natRules);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = natRuleInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const set = natRules(inputs);
    const backend = await applyRules(this.runner, where, inputs.firewallBackend, set);
    const outs: NatRuleOutputs = { ...inputs, backend, family: set.family, ruleCount: set.rules.length, schemaVersion: SCHEMA_VERSION };
    return { id: `nat/${idPart(where)}/${inputs.tag}`, outs };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = natRuleInputs.safeParse(props);
    return readRules(this.runner, id, props as unknown as TaggedOutputs, stored.success ? natRules(stored.data) : undefined);
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const before = olds as unknown as NatRuleOutputs;
    const inputs = natRuleInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    const set = natRules(inputs);
    await moveRules(this.runner, where, before, set);
    return { outs: { ...inputs, backend: before.backend, family: set.family, ruleCount: set.rules.length, schemaVersion: SCHEMA_VERSION } };
  }

  async delete(_id: string, props: Props): Promise<void> {
    await deleteRules(this.runner, props as unknown as TaggedOutputs);
  }
}

/** What the shared read/update/delete helpers need from a firewall resource's outputs. */
export interface TaggedOutputs {
  readonly namespace?: string;
  readonly host?: string;
  readonly tag: string;
  readonly backend: BackendName;
  readonly family: firewall.IpFamily;
  readonly ruleCount: number;
  /** Rules refresh found edited (or extra, or missing) against the planned ones; absent when none. */
  readonly rulesDrifted?: number;
}

/**
 * Refresh: gone when none of our rules remain; a partial set shows as a changed ruleCount, and
 * rules edited by hand (the count unchanged) as `rulesDrifted`, the number that differ from
 * the rules `planned` for the stored inputs (when given and this version can read them).
 */
export async function readRules(runner: Runner, id: string, stored: TaggedOutputs, planned?: firewall.TaggedRules): Promise<pulumi.dynamic.ReadResult> {
  const where = whereOf(stored.namespace, stored.host);
  const { rulesDrifted: _, ...rest } = stored;
  let seen: { count: number; drifted: number };
  try {
    seen = planned ? await readRuleContents(runner, where, stored.backend, [planned]) : { count: await countRules(runner, where, stored.backend, stored.family, stored.tag), drifted: 0 };
  } catch (err) {
    if (isNotFound(err)) return { id: "", props: {} };
    throw err;
  }
  if (seen.count === 0) return { id: "", props: {} };
  return { id, props: { ...rest, ruleCount: seen.count, ...(seen.drifted ? { rulesDrifted: seen.drifted } : {}) } };
}

/** Replaces the rules in place; when the family changed, the old family's rules go first. */
export async function moveRules(runner: Runner, where: ReturnType<typeof whereOf>, before: TaggedOutputs, set: firewall.TaggedRules): Promise<void> {
  if (before.family !== set.family || before.tag !== set.tag) {
    await applyRules(runner, where, before.backend, { tag: before.tag, family: before.family, rules: [] });
  }
  await applyRules(runner, where, before.backend, set);
}

export async function deleteRules(runner: Runner, stored: TaggedOutputs): Promise<void> {
  try {
    await applyRules(runner, whereOf(stored.namespace, stored.host), stored.backend, { tag: stored.tag, family: stored.family, rules: [] });
  } catch (err) {
    if (!isNotFound(err)) throw err; // the namespace is gone, and our rules with it
  }
}

/** A refresh that found fewer rules than planned makes the next `up` an update that restores them. */
export function repairsDrift<T extends z.ZodTypeAny>(
  result: pulumi.dynamic.DiffResult,
  olds: Props,
  news: Props,
  schema: T,
  plan: (inputs: z.infer<T>) => firewall.TaggedRules,
): pulumi.dynamic.DiffResult {
  if (result.changes) return result;
  const parsed = schema.safeParse(news);
  if (!parsed.success) return result;
  const planned = plan(parsed.data).rules.length;
  const edited = typeof olds.rulesDrifted === "number" && olds.rulesDrifted > 0;
  return olds.ruleCount === planned && !edited ? result : { ...result, changes: true };
}
