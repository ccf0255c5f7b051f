import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { accountId, addTap, deleteLink, showLink, tapInfoOf, type LinkState, type TapInfo } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, takeOver, Rollback, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { freshLink, reconcileLink } from "./links";
import { interfaceAddress, interfaceName, mtu, netnsName, ownershipTag } from "./validation";

/** A user or group: a name as useradd takes it, or a numeric id; kept as text. */
const account = (what: string) =>
  z.union([
    z.number().int(`${what} id must be an integer`).min(0, `${what} id must not be negative`).max(4294967294, `${what} id must be below 4294967295`).transform(String),
    z.string().regex(/^([0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31})$/, `${what} must be a name (letters, digits, '_', '.', '-'; at most 32) or a numeric id`),
  ]);

export const tapInputs = z.object({
  name: interfaceName,
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  user: account("user").optional(),
  group: account("group").optional(),
  multiQueue: z.boolean().default(false),
  master: interfaceName.optional(),
  addresses: z.array(interfaceAddress).default([]),
  mtu: mtu.optional(),
  up: z.boolean().default(true),
  adopt: z.boolean().default(false),
  tag: ownershipTag,
});
export type TapInputs = z.infer<typeof tapInputs>;

export interface TapOutputs extends TapInputs {
  readonly ifindex: number;
  readonly mac: string | undefined;
  readonly schemaVersion: number;
}

/**
 * A persistent tap (`ip tuntap add ... mode tap`), e.g. for a VM, usually on a bridge. Owner,
 * group and multi_queue are fixed when it is made (ip cannot change them): they replace it.
 */
export class TapProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(tapInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "name", change: "replace" },
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "user", change: "replace" },
      { path: "group", change: "replace" },
      { path: "multiQueue", change: "replace" },
      { path: "master", change: "update" },
      { path: "addresses", change: "update" },
      { path: "mtu", change: "update", optional: true },
      { path: "up", change: "update" },
      { path: "tag", change: "update" },
    ], [["name", "namespace", "host"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = tapInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    return Rollback.guard(async (rollback) => {
      let current: LinkState;
      try {
        await addTap(this.runner, where, inputs);
        rollback.push(() => deleteLink(this.runner, where, inputs.name));
        current = freshLink(inputs.name);
      } catch (err) {
        const existing = isExists(err) ? await showLink(this.runner, where, inputs.name) : undefined;
        if (!existing) throw err;
        takeOver(`link ${inputs.name} in ${describeWhere(where)}`, existing.alias, inputs.tag, inputs.adopt);
        const info = tapInfoOf(existing);
        if (info?.type !== "tap") throw new Error(`link ${inputs.name} in ${describeWhere(where)} exists but is a ${info?.type ?? existing.kind ?? "plain"} link, not a tap`);
        const found = await this.settingsOf(info, inputs);
        for (const key of ["user", "group", "multiQueue"] as const) {
          if (found[key] !== inputs[key]) throw new Error(`tap ${inputs.name} in ${describeWhere(where)} exists with ${key} ${String(found[key] ?? "unset")}, not ${String(inputs[key] ?? "unset")}; ip cannot change it: delete the tap or pick another name`);
        }
        current = existing;
      }
      const state = await reconcileLink(this.runner, where, current, { ...inputs, alias: inputs.tag, master: inputs.master ?? null });
      return { id: `tap/${idPart(where)}/${inputs.name}`, outs: this.outputs(inputs, state) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as TapOutputs;
    const state = await showLink(this.runner, whereOf(stored.namespace, stored.host), stored.name);
    // A link of that name without our mark is someone else's: ours is gone.
    if (!state || state.alias !== stored.tag) return { id: "", props: {} };
    const info = tapInfoOf(state);
    const settings = info ? await this.settingsOf(info, stored) : {};
    return { id, props: { ...stored, ...observed(state), ...settings } };
  }

  async update(_id: string, _olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = tapInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    const current = await showLink(this.runner, where, inputs.name);
    if (!current) throw new Error(`tap ${inputs.name} in ${describeWhere(where)} is gone; run \`pulumi refresh\` then \`pulumi up\` to recreate it`);
    const state = await reconcileLink(this.runner, where, current, { ...inputs, alias: inputs.tag, master: inputs.master ?? null });
    return { outs: this.outputs(inputs, state) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as TapOutputs;
    const where = whereOf(stored.namespace, stored.host);
    // Never delete a link that no longer carries our mark (replaced by someone else's).
    const state = await showLink(this.runner, where, stored.name);
    if (state && state.alias === stored.tag) await deleteLink(this.runner, where, stored.name);
  }

  /**
   * Owner, group and multi_queue as the kernel has them, in the declared spelling when they
   * mean the same account (ip shows uid 1000 as its name when the machine knows one).
   */
  private async settingsOf(info: TapInfo, declared: Pick<TapInputs, "user" | "group">): Promise<Pick<TapInputs, "user" | "group" | "multiQueue">> {
    const same = async (database: "passwd" | "group", shown: string | undefined, wanted: string | undefined) => {
      if (shown === wanted || shown === undefined || wanted === undefined) return shown;
      return (await accountId(this.runner, database, shown)) === (await accountId(this.runner, database, wanted)) ? wanted : shown;
    };
    const [user, group] = await Promise.all([same("passwd", info.user, declared.user), same("group", info.group, declared.group)]);
    return { user, group, multiQueue: info.multiQueue };
  }

  private outputs(inputs: TapInputs, state: LinkState): TapOutputs {
    return { ...inputs, ...observed(state), schemaVersion: SCHEMA_VERSION };
  }
}

/** The fields a refresh takes from the kernel. */
function observed(state: LinkState) {
  return { ifindex: state.ifindex, mac: state.mac, mtu: state.mtu, up: state.up, master: state.master, addresses: state.addresses };
}
