import * as pulumi from "@pulumi/pulumi";
import { ownershipTag, TYPE_MODULE } from "./common";
import { stubs } from "./stub";

export interface NamespaceArgs {
  /** Name under /run/netns (what `ip netns` shows). */
  name: pulumi.Input<string>;
  /** Bring `lo` up (default true). */
  loopbackUp?: pulumi.Input<boolean>;
  /** Take over an existing namespace of this name that pulumi-hostnet did not make. */
  adopt?: pulumi.Input<boolean>;
}

/** A named network namespace (`ip netns add`). */
export class Namespace extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly loopbackUp: pulumi.Output<boolean>;
  /** /run/netns/<name>, for tools that take a netns path. */
  declare readonly path: pulumi.Output<string>;

  constructor(name: string, args: NamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    super(stubs.namespace, name, { loopbackUp: true, adopt: false, ...args, tag: ownershipTag(name), path: undefined }, opts, TYPE_MODULE, "Namespace");
  }
}
