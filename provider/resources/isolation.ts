import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isNotFound, type Runner } from "../exec";
import { firewall } from "../kernel";
import { checkWith, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { dockerHostIssue, dockerUserRules, type DockerUserPlan } from "./docker-user";
import { applyRules, countRules, firewallChoice, type BackendName } from "./firewall";
import { moveRules, repairsDrift, type TaggedOutputs } from "./natrule";
import { interfaceName, isUnknown, netnsName, ownershipTag } from "./validation";

export const isolationInputs = z
  .object({
    /** The isolated network's bridge. */
    bridge: interfaceName,
    /** Bridges whose containers may open connections into this one (replies flow back either way). */
    allowFrom: z.array(interfaceName).default([]),
    /** The family whose traffic is isolated (default ipv4); a dual-stack network has one of each. */
    family: z.enum(["ipv4", "ipv6"]).optional(),
    /**
     * nat (Docker 28's default gateway mode): new connections from any other interface into
     * the bridge are dropped unless destination-NATed (a published port); routed: only the
     * other isolated networks are kept out. Unset: routed, what an isolation made before
     * gateway modes did (the SDK sets nat).
     */
    gatewayMode: z.enum(["nat", "routed"]).optional(),
    /** Keep this network's containers out of the other isolated networks (stage one); unset: true. */
    isolate: z.boolean().optional(),
    /**
     * Docker's DOCKER-USER rules of this network, decided by check from the host (Docker's
     * chain present or not) and shown at preview; not an input of the program.
     */
    dockerUser: z.object({ backend: z.enum(["nftables", "iptables"]), rules: z.array(z.string()) }).optional(),
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
 * In routed mode, interfaces that are not isolated networks' bridges (the uplink) are matched
 * by neither stage; in NAT mode, a new connection from any other interface also goes to this
 * bridge's stage two (Docker 28's `! -i br -o br -j DROP`). With Docker on the host, the
 * network's DOCKER-USER rules follow (see docker-user.ts).
 */
export function isolationRules(i: IsolationInputs): firewall.TaggedRules {
  const nat = i.gatewayMode === "nat";
  const stageOne = i.isolate ?? true;
  const newNotNatted = { dnatted: false, established: false } as const;
  const rules: firewall.FirewallRule[] = [
    ...(stageOne ? [{ chain: "isolation", match: { inInterface: i.bridge, notOutInterface: i.bridge, ...newNotNatted }, action: { kind: "jump", chain: "isolation_targets" } } as const] : []),
    // NAT gateway mode: what arrives from anywhere else (the LAN by direct routing included)
    // meets the network's stage two, as a new connection from another network does.
    ...(nat ? [{ chain: "isolation", match: { notInInterface: i.bridge, outInterface: i.bridge, ...newNotNatted }, action: { kind: "jump", chain: "isolation_targets" } } as const] : []),
    // Before the drop, in one transaction: rules of one tag keep their order.
    ...i.allowFrom.map((from): firewall.FirewallRule => ({ chain: "isolation_targets", match: { inInterface: from, outInterface: i.bridge }, action: { kind: "return" } })),
    { chain: "isolation_targets", match: { outInterface: i.bridge }, action: { kind: "drop" } },
    ...(i.dockerUser ? dockerUserRules(i.bridge, nat, i.dockerUser.backend) : []),
  ];
  return { tag: i.tag, family: i.family ?? "ipv4", rules, dockerUser: i.dockerUser !== undefined };
}

/** A bridge network's isolation from the other isolated networks on its host (and, in NAT mode, from everything else), with declared exceptions. */
export class IsolationProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(isolationInputs, { ...news, dockerUser: undefined });
    const known = isolationInputs.safeParse(result.inputs ?? {});
    if (result.failures?.length || !known.success) return result;
    // The host decides: Docker's chain there (or a FORWARD policy that would drop us).
    const plan: DockerUserPlan = await dockerHostIssue(this.runner, whereOf(undefined, known.data.host), known.data);
    if (plan.issue) return { failures: [{ property: "bridge", reason: plan.issue }] };
    return { inputs: { ...result.inputs, dockerUser: plan.dockerUser } };
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const result = diffByRules(olds, news, [
      { path: "host", change: "replace" },
      { path: "firewallBackend", change: "replace" },
      // Unset is IPv4, which every isolation made before IPv6 networks is.
      { path: "family", change: "replace", optional: true },
      ...(["bridge", "allowFrom", "tag", "gatewayMode", "isolate", "dockerUser"] as const).map((path) => ({ path, change: "update" as const })),
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
    const stored = props as unknown as IsolationOutputs;
    let count: number;
    try {
      count = await countRules(this.runner, whereOf(undefined, stored.host), stored.backend, stored.family, stored.tag, stored.dockerUser !== undefined);
    } catch (err) {
      if (isNotFound(err)) return { id: "", props: {} };
      throw err;
    }
    return count === 0 ? { id: "", props: {} } : { id, props: { ...stored, ruleCount: count } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const before = olds as unknown as IsolationOutputs;
    const inputs = isolationInputs.parse(news);
    // Rules of the old plan in DOCKER-USER go too, when the new plan has none there.
    const set = { ...isolationRules(inputs), dockerUser: before.dockerUser !== undefined || inputs.dockerUser !== undefined };
    await moveRules(this.runner, whereOf(undefined, inputs.host), before, set);
    return { outs: outputsOf(inputs, before.backend, set) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as IsolationOutputs;
    try {
      await applyRules(this.runner, whereOf(undefined, stored.host), stored.backend, { tag: stored.tag, family: stored.family, rules: [], dockerUser: stored.dockerUser !== undefined });
    } catch (err) {
      if (!isNotFound(err)) throw err; // the namespace is gone, and our rules with it
    }
  }
}

function outputsOf(inputs: IsolationInputs, backend: BackendName, set: firewall.TaggedRules): IsolationOutputs {
  return { ...inputs, backend, family: set.family, ruleCount: set.rules.length, schemaVersion: SCHEMA_VERSION };
}
