import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag, type PlacementArgs } from "./common";
import type { FirewallBackend } from "./nat";
import { HostnetResource } from "./stub";
import { claimAsResource, claimInterface, claimNamespace, linkNetns } from "./network/claims";

export interface BridgeEndpointArgs extends PlacementArgs {
  /** The container's netns, made (and deleted) by this resource; not given with `existingNamespace`. */
  namespace?: pulumi.Input<string>;
  /**
   * A netns someone else made (a running container's, a CNI ADD's): the pair, address and route
   * go into it, and destroy removes only those. Never made nor deleted by this resource.
   */
  existingNamespace?: pulumi.Input<ExistingNamespaceArgs>;
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
  /** Dual stack: the container end's IPv6 address with its prefix, beside an IPv4 `address` (IPv6 only: put it in `address`). */
  ipv6Address?: pulumi.Input<string>;
  /** Dual stack: the IPv6 default route's gateway. */
  ipv6Gateway?: pulumi.Input<string>;
  /**
   * IPv6 forwards answer the host on [::1] through a socat proxy the endpoint starts and
   * supervises (default true): the kernel cannot NAT ::1.
   */
  loopbackProxy?: pulumi.Input<boolean>;
  mtu?: pulumi.Input<number>;
  /** Host ports forwarded to the container (DNAT from outside and from the host, hairpin). */
  ports?: pulumi.Input<pulumi.Input<EndpointPortArgs>[]>;
  firewallBackend?: pulumi.Input<FirewallBackend>;
}

/**
 * A network namespace made by someone else, by exactly one of: its name under /run/netns; a
 * path to a namespace file (`/proc/PID/ns/net`, `/var/run/docker/netns/ID`); a process's PID.
 * A path or a PID gets a name of ours under /run/netns (`hostnet-<hash>`, the resource's
 * `namespace` output), removed on destroy; the namespace itself is left to its owner.
 */
export type ExistingNamespaceArgs = { name: pulumi.Input<string> } | { path: pulumi.Input<string> } | { pid: pulumi.Input<number> };

export interface EndpointPortArgs {
  protocol?: pulumi.Input<"tcp" | "udp">;
  /** A port, or a range "8000-8010" (forwarded to the same ports). */
  hostPort: pulumi.Input<number | string>;
  /** Only this host address answers (default: every address of the host). */
  hostAddress?: pulumi.Input<string>;
  /** The container's port (default: hostPort). */
  targetPort?: pulumi.Input<number>;
}

/**
 * A container's place on a bridge, as one resource: its netns, the veth pair from the bridge
 * into it, the container end's address, `lo`, the default route and its port forwards. What
 * `ContainerNetwork`'s bridge mode is made of; the same objects as `Namespace`, `VethPair`,
 * `Route` and `PortForward` cost the engine four resources and the kernel more processes.
 */
export class BridgeEndpoint extends HostnetResource {
  declare readonly namespace: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  declare readonly hostInterface: pulumi.Output<string>;
  declare readonly interfaceName: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;
  declare readonly gateway: pulumi.Output<string | undefined>;
  declare readonly ipv6Address: pulumi.Output<string | undefined>;
  declare readonly ipv6Gateway: pulumi.Output<string | undefined>;
  /** /run/netns/<namespace>, for tools that take a netns path (with a path or PID: our name for it). */
  declare readonly path: pulumi.Output<string>;
  declare readonly mac: pulumi.Output<string>;
  declare readonly containerMac: pulumi.Output<string>;
  /** The firewall backend the forwards went to (nftables, iptables), if there are any. */
  declare readonly backend: pulumi.Output<string | undefined>;
  declare readonly ruleCount: pulumi.Output<number>;

  constructor(name: string, args: BridgeEndpointArgs, opts?: pulumi.CustomResourceOptions) {
    claimAsResource(`BridgeEndpoint ${name}`, () => {
      // A netns someone else made is joined, not claimed.
      if (args.existingNamespace === undefined) claimNamespace(args.machine, `BridgeEndpoint "${name}"`, args.namespace);
      claimInterface(args.machine, linkNetns(undefined, args.host, defaultHost()), `BridgeEndpoint "${name}"`, args.hostInterface);
    });
    super("endpoint", "BridgeEndpoint", name, endpointProps(args, name), opts);
  }
}

/** What a BridgeEndpoint registers; `tagName` names its ownership tag. */
export function endpointProps(args: BridgeEndpointArgs, tagName: string): pulumi.Inputs {
  return { host: defaultHost(), interfaceName: "eth0", ports: [], firewallBackend: "auto", adopt: false, ...args, tag: ownershipTag(tagName), path: undefined, mac: undefined, containerMac: undefined, backend: undefined, ruleCount: undefined };
}
