import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag } from "./common";
import type { Machine } from "./machine";
import { HostnetResource } from "./stub";

export type FirewallBackend = "auto" | "nftables" | "iptables";

interface FirewallPlacement {
  /** The machine to act on, over SSH (default: the one Pulumi runs on). */
  machine?: Machine;
  /** Namespace whose firewall gets the rules (default: the host). */
  namespace?: pulumi.Input<string>;
  host?: pulumi.Input<string>;
  /** nftables (our table `hostnet`) unless `nft` is missing; or force one. */
  firewallBackend?: pulumi.Input<FirewallBackend>;
}

export interface NatRuleArgs extends FirewallPlacement {
  type: pulumi.Input<"masquerade" | "snat" | "dnat">;
  /** Source address or network to match. */
  source?: pulumi.Input<string>;
  destination?: pulumi.Input<string>;
  /** Match every destination except this address or network. */
  excludeDestination?: pulumi.Input<string>;
  /** Output interface (masquerade, snat). */
  outInterface?: pulumi.Input<string>;
  /** Input interface (dnat). */
  inInterface?: pulumi.Input<string>;
  /** Address to rewrite the source to (snat). */
  toSource?: pulumi.Input<string>;
  /** Address to rewrite the destination to (dnat). */
  toDestination?: pulumi.Input<string>;
  protocol?: pulumi.Input<"tcp" | "udp">;
  /** Destination port to match: 80 or "8000-8010". */
  destinationPort?: pulumi.Input<number | string>;
  /** Port to rewrite the destination port to (dnat). */
  toPort?: pulumi.Input<number | string>;
}

/** A masquerade, SNAT or DNAT rule, tagged with this resource in our own table or chains. */
export class NatRule extends HostnetResource {
  declare readonly type: pulumi.Output<string>;
  /** The firewall backend that holds the rules: nftables or iptables. */
  declare readonly backend: pulumi.Output<string>;
  declare readonly ruleCount: pulumi.Output<number>;

  constructor(name: string, args: NatRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super("natrule", "NatRule", name, { host: defaultHost(), firewallBackend: "auto", ...args, tag: ownershipTag(name), backend: undefined, family: undefined, ruleCount: undefined }, opts);
  }
}

export interface PortForwardArgs extends FirewallPlacement {
  protocol: pulumi.Input<"tcp" | "udp">;
  /** Host port, or a range "8000-8010" (forwarded to the same ports on the target). */
  hostPort: pulumi.Input<number | string>;
  /** Listen on this host address only; default (or 0.0.0.0) every address of the host, like Docker. */
  hostAddress?: pulumi.Input<string>;
  /** The address to forward to (a container's). */
  target: pulumi.Input<string>;
  /** Port on the target (default: hostPort). */
  targetPort?: pulumi.Input<number>;
  /** Answer the host's own connections too, to its addresses and to 127.0.0.1 (default true; 127.0.0.1 needs route_localnet on the target's interface). */
  fromHost?: pulumi.Input<boolean>;
  /** Let the target's neighbours reach it through the host port (default true). */
  hairpin?: pulumi.Input<boolean>;
}

/** A port forward (DNAT) from the host to a target behind it. */
export class PortForward extends HostnetResource {
  declare readonly hostPort: pulumi.Output<number | string>;
  declare readonly target: pulumi.Output<string>;
  declare readonly backend: pulumi.Output<string>;
  declare readonly hairpinNetwork: pulumi.Output<string | undefined>;
  declare readonly ruleCount: pulumi.Output<number>;

  constructor(name: string, args: PortForwardArgs, opts?: pulumi.CustomResourceOptions) {
    super("portforward", "PortForward", name,
      { host: defaultHost(), firewallBackend: "auto", fromHost: true, hairpin: true, ...args, tag: ownershipTag(name), backend: undefined, family: undefined, ruleCount: undefined, hairpinNetwork: undefined }, opts);
  }
}

export interface NetworkIsolationArgs {
  machine?: Machine;
  host?: pulumi.Input<string>;
  firewallBackend?: pulumi.Input<FirewallBackend>;
  /** The isolated network's bridge. */
  bridge: pulumi.Input<string>;
  /** Bridges whose containers may open connections into this one (replies flow back). */
  allowFrom?: pulumi.Input<pulumi.Input<string>[]>;
  /** The family whose traffic is isolated (default ipv4; a dual-stack BridgeNetwork makes one per family). */
  family?: "ipv4" | "ipv6";
  /**
   * "nat": new connections from any other interface (the LAN by direct routing, other
   * networks) are dropped unless a published port destination-NATed them, as Docker 28's
   * default gateway mode; "routed": only the other isolated networks are kept out. Default:
   * routed here (what this resource always did); BridgeNetwork and OverlayNetwork default to nat.
   */
  gatewayMode?: "nat" | "routed";
  /** Keep this network's containers out of the other isolated networks (default true). */
  isolate?: boolean;
}

/**
 * Keeps new connections from the other isolated bridges out of this one, as Docker isolates
 * its networks (BridgeNetwork makes one per network). Published ports (DNAT) and replies pass.
 */
export class NetworkIsolation extends HostnetResource {
  declare readonly bridge: pulumi.Output<string>;
  declare readonly allowFrom: pulumi.Output<string[]>;
  declare readonly backend: pulumi.Output<string>;
  declare readonly ruleCount: pulumi.Output<number>;
  /** The rules it keeps in Docker's DOCKER-USER chain (iptables argv), when Docker runs on the host. */
  declare readonly dockerUser: pulumi.Output<{ backend: string; rules: string[] } | undefined>;

  constructor(name: string, args: NetworkIsolationArgs, opts?: pulumi.CustomResourceOptions) {
    super("isolation", "NetworkIsolation", name,
      { host: defaultHost(), firewallBackend: "auto", allowFrom: [], ...args, tag: ownershipTag(name), backend: undefined, family: args.family, gatewayMode: args.gatewayMode, isolate: args.isolate, dockerUser: undefined, ruleCount: undefined }, opts);
  }
}
