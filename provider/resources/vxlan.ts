import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addVxlanWords, deleteLink, ip, setVxlanPeers, showLink, vxlanPeers, vxlanSettingsOf, type LinkState, type Netns } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, neverTaken, Rollback, SCHEMA_VERSION, takeOver, whereOf, type Props } from "./common";
import { occupancyOf, otherOwnerOf, placeOf, tagsOf, vniClash } from "./claims";
import { freshLink, reconcileLink } from "./links";
import { interfaceAddress, interfaceName, ipAddress, isUnknown, maybeFamilyOf, mtu, netnsName, ownershipTag } from "./validation";

export const vxlanInputs = z
  .object({
    name: interfaceName,
    namespace: netnsName.optional(),
    host: netnsName.optional(),
    vni: z.number().int("vni must be an integer").min(1, "vni must be 1-16777215").max(16_777_215, "vni must be 1-16777215"),
    local: ipAddress.optional(),
    port: z.number().int("port must be an integer").min(1, "port must be 1-65535").max(65535, "port must be 1-65535").default(4789),
    device: interfaceName.optional(),
    learning: z.boolean().default(false),
    mtu: mtu.optional(),
    /** Bridge to enslave to (the usual place of a VXLAN link); unset: none. */
    master: interfaceName.optional(),
    addresses: z.array(interfaceAddress).default([]),
    up: z.boolean().default(true),
    /** Underlay addresses of the other ends: one flooding forwarding entry each. */
    peers: z.array(ipAddress).default([]),
    adopt: z.boolean().default(false),
    tag: ownershipTag,
  })
  .superRefine((v, ctx) => {
    const local = v.local && maybeFamilyOf(v.local);
    v.peers.forEach((peer, i) => {
      if (local && maybeFamilyOf(peer) && maybeFamilyOf(peer) !== local) ctx.addIssue({ code: "custom", path: ["peers", i], message: `peer ${peer} is not of the family of local ${v.local}` });
      if (peer === v.local && !isUnknown(peer)) ctx.addIssue({ code: "custom", path: ["peers", i], message: `peer ${peer} is this link's own local address` });
    });
    const known = v.peers.filter((p) => !isUnknown(p));
    if (new Set(known).size !== known.length) ctx.addIssue({ code: "custom", path: ["peers"], message: `peers ${JSON.stringify(v.peers)} name one address twice` });
  });
export type VxlanInputs = z.infer<typeof vxlanInputs>;

export interface VxlanOutputs extends VxlanInputs {
  readonly ifindex: number;
  readonly mac: string | undefined;
  readonly schemaVersion: number;
}

/**
 * A VXLAN link (`ip link add NAME type vxlan id VNI ...`) with static flooding entries to its
 * peers, as flannel's VXLAN backend and Docker's overlay driver make them: no multicast.
 */
export class VxlanProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(vxlanInputs, news);
    const known = vxlanInputs.safeParse(result.inputs ?? {});
    if (!known.success || isUnknown(known.data.name) || isUnknown(known.data.tag)) return result;
    // Preview names another owner's link of this name, or of this VNI and port (one shared read per netns).
    const inputs = known.data;
    const where = whereOf(inputs.namespace, inputs.host);
    const occupancy = await occupancyOf(this.runner, where);
    if (!occupancy) return result;
    const self = { name: inputs.name, tags: tagsOf(inputs, olds), adopt: inputs.adopt };
    const place = placeOf(this.runner, where);
    const owner = otherOwnerOf(occupancy.links.find((l) => l.name === inputs.name), self);
    const vni = vniClash(occupancy, inputs.vni, inputs.port, self);
    const failures = [
      ...(owner ? [{ property: "name", reason: neverTaken(`link ${inputs.name} ${place}`, owner) }] : []),
      ...(vni ? [{ property: "vni", reason: `${vni} ${place}; two overlays on one VNI would be one layer 2 network: choose another vni (or port)` }] : []),
    ];
    return failures.length ? { failures } : result;
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "name", change: "replace" },
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      // The kernel cannot change these on a live VXLAN link.
      { path: "vni", change: "replace" },
      { path: "local", change: "replace" },
      { path: "port", change: "replace" },
      { path: "device", change: "replace" },
      { path: "learning", change: "replace" },
      { path: "mtu", change: "update", optional: true },
      { path: "master", change: "update" },
      { path: "addresses", change: "update" },
      { path: "up", change: "update" },
      { path: "peers", change: "update" },
      { path: "tag", change: "update" },
    ], [["name", "namespace", "host"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = vxlanInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    return Rollback.guard(async (rollback) => {
      let current: LinkState;
      let peers: string[] = [];
      try {
        await ip(this.runner, where, addVxlanWords(inputs));
        rollback.push(() => deleteLink(this.runner, where, inputs.name));
        current = freshLink(inputs.name, inputs.mtu);
      } catch (err) {
        const existing = isExists(err) ? await showLink(this.runner, where, inputs.name) : undefined;
        if (!existing) throw err;
        takeOver(`link ${inputs.name} in ${describeWhere(where)}`, existing.alias, inputs.tag, inputs.adopt);
        const settings = vxlanSettingsOf(existing);
        if (!settings) throw new Error(`link ${inputs.name} in ${describeWhere(where)} exists but is a ${existing.kind ?? "plain"} link, not a VXLAN link`);
        const differs = differences(settings, inputs);
        if (differs.length) throw new Error(`VXLAN link ${inputs.name} in ${describeWhere(where)} exists with ${differs.join(", ")}; the kernel cannot change these in place: delete it, or declare what it has`);
        current = existing;
        peers = await vxlanPeers(this.runner, where, inputs.name);
      }
      const state = await this.reconcile(where, current, peers, inputs);
      return { id: `vxlan/${idPart(where)}/${inputs.name}`, outs: state };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as VxlanOutputs;
    const where = whereOf(stored.namespace, stored.host);
    const state = await showLink(this.runner, where, stored.name);
    if (!state || state.alias !== stored.tag) return { id: "", props: {} };
    const settings = vxlanSettingsOf(state);
    const peers = await vxlanPeers(this.runner, where, stored.name);
    return { id, props: { ...stored, ...observed(state), ...(settings ? kernelSettings(settings, stored) : {}), peers: orderLike(peers, stored.peers) } };
  }

  async update(_id: string, _olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = vxlanInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    const current = await showLink(this.runner, where, inputs.name);
    if (!current) throw new Error(`VXLAN link ${inputs.name} in ${describeWhere(where)} is gone; run \`pulumi refresh\` then \`pulumi up\` to recreate it`);
    // Read, not taken from the state: an entry removed or added by hand is repaired too.
    const peers = await vxlanPeers(this.runner, where, inputs.name);
    return { outs: await this.reconcile(where, current, peers, inputs) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as VxlanOutputs;
    const where = whereOf(stored.namespace, stored.host);
    const state = await showLink(this.runner, where, stored.name);
    // Its forwarding entries go with it.
    if (state && state.alias === stored.tag) await deleteLink(this.runner, where, stored.name);
  }

  private async reconcile(where: Netns, current: LinkState, peers: readonly string[], inputs: VxlanInputs): Promise<VxlanOutputs> {
    // Peers before up: a link that comes up floods to exactly the declared machines.
    await setVxlanPeers(this.runner, where, inputs.name, peers, inputs.peers);
    const state = await reconcileLink(this.runner, where, current, { ...inputs, master: inputs.master ?? null, alias: inputs.tag });
    return { ...inputs, ...observed(state), schemaVersion: SCHEMA_VERSION };
  }
}

/** What differs between a VXLAN link's fixed settings and the declared ones. */
function differences(settings: ReturnType<typeof vxlanSettingsOf> & object, inputs: VxlanInputs): string[] {
  const out: string[] = [];
  if (settings.vni !== inputs.vni) out.push(`vni ${settings.vni}`);
  if (settings.port !== inputs.port) out.push(`port ${settings.port}`);
  if ((settings.local ?? undefined) !== inputs.local) out.push(`local ${settings.local ?? "(none)"}`);
  if (inputs.device !== undefined && settings.device !== inputs.device) out.push(`device ${settings.device ?? "(none)"}`);
  if (settings.learning !== inputs.learning) out.push(settings.learning ? "learning on" : "learning off");
  return out;
}

/** The fixed settings as the kernel has them, in the inputs' terms (drift shows as a replace). */
function kernelSettings(settings: NonNullable<ReturnType<typeof vxlanSettingsOf>>, stored: VxlanOutputs) {
  return { vni: settings.vni, port: settings.port, local: settings.local, learning: settings.learning, device: stored.device === undefined ? undefined : settings.device };
}

/** `found` in the order of `declared` where they agree, so an unchanged set shows no diff. */
function orderLike(found: readonly string[], declared: readonly string[]): string[] {
  return [...declared.filter((p) => found.includes(p)), ...found.filter((p) => !declared.includes(p))];
}

function observed(state: LinkState) {
  return { ifindex: state.ifindex, mac: state.mac, mtu: state.mtu, up: state.up, master: state.master, addresses: state.addresses };
}
