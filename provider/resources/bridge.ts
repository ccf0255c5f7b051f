import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addBridge, deleteLink, showLink, type LinkState } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, neverTaken, Rollback, SCHEMA_VERSION, takeOver, whereOf, type Props } from "./common";
import { freshLink, reconcileLink, withoutKept } from "./links";
import { occupancyOf, otherOwnerOf, placeOf, subnetClashes, tagsOf } from "./claims";
import { canonicalInterfaceAddress, interfaceAddress, interfaceName, isUnknown, macAddress, mtu, netnsName, networkCidr, ownershipTag } from "./validation";

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
  /**
   * A bridge someone else made (docker0, virbr0): used as it is, never made, changed nor
   * deleted; `addresses` must already be on it.
   */
  existing: z.boolean().default(false),
  /**
   * The network the bridge carries (set by BridgeNetwork and OverlayNetwork): its name, for
   * messages, and its subnets, which check refuses where they overlap an address or a route
   * already in the netns, or another stack's network. Unset: no such check (a plain Bridge).
   */
  network: z.object({ name: z.string().min(1), subnets: z.array(networkCidr) }).optional(),
  tag: ownershipTag,
}).superRefine((b, ctx) => {
  if (!b.existing) return;
  for (const field of ["adopt", "mac", "mtu"] as const) {
    if (b[field] !== undefined && b[field] !== false) ctx.addIssue({ code: "custom", path: [field], message: `${field} cannot be set on an existing bridge: it is used as it is, not changed` });
  }
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

  async check(olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(bridgeInputs, news);
    const known = bridgeInputs.safeParse(result.inputs ?? {});
    if (known.success && known.data.existing) {
      // Preview already says when it is not there: nothing is made on a bridge that is missing.
      const before = olds as Partial<BridgeInputs>;
      const seenBefore = before.existing === true && before.name === known.data.name && before.host === known.data.host && before.namespace === known.data.namespace;
      const problem = seenBefore ? undefined : await existingBridgeProblem(this.runner, known.data);
      return problem ? { failures: [{ property: "name", reason: problem }] } : result;
    }
    const clashes = known.success ? await this.clashes(olds, known.data) : [];
    if (clashes.length) return { failures: clashes };
    const tag = result.inputs?.tag;
    if (!result.inputs || result.inputs.mac !== undefined || typeof tag !== "string" || isUnknown(tag)) return result;
    return { inputs: { ...result.inputs, mac: stableMac(tag) } };
  }

  /**
   * What preview can tell from the kernel: the name taken by another owner's link, and the
   * network's subnets overlapping what the netns already holds (one shared read per netns).
   */
  private async clashes(olds: Props, inputs: BridgeInputs): Promise<pulumi.dynamic.CheckFailure[]> {
    if (isUnknown(inputs.name) || isUnknown(inputs.tag)) return [];
    const where = whereOf(inputs.namespace, inputs.host);
    const occupancy = await occupancyOf(this.runner, where);
    if (!occupancy) return [];
    const self = { name: inputs.name, tags: tagsOf(inputs, olds), adopt: inputs.adopt };
    const place = placeOf(this.runner, where);
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const owner = otherOwnerOf(occupancy.links.find((l) => l.name === inputs.name), self);
    if (owner) failures.push({ property: "name", reason: neverTaken(`link ${inputs.name} ${place}`, owner) });
    const network = inputs.network;
    if (network) failures.push(...subnetClashes(network.name, network.subnets, occupancy, self, place).map((reason) => ({ property: "addresses", reason })));
    return failures;
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
      { path: "existing", change: "replace" },
    ], [["name", "namespace", "host"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = bridgeInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const mac = inputs.mac ?? stableMac(inputs.tag);
    if (inputs.existing) {
      const state = await showLink(this.runner, where, inputs.name);
      const problem = existingBridgeIssue(inputs, state);
      if (problem || !state) throw new Error(problem);
      return { id: `bridge/${idPart(where)}/${inputs.name}`, outs: this.outputs(inputs, state, []) };
    }
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
        const ownership = takeOver(`link ${inputs.name} in ${describeWhere(where)}`, existing.alias, inputs.tag, inputs.adopt);
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
    // An existing bridge is used as long as it is there; it never carries our mark.
    if (stored.existing) return !state || state.kind !== "bridge" ? { id: "", props: {} } : { id, props: { ...stored, ...observed(state, []) } };
    // A link of that name without our mark is someone else's: ours is gone.
    if (!state || state.alias !== stored.tag) return { id: "", props: {} };
    return { id, props: { ...stored, ...observed(state, stored.keptAddresses ?? []) } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = bridgeInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    const kept = (olds as Partial<BridgeOutputs>).keptAddresses ?? [];
    const current = await showLink(this.runner, where, inputs.name);
    if (inputs.existing) {
      // Nothing of it is ours to change: an update only looks again.
      const problem = existingBridgeIssue(inputs, current);
      if (problem || !current) throw new Error(problem);
      return { outs: this.outputs(inputs, current, []) };
    }
    if (!current) throw new Error(`bridge ${inputs.name} in ${describeWhere(where)} is gone; run \`pulumi refresh\` then \`pulumi up\` to recreate it`);
    const state = await reconcileLink(this.runner, where, current, { ...inputs, mac: inputs.mac ?? stableMac(inputs.tag), alias: inputs.tag, keep: kept });
    return { outs: this.outputs(inputs, state, kept) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as BridgeOutputs;
    // Someone else's bridge, and its addresses, stay as they were; our ports on it go with their own resources.
    if (stored.existing) return;
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

/** Why an existing bridge cannot be used as declared; undefined when it can. */
function existingBridgeIssue(inputs: BridgeInputs, state: LinkState | undefined): string | undefined {
  const where = describeWhere(whereOf(inputs.namespace, inputs.host));
  if (!state) return `bridge ${inputs.name} does not exist in ${where}: an existing bridge is used, not made (create it first, or leave existing unset to have it made)`;
  if (state.kind !== "bridge") return `link ${inputs.name} in ${where} is a ${state.kind ?? "plain"} link, not a bridge`;
  const missing = inputs.addresses.filter((a) => !state.addresses.includes(canonicalInterfaceAddress(a)));
  if (missing.length) return `bridge ${inputs.name} in ${where} does not have ${missing.join(", ")} (it has ${state.addresses.join(", ") || "no address"}): the gateway of a network on an existing bridge must be an address it already has`;
  return undefined;
}

async function existingBridgeProblem(runner: Runner, inputs: BridgeInputs): Promise<string | undefined> {
  if (isUnknown(inputs.name) || inputs.addresses.some(isUnknown)) return undefined;
  return existingBridgeIssue(inputs, await showLink(runner, whereOf(inputs.namespace, inputs.host), inputs.name));
}
