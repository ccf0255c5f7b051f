import * as pulumi from "@pulumi/pulumi";
import { ownershipTag } from "./common";
import type { Machine } from "./machine";
import { HostnetResource } from "./stub";
import { claimAsResource, claimNamespace } from "./network/claims";

export interface NamespaceArgs {
  /** Name under /run/netns (what `ip netns` shows). */
  name: pulumi.Input<string>;
  /** Bring `lo` up (default true). */
  loopbackUp?: pulumi.Input<boolean>;
  /** Take over an existing namespace of this name that pulumi-hostnet did not make. */
  adopt?: pulumi.Input<boolean>;
  /** The machine to act on, over SSH (default: the one Pulumi runs on). */
  machine?: Machine;
}

/** A named network namespace (`ip netns add`). */
export class Namespace extends HostnetResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly loopbackUp: pulumi.Output<boolean>;
  /** /run/netns/<name>, for tools that take a netns path. */
  declare readonly path: pulumi.Output<string>;

  constructor(name: string, args: NamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    claimAsResource(`Namespace ${name}`, () => claimNamespace(args.machine, `Namespace "${name}"`, args.name));
    super("namespace", "Namespace", name, namespaceProps(args, name), opts);
  }
}

/** What a Namespace registers; `tagName` names its ownership tag. */
export function namespaceProps(args: NamespaceArgs, tagName: string): pulumi.Inputs {
  return { loopbackUp: true, adopt: false, ...args, tag: ownershipTag(tagName), path: undefined };
}
