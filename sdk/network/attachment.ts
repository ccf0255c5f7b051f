import type * as pulumi from "@pulumi/pulumi";
import type { Machine } from "../machine";

/**
 * What a bridge-mode container joins on its machine: a bridge, the gateway on it, and the
 * network's address pool. A `BridgeNetwork` is one; an `OverlayNetwork` has one per machine.
 */
export interface NetworkAttachment {
  readonly bridge: pulumi.Output<string>;
  readonly bridgeResource: pulumi.Resource;
  readonly gateway: string;
  readonly prefixLength: number;
  readonly host: string | undefined;
  readonly machine: Machine | undefined;
  /** The MTU every endpoint of the network takes unless it sets its own. */
  readonly mtu: number | undefined;
  /** Resources a container's port forwards must wait for (forwarding, route_localnet, NAT). */
  readonly ready: pulumi.Resource[];
  addressFor(member: string, address?: string): string;
  /** The network's IPv6 side when it is dual stack (its first family, `gateway`, is then IPv4). */
  readonly ipv6?: Ipv6Attachment;
  /** Whether forwards answer the host on its loopback addresses (127.0.0.1, [::1]); default true. */
  readonly localhostForwards?: boolean;
}

/** A dual-stack network's second family: its gateway, prefix and address pool. */
export interface Ipv6Attachment {
  readonly gateway: string;
  readonly prefixLength: number;
  addressFor(member: string, address?: string): string;
}

/** A network that containers join, on the machine they are on. */
export interface AttachableNetwork {
  attachmentFor(machine: Machine | undefined): NetworkAttachment;
}
