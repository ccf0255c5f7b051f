import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Runner } from "../exec";
import type { firewall } from "../kernel";
import { checkWith, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { applyRules, firewallChoice, type BackendName } from "./firewall";
import { deleteRules, moveRules, readRules, repairsDrift, type TaggedOutputs } from "./natrule";
import { interfaceName, isUnknown, netnsName, ownershipTag } from "./validation";

export const isolationInputs = z
  .object({
    /** The isolated network's bridge. */
    bridge: interfaceName,
    /** Bridges whose containers may open connections into this one (replies flow back either way). */
    allowFrom: z.array(interfaceName).default([]),
    /** The family whose traffic is isolated (default ipv4); a dual-stack network has one of each. */
    family: z.enum(["ipv4", "ipv6"]).optional(),
    host: netnsName.optional(),
    firewallBackend: firewallChoice,
    tag: ownershipTag.max(120),
  })
  .superRefine((i, ctx) => {
    if (isUnknown(i.bridge) || !Array.isArray(i.allowFrom)) return;
    for (const [index, from] of i.allowFrom.entries()) {
      if (from === i.bridge) ctx.addIssue({ code: "custom", path: ["allowFrom", index], message: `${from} is the network's own bridge: its containers always reach each other` });
    }
  });
export type IsolationInputs = z.infer<typeof isolationInputs>;

export interface IsolationOutputs extends Omit<IsolationInputs, "family">, Omit<TaggedOutputs, "host" | "tag"> {
  readonly schemaVersion: number;
}

/**
 * Docker's two isolation stages, one bridge's share of them. Stage one (`isolation`): a new
 * connection leaving this bridge for another interface, not destination-NATed (a published
 * port stays reachable from anywhere), goes on to stage two. Stage two (`isolation_targets`):
 * what arrives at this bridge from an allowed bridge goes back; the rest is dropped. Together
 * with every other isolated network's share: no new connection from one of them into another.
 * Interfaces that are not isolated networks' bridges (the uplink) are matched by neither stage.
 */
export function isolationRules(i: IsolationInputs): firewall.TaggedRules {
  const rules: firewall.FirewallRule[] = [
    { chain: "isolation", match: { inInterface: i.bridge, notOutInterface: i.bridge, dnatted: false, established: false }, action: { kind: "jump", chain: "isolation_targets" } },
    // Before the drop, in one transaction: rules of one tag keep their order.
    ...i.allowFrom.map((from): firewall.FirewallRule => ({ chain: "isolation_targets", match: { inInterface: from, outInterface: i.bridge }, action: { kind: "return" } })),
    { chain: "isolation_targets", match: { outInterface: i.bridge }, action: { kind: "drop" } },
  ];
  return { tag: i.tag, family: i.family ?? "ipv4", rules };
}

/** A bridge network's isolation from the other isolated networks on its host, with declared exceptions. */
export class IsolationProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(isolationInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const result = diffByRules(olds, news, [
      { path: "host", change: "replace" },
      { path: "firewallBackend", change: "replace" },
      // Unset is IPv4, which every isolation made before IPv6 networks is.
      { path: "family", change: "replace", optional: true },
      ...(["bridge", "allowFrom", "tag"] as const).map((path) => ({ path, change: "update" as const })),
    ], []);
    return repairsDrift(result, olds, news, isolationInputs, isolationRules);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = isolationInputs.parse(raw);
    const set = isolationRules(inputs);
    const backend = await applyRules(this.runner, whereOf(undefined, inputs.host), inputs.firewallBackend, set);
    return { id: `isolation/${idPart(inputs.host)}/${inputs.tag}`, outs: outputsOf(inputs, backend, set) };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    return readRules(this.runner, id, props as unknown as IsolationOutputs);
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const before = olds as unknown as IsolationOutputs;
    const inputs = isolationInputs.parse(news);
    const set = isolationRules(inputs);
    await moveRules(this.runner, whereOf(undefined, inputs.host), before, set);
    return { outs: outputsOf(inputs, before.backend, set) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    await deleteRules(this.runner, props as unknown as IsolationOutputs);
  }
}

function outputsOf(inputs: IsolationInputs, backend: BackendName, set: firewall.TaggedRules): IsolationOutputs {
  return { ...inputs, backend, family: set.family, ruleCount: set.rules.length, schemaVersion: SCHEMA_VERSION };
}
