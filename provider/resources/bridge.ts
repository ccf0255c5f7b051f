import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addBridge, deleteLink, showLink, type LinkState } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, ownershipOf, refusal, Rollback, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { freshLink, reconcileLink, withoutKept } from "./links";
import { interfaceAddress, interfaceName, isUnknown, macAddress, mtu, netnsName, ownershipTag } from "./validation";

export const bridgeInputs = z.object({
  name: interfaceName,
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  addresses: z.array(interfaceAddress).default([]),
  mtu: mtu.optional(),
  up: z.boolean().default(true),
  /** The bridge's MAC; check fills in one derived from the tag (see stableMac). */
  mac: macAddress.optional(),
  adopt: z.boolean().default(false),
  tag: ownershipTag,
});
export type BridgeInputs = z.infer<typeof bridgeInputs>;

export interface BridgeOutputs extends BridgeInputs {
  readonly ifindex: number;
  /** Addresses the bridge had when it was adopted: not ours, so never removed (and not in `addresses`). */
  readonly keptAddresses?: string[];
  readonly schemaVersion: number;
}

/**
 * A locally administered unicast MAC derived from the tag: a bridge without one takes its
 * lowest port's MAC, so the gateway's MAC would change when that port's container leaves.
 * The same tag gives the same MAC, so a replacement keeps it too.
 */
export function stableMac(tag: string): string {
  const bytes = createHash("sha256").update(tag).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export class BridgeProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(bridgeInputs, news);
    const tag = result.inputs?.tag;
    if (!result.inputs || result.inputs.mac !== undefined || typeof tag !== "string" || isUnknown(tag)) return result;
    return { inputs: { ...result.inputs, mac: stableMac(tag) } };
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const kept = (olds as Partial<BridgeOutputs>).keptAddresses ?? [];
    const addresses = Array.isArray(news.addresses) ? withoutKept(news.addresses as string[], kept) : news.addresses;
    return diffByRules(olds, { ...news, addresses }, [
      { path: "name", change: "replace" },
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "addresses", change: "update" },
      { path: "mtu", change: "update", optional: true },
      { path: "up", change: "update" },
      { path: "mac", change: "update", optional: true },
      { path: "tag", change: "update" },
    ], [["name", "namespace", "host"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = bridgeInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const mac = inputs.mac ?? stableMac(inputs.tag);
    return Rollback.guard(async (rollback) => {
      let current: LinkState;
      let kept: string[] = [];
      try {
        // Create first and look only when the name is taken: one process fewer in the usual case.
        await addBridge(this.runner, where, inputs.name, inputs.mtu, mac);
        rollback.push(() => deleteLink(this.runner, where, inputs.name));
        current = { ...freshLink(inputs.name, inputs.mtu), mac };
      } catch (err) {
        const existing = isExists(err) ? await showLink(this.runner, where, inputs.name) : undefined;
        if (!existing) throw err;
        const ownership = ownershipOf(existing.alias, inputs.tag);
        if (ownership !== "ours" && !inputs.adopt) throw refusal(`link ${inputs.name} in ${describeWhere(where)}`, ownership, existing.alias);
        if (existing.kind !== "bridge") throw new Error(`link ${inputs.name} in ${describeWhere(where)} exists but is a ${existing.kind ?? "plain"} link, not a bridge`);
        current = existing;
        // Adopted: its addresses are someone's configuration, not ours; we only add ours.
        if (ownership !== "ours") kept = existing.addresses;
      }
      const state = await reconcileLink(this.runner, where, current, { ...inputs, mac, alias: inputs.tag, keep: kept });
      return { id: `bridge/${idPart(where)}/${inputs.name}`, outs: this.outputs(inputs, state, kept) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as BridgeOutputs;
    const state = await showLink(this.runner, whereOf(stored.namespace, stored.host), stored.name);
    // A link of that name without our mark is someone else's: ours is gone.
    if (!state || state.alias !== stored.tag) return { id: "", props: {} };
    return { id, props: { ...stored, ...observed(state, stored.keptAddresses ?? []) } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = bridgeInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    const kept = (olds as Partial<BridgeOutputs>).keptAddresses ?? [];
    const current = await showLink(this.runner, where, inputs.name);
    if (!current) throw new Error(`bridge ${inputs.name} in ${describeWhere(where)} is gone; run \`pulumi refresh\` then \`pulumi up\` to recreate it`);
    const state = await reconcileLink(this.runner, where, current, { ...inputs, mac: inputs.mac ?? stableMac(inputs.tag), alias: inputs.tag, keep: kept });
    return { outs: this.outputs(inputs, state, kept) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as BridgeOutputs;
    const where = whereOf(stored.namespace, stored.host);
    // Never delete a link that no longer carries our mark (replaced by someone else's).
    const state = await showLink(this.runner, where, stored.name);
    if (state && state.alias === stored.tag) await deleteLink(this.runner, where, stored.name);
  }

  private outputs(inputs: BridgeInputs, state: LinkState, kept: string[]): BridgeOutputs {
    return { ...inputs, ...observed(state, kept), schemaVersion: SCHEMA_VERSION };
  }
}

/** The fields a refresh takes from the kernel (addresses: those that are ours to manage). */
function observed(state: LinkState, kept: string[]) {
  return { ifindex: state.ifindex, mac: state.mac, mtu: state.mtu, up: state.up, addresses: withoutKept(state.addresses, kept), keptAddresses: kept };
}
