import * as pulumi from "@pulumi/pulumi";
import { defaultHost, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

export interface NeighborArgs extends PlacementArgs {
  /** Namespace whose neighbour table gets the entry (default: the host). */
  namespace?: pulumi.Input<string>;
  /** The device the neighbour is reached through. */
  device: pulumi.Input<string>;
  /** IPv4 (an ARP entry) or IPv6 (an NDP entry) address. */
  address: pulumi.Input<string>;
  /** Its link-layer address, e.g. 02:00:00:00:00:05. */
  mac: pulumi.Input<string>;
}

/**
 * A static (permanent) neighbour entry. Entries carry no mark: the id records what was set, and
 * destroy removes the entry only while it is still exactly that.
 */
export class Neighbor extends HostnetResource {
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly device: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;
  declare readonly mac: pulumi.Output<string>;
  declare readonly family: pulumi.Output<string>;

  constructor(name: string, args: NeighborArgs, opts?: pulumi.CustomResourceOptions) {
    super("neighbor", "Neighbor", name, { host: defaultHost(), adopt: false, ...args, family: undefined }, opts);
  }
}
