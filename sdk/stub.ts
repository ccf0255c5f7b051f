import * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "../provider/resources";
import { DRY_RUN_KEY, SECRET_INPUTS_KEY } from "../provider/resources/dry-run";
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
          connection: pulumi.secret(machine.options.gone ? { ...machine.connection, gone: true } : machine.connection),
          ...(rest.tag !== undefined ? { tag: ownershipTag(tagName, machine.name) } : {}),
          // Tells check whether this is a preview (see placed() in provider/resources/machines.ts); never stored.
          [DRY_RUN_KEY]: pulumi.runtime.isDryRun(),
        }
      : {};
    const options = machine ? { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] } : opts;
    const restoreStackTraces = withoutPromiseStackTraces();
    try {
      const secretInputs = pulumi.output(Promise.all([secretPathsOf(rest, ""), machine ? secretPathsOf(machine.connection, "connection") : []]).then((lists) => lists.flat()));
      super(`pulumi-nodejs:dynamic/${TYPE_MODULE}:${typeName}`, name, { ...rest, ...placement, [SECRET_INPUTS_KEY]: secretInputs, __provider: providerModule(kind) }, options);
    } catch (err) {
      restoreStackTraces();
      // Made while frames were off: give it the stack of this declaration.
      if (err instanceof Error) Error.captureStackTrace(err);
      throw err;
    }
    restoreStackTraces();
  }
}

/**
 * The property paths ("connection.privateKey", "flows[0].address") of the secret outputs
 * inside an input value: plain objects and arrays are walked, an Output is judged whole.
 */
async function secretPathsOf(value: unknown, path: string): Promise<string[]> {
  if (pulumi.Output.isInstance(value)) return (await pulumi.isSecret(value)) ? [path] : [];
  const under = (key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);
  if (Array.isArray(value)) return (await Promise.all(value.map((v: unknown, i) => secretPathsOf(v, under(i))))).flat();
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return (await Promise.all(Object.entries(value).map(([k, v]) => secretPathsOf(v, under(k))))).flat();
  }
  return [];
}

/**
 * While Pulumi registers a resource it captures a stack trace for every promise it makes (one per
 * input, and more), for its leak report only (shown with PULUMI_DEBUG_PROMISE_LEAKS); `pulumi`
 * runs programs with source-map support installed, which maps every frame of each. That was
 * the largest cost of running a program: measured under Pulumi's mocks, 200 containers took
 * 4.5 s to register with source-map support and 1.8 s without. A limit of 0 frames during the
 * registration skips those captures. Pulumi's own trace of where the resource was declared sets
 * its limit itself (unlimited) and is unchanged; an error thrown by the registration gets the
 * stack of the declaration. Returns the function that puts the limit back.
 */
function withoutPromiseStackTraces(): () => void {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return () => {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return () => {
    Error.stackTraceLimit = limit;
  };
}
