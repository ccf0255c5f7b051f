import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

export interface AddressArgs extends PlacementArgs {
  /** Namespace of the device (default: the host). */
  namespace?: pulumi.Input<string>;
  /** The link to put the address on, e.g. "lo". */
  device: pulumi.Input<string>;
  /** Address with prefix, e.g. 10.11.1.1/24. */
  address: pulumi.Input<string>;
}

/** One address on any link in any namespace (e.g. a service address on a namespace's `lo`). */
export class Address extends HostnetResource {
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly device: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;

  constructor(name: string, args: AddressArgs, opts?: pulumi.CustomResourceOptions) {
    super("address", "Address", name, { host: defaultHost(), adopt: false, ...args, tag: ownershipTag(name) }, opts);
  }
}
