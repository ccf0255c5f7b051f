import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";
import { claimAsResource, claimInterface, linkNetns } from "./network/claims";

export interface MacvlanArgs extends PlacementArgs {
  /** Interface name, at most 15 characters. */
  name: pulumi.Input<string>;
  /** Namespace the macvlan is created in (default: the host), directly, without a move. */
  namespace?: pulumi.Input<string>;
  /** The lower device, in the host netns (e.g. the machine's uplink). */
  parent: pulumi.Input<string>;
  /** bridge (default): macvlans of one parent reach each other; private, vepa, passthru. */
  mode?: pulumi.Input<"bridge" | "private" | "vepa" | "passthru">;
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** At most the parent's MTU. */
  mtu?: pulumi.Input<number>;
  up?: pulumi.Input<boolean>;
}

/**
 * A macvlan (`ip link add NAME link PARENT type macvlan mode M`): a device with its own MAC on
 * the parent's wire. The parent's own addresses cannot reach its macvlans (the kernel hands
 * their frames straight to the wire, not back up the parent's stack).
 */
export class Macvlan extends HostnetResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly host: pulumi.Output<string | undefined>;
  declare readonly parent: pulumi.Output<string>;
  declare readonly mode: pulumi.Output<string>;
  declare readonly addresses: pulumi.Output<string[]>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly up: pulumi.Output<boolean>;
  declare readonly ifindex: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string>;

  constructor(name: string, args: MacvlanArgs, opts?: pulumi.CustomResourceOptions) {
    claimAsResource(`Macvlan ${name}`, () => claimInterface(args.machine, linkNetns(args.namespace, args.host, defaultHost()), `Macvlan "${name}"`, args.name));
    super("macvlan", "Macvlan", name,
      { host: defaultHost(), mode: "bridge", addresses: [], up: true, adopt: false, ...args, tag: ownershipTag(name), ifindex: undefined, mac: undefined, mtu: args.mtu }, opts);
  }
}
