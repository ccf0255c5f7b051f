import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addMacvlan, deleteLink, MACVLAN_MODES, macvlanModeOf, macvlanModeWords, showLink, type LinkState, type Netns } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, takeOver, Rollback, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { freshLink, reconcileLink } from "./links";
import { interfaceAddress, interfaceName, isUnknown, mtu, netnsName, ownershipTag } from "./validation";

export const macvlanInputs = z.object({
  name: interfaceName,
  /** Where the macvlan lives; its parent is always in the host netns. */
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  parent: interfaceName,
  mode: z.enum(MACVLAN_MODES).default("bridge"),
  addresses: z.array(interfaceAddress).default([]),
  mtu: mtu.optional(),
  up: z.boolean().default(true),
  adopt: z.boolean().default(false),
  tag: ownershipTag,
});
export type MacvlanInputs = z.infer<typeof macvlanInputs>;

export interface MacvlanOutputs extends Omit<MacvlanInputs, "mode"> {
  /** As the kernel shows it, which may be a mode set by hand outside ours (e.g. source). */
  readonly mode: string;
  readonly ifindex: number;
  readonly mac: string | undefined;
  readonly schemaVersion: number;
}

interface Places {
  /** The host netns, where the parent is and where `ip link add` runs. */
  readonly parent: Netns;
  /** Where the macvlan is. */
  readonly link: Netns;
}

function placesOf(m: Pick<MacvlanInputs, "namespace" | "host">): Places {
  return { parent: whereOf(undefined, m.host), link: whereOf(m.namespace, m.host) };
}

/**
 * A macvlan on a parent device of the host netns, made directly inside its namespace (a link
 * moved later would lose its addresses, and the move costs a second process).
 */
export class MacvlanProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(macvlanInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const result = diffByRules(olds, news, [
      { path: "name", change: "replace" },
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "parent", change: "replace" },
      { path: "mode", change: "update" },
      { path: "addresses", change: "update" },
      { path: "mtu", change: "update", optional: true },
      { path: "up", change: "update" },
      { path: "tag", change: "update" },
    ], [["name", "namespace", "host"]]);
    // The kernel changes a mode in place, except to or from passthru (EINVAL).
    const [before, after] = [olds.mode, news.mode];
    if (before !== after && (before === "passthru" || after === "passthru" || isUnknown(after)) && !result.replaces?.includes("mode")) {
      const identityKept = ["name", "namespace", "host"].every((k) => olds[k] === news[k]);
      return { changes: true, replaces: [...(result.replaces ?? []), "mode"], deleteBeforeReplace: result.deleteBeforeReplace || identityKept };
    }
    return result;
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = macvlanInputs.parse(raw);
    const places = placesOf(inputs);
    const what = `macvlan ${inputs.name} in ${describeWhere(places.link)}`;
    return Rollback.guard(async (rollback) => {
      let current: LinkState;
      try {
        const netns = places.link !== places.parent ? places.link : undefined;
        await addMacvlan(this.runner, places.parent, { name: inputs.name, parent: inputs.parent, mode: inputs.mode, netns, mtu: inputs.mtu });
        rollback.push(() => deleteLink(this.runner, places.link, inputs.name));
        current = freshLink(inputs.name, inputs.mtu);
      } catch (err) {
        const existing = isExists(err) ? await showLink(this.runner, places.link, inputs.name) : undefined;
        if (!existing) throw err;
        takeOver(`link ${inputs.name} in ${describeWhere(places.link)}`, existing.alias, inputs.tag, inputs.adopt);
        if (existing.kind !== "macvlan") throw new Error(`link ${inputs.name} in ${describeWhere(places.link)} exists but is a ${existing.kind ?? "plain"} link, not a macvlan`);
        // Beside its parent, the kernel names the parent; from another namespace it shows only an index.
        if (existing.parent !== undefined && existing.parent !== inputs.parent) throw new Error(`${what} exists on parent ${existing.parent}, not ${inputs.parent}; a macvlan cannot change parent`);
        current = existing;
      }
      const state = await this.reconcile(inputs, places, current);
      return { id: `macvlan/${idPart(places.link)}/${inputs.name}`, outs: this.outputs(inputs, state) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as MacvlanOutputs;
    const state = await showLink(this.runner, placesOf(stored).link, stored.name);
    // A link of that name without our mark is someone else's: ours is gone.
    if (!state || state.alias !== stored.tag) return { id: "", props: {} };
    return { id, props: { ...stored, ...observed(state), parent: state.parent ?? stored.parent } };
  }

  async update(_id: string, _olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = macvlanInputs.parse(news);
    const places = placesOf(inputs);
    const current = await showLink(this.runner, places.link, inputs.name);
    if (!current) throw new Error(`macvlan ${inputs.name} in ${describeWhere(places.link)} is gone; run \`pulumi refresh\` then \`pulumi up\` to recreate it`);
    const state = await this.reconcile(inputs, places, current);
    return { outs: this.outputs(inputs, state) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as MacvlanOutputs;
    const where = placesOf(stored).link;
    // Never delete a link that no longer carries our mark (replaced by someone else's).
    const state = await showLink(this.runner, where, stored.name);
    if (state && state.alias === stored.tag) await deleteLink(this.runner, where, stored.name);
  }

  /** Mode, settings and addresses in one batch inside the macvlan's namespace. */
  private reconcile(inputs: MacvlanInputs, places: Places, current: LinkState): Promise<LinkState> {
    // A fresh link has no mode read back yet: it was made with the declared one.
    const mode = current.ifindex === 0 ? inputs.mode : macvlanModeOf(current);
    const kindLines = mode !== inputs.mode ? [macvlanModeWords(inputs.name, inputs.mode)] : [];
    return reconcileLink(this.runner, places.link, current, { ...inputs, alias: inputs.tag, kindLines });
  }

  private outputs(inputs: MacvlanInputs, state: LinkState): MacvlanOutputs {
    return { ...inputs, ...observed(state), schemaVersion: SCHEMA_VERSION };
  }
}

/** The fields a refresh takes from the kernel. */
function observed(state: LinkState) {
  const mode = macvlanModeOf(state);
  return { ifindex: state.ifindex, mac: state.mac, mtu: state.mtu, up: state.up, addresses: state.addresses, ...(mode ? { mode } : {}) };
}
