import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Props } from "./common";
import { checkWith } from "./common";
import { netnsName } from "./validation";

export const containerRefInputs = z.object({
  mode: z.enum(["host", "container"]),
  /** The namespace it runs in: the host's, or the container's it shares. */
  namespace: netnsName.optional(),
  host: netnsName.optional(),
});

/**
 * A host- or container-mode ContainerNetwork: it makes nothing in the kernel (it uses the
 * host's network, or another container's), so this provider only keeps its record. One engine
 * resource, as every container is.
 */
export class ContainerRefProvider implements pulumi.dynamic.ResourceProvider {
  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(containerRefInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const changed = (["mode", "namespace", "host"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: changed.length > 0, replaces: [] };
  }

  async create(inputs: Props): Promise<pulumi.dynamic.CreateResult> {
    const { mode, namespace, host } = containerRefInputs.parse(inputs);
    return { id: `container/${mode}/${namespace ?? host ?? "-"}`, outs: inputs };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    return { id, props };
  }

  async update(_id: string, _olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: news };
  }

  async delete(): Promise<void> {
    // Nothing of its own in the kernel.
  }
}
