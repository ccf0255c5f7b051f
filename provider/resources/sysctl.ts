import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isNotFound, type Runner } from "../exec";
import { readSysctl, SysctlLedger, writeSysctl } from "../kernel";
import { checkWith, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { netnsName, ownershipTag } from "./validation";

export const sysctlInputs = z.object({
  key: z
    .string()
    .regex(/^net(\.[A-Za-z0-9_@-]+)+$/, "key must be a sysctl under net, e.g. net.ipv4.ip_forward or net.ipv4.conf.br0.route_localnet")
    .max(200),
  value: z.string().regex(/^[A-Za-z0-9_.:-]+( [A-Za-z0-9_.:-]+)*$/, "value must be words of letters, digits, '_', '.', ':' or '-' separated by single spaces"),
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  /** Which resource wants the value: several may share one key (e.g. ip_forward). */
  tag: ownershipTag.optional(),
});
export type SysctlInputs = z.infer<typeof sysctlInputs>;

export interface SysctlOutputs extends SysctlInputs {
  /** The value found before we changed it, restored on delete. */
  readonly previous: string;
  readonly schemaVersion: number;
}

/** Who claims the key in the ledger: the resource's tag (state from before tags: its id). */
function ownerOf(s: Pick<SysctlInputs, "tag" | "key">, where: string | undefined): string {
  return s.tag ?? `sysctl/${idPart(where)}/${s.key}`;
}

/** Multi-value sysctls print tabs (e.g. "32768\t60999"); compare them word by word. */
function normalize(value: string): string {
  return value.trim().split(/\s+/).join(" ");
}

/**
 * A sysctl under net.* in a namespace. Records the value it found (in its outputs and in a
 * record on the host shared by every resource that sets the same key) and restores it when
 * the last of them is deleted, unless something else has changed it since (then it leaves it).
 */
export class SysctlProvider implements pulumi.dynamic.ResourceProvider {
  private readonly ledger: SysctlLedger;

  constructor(private readonly runner: Runner) {
    this.ledger = new SysctlLedger(runner);
  }

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(sysctlInputs, typeof news.value === "number" ? { ...news, value: String(news.value) } : news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "key", change: "replace" },
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "value", change: "update" },
    ], [["key", "namespace", "host"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = sysctlInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    // A recorded original means a resource of ours changed the key already (maybe this one, in
    // a run killed before Pulumi saved it): that value, not the current one, is the original.
    const found = (await this.ledger.original(where, inputs.key)) ?? normalize(await readSysctl(this.runner, where, inputs.key));
    const previous = await this.ledger.claim(where, inputs.key, ownerOf(inputs, where), found);
    await writeSysctl(this.runner, where, inputs.key, inputs.value);
    const outs: SysctlOutputs = { ...inputs, previous, schemaVersion: SCHEMA_VERSION };
    return { id: `sysctl/${idPart(where)}/${inputs.key}`, outs };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as SysctlOutputs;
    try {
      const value = normalize(await readSysctl(this.runner, whereOf(stored.namespace, stored.host), stored.key));
      return { id, props: { ...stored, value } };
    } catch (err) {
      if (isNotFound(err)) return { id: "", props: {} };
      throw err;
    }
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = sysctlInputs.parse(news);
    await writeSysctl(this.runner, whereOf(inputs.namespace, inputs.host), inputs.key, inputs.value);
    return { outs: { ...inputs, previous: (olds as unknown as SysctlOutputs).previous, schemaVersion: SCHEMA_VERSION } };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as SysctlOutputs;
    const where = whereOf(stored.namespace, stored.host);
    let current: string;
    try {
      current = normalize(await readSysctl(this.runner, where, stored.key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // The namespace (or the interface of a per-device key) is gone, and its value with it:
      // only our record is left to drop, so a namespace made again under the name starts clean.
      await this.ledger.release(where, stored.key, ownerOf(stored, where));
      return;
    }
    const released = await this.ledger.release(where, stored.key, ownerOf(stored, where));
    if (!released.last) return; // another resource still wants the key set: leave the value
    const original = released.original ?? stored.previous;
    // Restore only what is still ours: a value changed since by someone else is left alone.
    if (current === normalize(stored.value) && current !== original) {
      await writeSysctl(this.runner, where, stored.key, original);
    }
  }
}
