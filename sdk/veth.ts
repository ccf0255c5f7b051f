import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";
import { claimAsResource, claimInterface, linkNetns } from "./network/claims";

export interface VethPeerArgs {
  /** Interface name of the peer inside its namespace, e.g. "eth0". */
  name: pulumi.Input<string>;
  /** Namespace the peer is created in (default: the host). */
  namespace?: pulumi.Input<string>;
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  up?: pulumi.Input<boolean>;
}

export interface VethPairArgs extends PlacementArgs {
  /** Name of the first end (usually the host side), at most 15 characters. */
  name: pulumi.Input<string>;
  /** Namespace of the first end (default: the host). */
  namespace?: pulumi.Input<string>;
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** Bridge to attach the first end to. */
  master?: pulumi.Input<string>;
  /** MTU of both ends. */
  mtu?: pulumi.Input<number>;
  up?: pulumi.Input<boolean>;
  peer: pulumi.Input<VethPeerArgs>;
}

export interface VethPeerState {
  name: string;
  namespace?: string;
  addresses: string[];
  up: boolean;
  ifindex: number;
  mac: string;
}

/** A veth pair; the peer is created directly inside its namespace. */
export class VethPair extends HostnetResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly host: pulumi.Output<string | undefined>;
  declare readonly addresses: pulumi.Output<string[]>;
  declare readonly master: pulumi.Output<string | undefined>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly up: pulumi.Output<boolean>;
  declare readonly ifindex: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string>;
  declare readonly peer: pulumi.Output<VethPeerState>;
  /** Addresses each end had when the pair was adopted: left in place, never removed. */
  declare readonly keptAddresses: pulumi.Output<string[]>;
  declare readonly keptPeerAddresses: pulumi.Output<string[]>;

  constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
    claimAsResource(`VethPair ${name}`, () => {
      const netns = linkNetns(args.namespace, args.host, defaultHost());
      claimInterface(args.machine, netns, `VethPair "${name}"`, args.name);
      const peer = args.peer as Partial<VethPeerArgs> | undefined;
      // The peer's settings may be one Input as a whole: only a plain one is claimed here.
      if (typeof peer !== "object" || pulumi.Output.isInstance(peer)) return;
      const peerNetns = linkNetns(peer.namespace, args.host, defaultHost());
      // Both ends of one name in one netns: check names that mistake itself.
      if (peerNetns !== netns || peer.name !== args.name) claimInterface(args.machine, peerNetns, `the peer of VethPair "${name}"`, peer.name);
    });
    super("veth", "VethPair", name,
      { host: defaultHost(), addresses: [], up: true, adopt: false, ...args, tag: ownershipTag(name), ifindex: undefined, mac: undefined, keptAddresses: undefined, keptPeerAddresses: undefined, mtu: args.mtu }, opts);
  }
}
