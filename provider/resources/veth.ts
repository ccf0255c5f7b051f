import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addVeth, deleteLink, showLink, type LinkState, type Netns } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, takeOver, Rollback, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { freshLink, reconcileLink, withoutKept } from "./links";
import { interfaceAddress, interfaceName, isUnknown, mtu, netnsName, ownershipTag } from "./validation";

const peerInputs = z.object({
  name: interfaceName,
  namespace: netnsName.optional(),
  addresses: z.array(interfaceAddress).default([]),
  up: z.boolean().default(true),
});

export const vethInputs = z
  .object({
    name: interfaceName,
    namespace: netnsName.optional(),
    host: netnsName.optional(),
    addresses: z.array(interfaceAddress).default([]),
    master: interfaceName.optional(),
    mtu: mtu.optional(),
    up: z.boolean().default(true),
    peer: peerInputs,
    adopt: z.boolean().default(false),
    tag: ownershipTag,
  })
  .superRefine((v, ctx) => {
    // Unknown at preview: two unknown namespaces are not known to be the same one.
    if ([v.name, v.peer.name, v.namespace, v.peer.namespace, v.host].some(isUnknown)) return;
    if (v.name === v.peer.name && (v.namespace ?? v.host) === (v.peer.namespace ?? v.host)) {
      ctx.addIssue({ code: "custom", path: ["peer", "name"], message: `peer name ${v.peer.name} equals the first end's name in the same namespace` });
    }
  });
export type VethInputs = z.infer<typeof vethInputs>;

interface EndOutputs {
  readonly ifindex: number;
  readonly mac: string | undefined;
  readonly mtu: number | undefined;
}

/** Addresses each end had when the pair was adopted: not ours, so never removed (nor in `addresses`). */
interface Kept {
  readonly local: string[];
  readonly peer: string[];
}

export interface VethOutputs extends VethInputs {
  readonly ifindex: number;
  readonly keptAddresses?: string[];
  readonly keptPeerAddresses?: string[];
  readonly mac: string | undefined;
  readonly peer: VethInputs["peer"] & EndOutputs;
  readonly schemaVersion: number;
}

interface Ends {
  readonly local: Netns;
  readonly remote: Netns;
}

function endsOf(v: Pick<VethInputs, "namespace" | "host"> & { peer: { namespace?: string } }): Ends {
  return { local: whereOf(v.namespace, v.host), remote: whereOf(v.peer.namespace, v.host) };
}

/**
 * A veth pair: the first end (`name`, usually on the host, optionally enslaved to a bridge)
 * and its peer (usually a container's eth0), created directly inside the peer's namespace.
 */
export class VethPairProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(vethInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const kept = keptOf(olds);
    const peer = news.peer && typeof news.peer === "object" ? (news.peer as Props) : undefined;
    const mine = {
      ...news,
      addresses: Array.isArray(news.addresses) ? withoutKept(news.addresses as string[], kept.local) : news.addresses,
      peer: peer && Array.isArray(peer.addresses) ? { ...peer, addresses: withoutKept(peer.addresses as string[], kept.peer) } : news.peer,
    };
    const result = diffByRules(olds, mine, [
      { path: "name", change: "replace" },
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "peer.name", change: "replace" },
      { path: "peer.namespace", change: "replace" },
      { path: "addresses", change: "update" },
      { path: "master", change: "update" },
      { path: "mtu", change: "update", optional: true },
      { path: "up", change: "update" },
      { path: "peer.addresses", change: "update" },
      { path: "peer.up", change: "update" },
      { path: "tag", change: "update" },
    ], [["name", "namespace", "host"], ["peer.name", "peer.namespace", "host"]]);
    // `mtu` is declared once for both ends: a peer changed by hand is drift too.
    const peerMtu = (olds.peer as { mtu?: number } | undefined)?.mtu;
    if (!result.changes && typeof news.mtu === "number" && peerMtu !== undefined && peerMtu !== news.mtu) return { ...result, changes: true };
    return result;
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = vethInputs.parse(raw);
    const ends = endsOf(inputs);
    return Rollback.guard(async (rollback) => {
      let local: LinkState;
      let remote: LinkState;
      let kept: Kept = { local: [], peer: [] };
      try {
        // Create first and look only when a name is taken: one process fewer in the usual case.
        await addVeth(this.runner, { name: inputs.name, netns: ends.local }, { name: inputs.peer.name, netns: ends.remote }, inputs.mtu);
        // Deleting either end deletes the pair.
        rollback.push(() => deleteLink(this.runner, ends.local, inputs.name));
        local = freshLink(inputs.name, inputs.mtu);
        remote = freshLink(inputs.peer.name, inputs.mtu);
      } catch (err) {
        const existing = isExists(err) ? await showLink(this.runner, ends.local, inputs.name) : undefined;
        if (!existing) throw err; // e.g. the peer's name is taken in its namespace: the kernel's words say so
        const ownership = takeOver(`link ${inputs.name} in ${describeWhere(ends.local)}`, existing.alias, inputs.tag, inputs.adopt);
        if (existing.kind !== "veth") throw new Error(`link ${inputs.name} in ${describeWhere(ends.local)} exists but is a ${existing.kind ?? "plain"} link, not a veth`);
        const peer = await showLink(this.runner, ends.remote, inputs.peer.name);
        if (!peer) throw new Error(`veth ${inputs.name} in ${describeWhere(ends.local)} exists but its peer ${inputs.peer.name} is not in ${describeWhere(ends.remote)}`);
        local = existing;
        remote = peer;
        // Adopted: the ends' addresses are someone's configuration, not ours; we only add ours.
        if (ownership !== "ours") kept = { local: existing.addresses, peer: peer.addresses };
      }
      const [localState, remoteState] = await this.applyBothEnds(inputs, ends, local, remote, kept);
      return { id: `veth/${idPart(ends.local)}/${inputs.name}`, outs: this.outputs(inputs, localState, remoteState, kept) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as VethOutputs;
    const ends = endsOf(stored);
    const local = await showLink(this.runner, ends.local, stored.name);
    // A link of that name without our mark is someone else's: ours is gone.
    if (!local || local.alias !== stored.tag) return { id: "", props: {} };
    const remote = await showLink(this.runner, ends.remote, stored.peer.name);
    return { id, props: { ...stored, ...observed(local, remote, stored.peer, keptOf(props)) } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = vethInputs.parse(news);
    const ends = endsOf(inputs);
    const local = await showLink(this.runner, ends.local, inputs.name);
    const remote = await showLink(this.runner, ends.remote, inputs.peer.name);
    if (!local || !remote) throw new Error(`veth ${inputs.name} in ${describeWhere(ends.local)} is gone; run \`pulumi refresh\` then \`pulumi up\` to recreate it`);
    const kept = keptOf(olds);
    const [localState, remoteState] = await this.applyBothEnds(inputs, ends, local, remote, kept);
    return { outs: this.outputs(inputs, localState, remoteState, kept) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as VethOutputs;
    const local = endsOf(stored).local;
    // Never delete a link that no longer carries our mark (replaced by someone else's).
    const state = await showLink(this.runner, local, stored.name);
    if (state && state.alias === stored.tag) await deleteLink(this.runner, local, stored.name);
  }

  /** Both ends to their declared state, one process each, concurrently. */
  private applyBothEnds(inputs: VethInputs, ends: Ends, local: LinkState, remote: LinkState, kept: Kept): Promise<[LinkState, LinkState]> {
    return Promise.all([
      reconcileLink(this.runner, ends.local, local, { ...inputs, alias: inputs.tag, master: inputs.master ?? null, keep: kept.local }),
      reconcileLink(this.runner, ends.remote, remote, { ...inputs.peer, alias: inputs.tag, mtu: inputs.mtu, keep: kept.peer }),
    ]);
  }

  private outputs(inputs: VethInputs, local: LinkState, remote: LinkState, kept: Kept): VethOutputs {
    return { ...inputs, ...observed(local, remote, inputs.peer, kept), schemaVersion: SCHEMA_VERSION };
  }
}

/** What adoption kept, from stored outputs (none in state written before it was recorded). */
function keptOf(props: Props): Kept {
  const stored = props as Partial<VethOutputs>;
  return { local: stored.keptAddresses ?? [], peer: stored.keptPeerAddresses ?? [] };
}

function observed(local: LinkState, remote: LinkState | undefined, peer: VethInputs["peer"], kept: Kept) {
  return {
    keptAddresses: kept.local,
    keptPeerAddresses: kept.peer,
    ifindex: local.ifindex,
    mac: local.mac,
    mtu: local.mtu,
    up: local.up,
    master: local.master,
    addresses: withoutKept(local.addresses, kept.local),
    peer: { ...peer, ifindex: remote?.ifindex ?? 0, mac: remote?.mac, mtu: remote?.mtu, up: remote?.up ?? false, addresses: withoutKept(remote?.addresses, kept.peer) },
  };
}
