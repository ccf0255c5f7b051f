import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";
import { claimAsResource, claimInterface, claimVni, linkNetns } from "./network/claims";

export interface VxlanArgs extends PlacementArgs {
  /** Interface name, at most 15 characters. */
  name: pulumi.Input<string>;
  /** Namespace to create it in (default: the host). */
  namespace?: pulumi.Input<string>;
  /** VXLAN network identifier (1-16777215); the same on every machine of one overlay. */
  vni: pulumi.Input<number>;
  /** This machine's underlay address (the source of the tunnel's UDP packets). */
  local?: pulumi.Input<string>;
  /** UDP port (default 4789). */
  port?: pulumi.Input<number>;
  /** Underlay device (e.g. eth0); the kernel then sets the MTU to its MTU less 50. */
  device?: pulumi.Input<string>;
  /** Learn remote MACs from received packets (default false: only the peers' flooding entries). */
  learning?: pulumi.Input<boolean>;
  mtu?: pulumi.Input<number>;
  /** The bridge it is a port of. */
  master?: pulumi.Input<string>;
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  up?: pulumi.Input<boolean>;
  /** Underlay addresses of the other machines: one `bridge fdb append 00:00:00:00:00:00 ... dst PEER` each; changed in place. */
  peers?: pulumi.Input<pulumi.Input<string>[]>;
}

/** A VXLAN link with static flooding entries to its peers (no multicast needed). */
export class Vxlan extends HostnetResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly vni: pulumi.Output<number>;
  declare readonly local: pulumi.Output<string | undefined>;
  declare readonly port: pulumi.Output<number>;
  declare readonly master: pulumi.Output<string | undefined>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly peers: pulumi.Output<string[]>;
  declare readonly ifindex: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string>;

  constructor(name: string, args: VxlanArgs, opts?: pulumi.CustomResourceOptions) {
    claimAsResource(`Vxlan ${name}`, () => {
      const netns = linkNetns(args.namespace, args.host, defaultHost());
      claimInterface(args.machine, netns, `Vxlan "${name}"`, args.name);
      claimVni(args.machine, netns, `Vxlan "${name}"`, args.vni, args.port ?? 4789);
    });
    super("vxlan", "Vxlan", name,
      { host: defaultHost(), port: 4789, learning: false, addresses: [], up: true, peers: [], adopt: false, ...args, tag: ownershipTag(name), ifindex: undefined, mac: undefined, mtu: args.mtu }, opts);
  }
}
