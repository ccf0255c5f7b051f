import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";
import { claimAsResource, claimInterface, linkNetns } from "./network/claims";

export interface TapArgs extends PlacementArgs {
  /** Interface name, at most 15 characters. */
  name: pulumi.Input<string>;
  /** Namespace to create the tap in (default: the host). */
  namespace?: pulumi.Input<string>;
  /** User (name or uid) allowed to attach to it without privileges, e.g. a VMM's. */
  user?: pulumi.Input<string | number>;
  group?: pulumi.Input<string | number>;
  /** Several queues, for a VMM with several vCPUs (default false). */
  multiQueue?: pulumi.Input<boolean>;
  /** Bridge to attach the tap to. */
  master?: pulumi.Input<string>;
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  mtu?: pulumi.Input<number>;
  up?: pulumi.Input<boolean>;
}

/** A persistent tap (`ip tuntap add NAME mode tap`), e.g. a VM's NIC on a bridge. */
export class Tap extends HostnetResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly host: pulumi.Output<string | undefined>;
  declare readonly user: pulumi.Output<string | undefined>;
  declare readonly group: pulumi.Output<string | undefined>;
  declare readonly multiQueue: pulumi.Output<boolean>;
  declare readonly master: pulumi.Output<string | undefined>;
  declare readonly addresses: pulumi.Output<string[]>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly up: pulumi.Output<boolean>;
  declare readonly ifindex: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string>;

  constructor(name: string, args: TapArgs, opts?: pulumi.CustomResourceOptions) {
    claimAsResource(`Tap ${name}`, () => claimInterface(args.machine, linkNetns(args.namespace, args.host, defaultHost()), `Tap "${name}"`, args.name));
    super("tap", "Tap", name,
      { host: defaultHost(), multiQueue: false, addresses: [], up: true, adopt: false, ...args, tag: ownershipTag(name), ifindex: undefined, mac: undefined, mtu: args.mtu }, opts);
  }
}
