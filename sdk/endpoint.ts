import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

export interface BridgeEndpointArgs extends PlacementArgs {
  /** The container's netns, made (and deleted) by this resource. */
  namespace: pulumi.Input<string>;
  /** The bridge the host end joins. */
  bridge: pulumi.Input<string>;
  /** The host end of the veth pair. */
  hostInterface: pulumi.Input<string>;
  /** The container end (default eth0). */
  interfaceName?: pulumi.Input<string>;
  /** The container end's address with its prefix, e.g. 10.88.0.2/16. */
  address: pulumi.Input<string>;
  /** The default route inside the container goes via this address (none when unset). */
  gateway?: pulumi.Input<string>;
  mtu?: pulumi.Input<number>;
}

/**
 * A container's place on a bridge, as one resource: its netns, the veth pair from the bridge
 * into it, the container end's address, `lo` and the default route. What `ContainerNetwork`'s
 * bridge mode is made of; the same objects as `Namespace`, `VethPair` and `Route` cost the
 * engine three resources and the kernel several more processes.
 */
export class BridgeEndpoint extends HostnetResource {
  declare readonly namespace: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  declare readonly hostInterface: pulumi.Output<string>;
  declare readonly interfaceName: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;
  declare readonly gateway: pulumi.Output<string | undefined>;
  /** /run/netns/<namespace>, for tools that take a netns path. */
  declare readonly path: pulumi.Output<string>;
  declare readonly mac: pulumi.Output<string>;
  declare readonly containerMac: pulumi.Output<string>;

  constructor(name: string, args: BridgeEndpointArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "endpoint",
      "BridgeEndpoint",
      name,
      { host: defaultHost(), interfaceName: "eth0", adopt: false, ...args, tag: ownershipTag(name), path: undefined, mac: undefined, containerMac: undefined },
      opts,
    );
  }
}
