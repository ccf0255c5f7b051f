import * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "../provider/resources";
import { DRY_RUN_KEY } from "../provider/resources/dry-run";
import { ownershipTag, TYPE_MODULE } from "./common";
import { Machine } from "./machine";

/**
 * What the state stores as a resource's `__provider`: the module the dynamic-provider host
 * loads (`require(text).handler()`) to get the provider. Written by hand rather than by
 * Pulumi's closure serializer: it only names the kind and loads the implementation by package
 * name, so upgrading pulumi-hostnet changes no stored code, and it is 90 bytes where the
 * serialized form of the same six methods was 2.5 KB, stored twice (inputs and outputs) per
 * resource. The file backend rewrites the whole state after every step, so that size is paid
 * once per resource per step.
 */
export function providerModule(kind: ResourceKind): string {
  return `exports.handler = () => require("pulumi-hostnet/provider").providerFor(${JSON.stringify(kind)});\n`;
}

/**
 * Base of every pulumi-hostnet resource: what `pulumi.dynamic.Resource` registers (the
 * `pulumi-nodejs:dynamic/...` type served by Pulumi's dynamic-provider host, with the provider
 * module in `__provider`), without running the closure serializer.
 */
export abstract class HostnetResource extends pulumi.CustomResource {
  /** `tagName`: the name the ownership tag is made from (default `name`; kept across a rename, so nothing changes in the kernel). */
  protected constructor(kind: ResourceKind, typeName: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions, tagName = name) {
    const { machine, ...rest } = props;
    if (machine !== undefined && !(machine instanceof Machine)) throw new pulumi.RunError(`machine of ${name} must be a hostnet.Machine (new hostnet.Machine(name, connection))`);
    const placement = machine
      ? // The connection holds credentials: secret in the state, inputs and outputs alike. The tag
        // names the machine, so marks made on two machines by one program never read as the same.
        {
          machine: machine.name,
          connection: pulumi.secret(machine.connection),
          ...(rest.tag !== undefined ? { tag: ownershipTag(tagName, machine.name) } : {}),
          // Tells check whether this is a preview (see placed() in provider/resources/machines.ts); never stored.
          [DRY_RUN_KEY]: pulumi.runtime.isDryRun(),
        }
      : {};
    const options = machine ? { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] } : opts;
    super(`pulumi-nodejs:dynamic/${TYPE_MODULE}:${typeName}`, name, { ...rest, ...placement, __provider: providerModule(kind) }, options);
  }
}
