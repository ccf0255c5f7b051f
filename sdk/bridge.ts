import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";
import { claimAsResource, claimInterface, linkNetns } from "./network/claims";

export interface BridgeArgs extends PlacementArgs {
  /** Interface name, at most 15 characters. */
  name: pulumi.Input<string>;
  /** Namespace to create the bridge in (default: the host). */
  namespace?: pulumi.Input<string>;
  /** Addresses with prefix, e.g. ["10.0.3.1/24"] (the gateway of the bridge's subnet). */
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  mtu?: pulumi.Input<number>;
  /** Administrative state (default true). */
  up?: pulumi.Input<boolean>;
  /**
   * The bridge's MAC (a unicast address); default: a stable locally administered one derived
   * from the resource, so the gateway's MAC does not follow the bridge's ports.
   */
  mac?: pulumi.Input<string>;
  /**
   * Use a bridge someone else made (docker0, virbr0) as it is: never made, changed nor deleted,
   * and `addresses` must already be on it (check says so otherwise). Not with adopt, mac or mtu.
   */
  existing?: pulumi.Input<boolean>;
  /**
   * The network the bridge carries (BridgeNetwork and OverlayNetwork set it): its name and
   * subnets, which preview refuses where they overlap an address or route already in the
   * netns, or another stack's network.
   */
  network?: { name: string; subnets: string[] };
}

/** A Linux bridge (`ip link add NAME type bridge`). */
export class Bridge extends HostnetResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly host: pulumi.Output<string | undefined>;
  declare readonly addresses: pulumi.Output<string[]>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly up: pulumi.Output<boolean>;
  declare readonly ifindex: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string>;
  /** Addresses the bridge had when adopted: left in place, never removed. */
  declare readonly keptAddresses: pulumi.Output<string[]>;

  constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
    if (args.existing !== true) claimAsResource(`Bridge ${name}`, () => claimInterface(args.machine, linkNetns(args.namespace, args.host, defaultHost()), `Bridge "${name}"`, args.name));
    super("bridge", "Bridge", name,
      { host: defaultHost(), addresses: [], up: true, adopt: false, existing: false, ...args, tag: ownershipTag(name), ifindex: undefined, mac: args.mac, keptAddresses: undefined, mtu: args.mtu }, opts);
  }
}
