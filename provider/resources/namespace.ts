import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addNetns, deleteNetns, netnsExists, netnsPath, setLink, showLink } from "../kernel";
import { checkWith, diffByRules, neverTaken, Rollback, SCHEMA_VERSION, takeOver, type Props } from "./common";
import { machineOf, namespaceOwner, tagsOf } from "./claims";
import { isUnknown, netnsName, ownershipTag } from "./validation";

export const namespaceInputs = z.object({
  name: netnsName,
  loopbackUp: z.boolean().default(true),
  adopt: z.boolean().default(false),
  tag: ownershipTag,
});
export type NamespaceInputs = z.infer<typeof namespaceInputs>;

export interface NamespaceOutputs extends NamespaceInputs {
  readonly path: string;
  readonly schemaVersion: number;
}

/**
 * A named network namespace. A namespace has no alias of its own, so its `lo` carries our tag:
 * that marks the whole namespace as ours.
 */
export class NamespaceProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(namespaceInputs, news);
    const known = namespaceInputs.safeParse(result.inputs ?? {});
    if (!known.success || isUnknown(known.data.name) || isUnknown(known.data.tag)) return result;
    // Preview names another owner's namespace of this name (its lo's alias).
    const owner = await namespaceOwner(this.runner, known.data.name, { tags: tagsOf(known.data, olds), adopt: known.data.adopt });
    return owner ? { failures: [{ property: "name", reason: neverTaken(`network namespace ${known.data.name}${machineOf(this.runner)}`, owner) }] } : result;
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "name", change: "replace" },
      { path: "loopbackUp", change: "update" },
      { path: "tag", change: "update" },
    ], [["name"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = namespaceInputs.parse(raw);
    return Rollback.guard(async (rollback) => {
      try {
        await addNetns(this.runner, inputs.name);
        rollback.push(() => deleteNetns(this.runner, inputs.name));
      } catch (err) {
        if (!isExists(err)) throw err;
        const lo = await showLink(this.runner, inputs.name, "lo");
        takeOver(`network namespace ${inputs.name}`, lo?.alias, inputs.tag, inputs.adopt);
      }
      await setLink(this.runner, inputs.name, "lo", { alias: inputs.tag, up: inputs.loopbackUp });
      return { id: `netns/${inputs.name}`, outs: await this.outputs(inputs) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as NamespaceOutputs;
    const name = stored.name ?? id.replace(/^netns\//, "");
    if (!(await netnsExists(this.runner, name))) return { id: "", props: {} };
    const lo = await showLink(this.runner, name, "lo");
    // A namespace of that name whose lo lacks our mark is someone else's: ours is gone.
    if (lo?.alias !== stored.tag) return { id: "", props: {} };
    return { id, props: { ...stored, name, loopbackUp: lo?.up ?? false, path: netnsPath(name), schemaVersion: SCHEMA_VERSION } };
  }

  async update(_id: string, _olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = namespaceInputs.parse(news);
    await setLink(this.runner, inputs.name, "lo", { alias: inputs.tag, up: inputs.loopbackUp });
    return { outs: await this.outputs(inputs) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const { name, tag } = props as unknown as NamespaceOutputs;
    // Never delete a namespace that no longer carries our mark (replaced by someone else's).
    const lo = await showLink(this.runner, name, "lo");
    if (lo && lo.alias === tag) await deleteNetns(this.runner, name);
  }

  private async outputs(inputs: NamespaceInputs): Promise<NamespaceOutputs> {
    return { ...inputs, path: netnsPath(inputs.name), schemaVersion: SCHEMA_VERSION };
  }
}
