import * as pulumi from "@pulumi/pulumi";
import { Bridge } from "../bridge";
import { defaultHost } from "../common";
import { machineKey, type Machine } from "../machine";
import { NatRule, NetworkIsolation, type FirewallBackend } from "../nat";
import { Sysctl } from "../sysctl";
import { claimedByComponent, claimInterface, claimSubnet } from "./claims";
import { AddressPool, canonicalCidr, firstHost, parseSubnet, type Subnet } from "./ipam";
import { interfaceNameFor } from "./names";
import type { AttachableNetwork, Ipv6Attachment, NetworkAttachment } from "./attachment";
import { planned } from "./errors";
import { sharedOnce } from "./registry";

export type GatewayMode = "nat" | "routed";

export interface BridgeNetworkArgs {
  /** The bridge's interface name (default "br-" + the resource name, cut to fit 15 characters). */
  bridgeName?: string;
  /**
   * Subnet of the network, e.g. 10.0.3.0/24; an IPv6 one (e.g. fd00:3::/64, at most a /120)
   * makes an IPv6-only network.
   */
  subnet: string;
  /** The bridge's address and the containers' default gateway (default: the first host address). */
  gateway?: string;
  /**
   * A second subnet, IPv6, beside an IPv4 `subnet`: a dual-stack network. Containers get an
   * address in both (automatic in both unless given), a default route in both, and their ports
   * are published in both; masquerade, forwarding and isolation are made for both.
   */
  ipv6Subnet?: string;
  /** The bridge's IPv6 address and the containers' IPv6 gateway (default: the first host address of ipv6Subnet). */
  ipv6Gateway?: string;
  /** SNAT the network's traffic to other networks behind the host's address (default true). */
  masquerade?: boolean;
  /** Masquerade only traffic leaving through this interface (default: any, except to the subnet itself). */
  outInterface?: pulumi.Input<string>;
  mtu?: number;
  /** The bridge's MAC (the gateway's); default: a stable one derived from the bridge resource. */
  mac?: string;
  /** Turn on forwarding in the host, IPv4 and IPv6 as the network has them (default true; one Sysctl per family and host, shared by every network). */
  ipForward?: boolean;
  /**
   * Let port forwards to this network answer the host at 127.0.0.1 (route_localnet on the
   * bridge) and at [::1] (a socat proxy per IPv6 port: the kernel cannot NAT ::1); default true.
   */
  localhostForwards?: boolean;
  host?: string;
  /** The machine the network is on, over SSH (default: the one Pulumi runs on). */
  machine?: Machine;
  /** Take over an existing bridge of that name (it is then reconfigured as declared and deleted on destroy). */
  adopt?: boolean;
  /**
   * Keep new connections from the host's other isolated bridge networks out, as Docker does
   * (default true). Published ports, replies and the host itself still reach the network.
   */
  isolate?: boolean;
  /**
   * How the gateway treats new connections into the network from outside it, as Docker 28's
   * `com.docker.network.bridge.gateway_mode_ipv4/ipv6`. "nat" (default): only published ports
   * (destination-NATed) are reachable; a LAN host with a route to the subnet through this host
   * reaches nothing else, nor do other networks. "routed": the containers' addresses are
   * reachable by direct routing (the other isolated networks are still kept out when `isolate`).
   * Replies, the host itself and the network's own containers are never affected.
   */
  gatewayMode?: GatewayMode;
  /** The backend of the network's masquerade and isolation rules (default: nftables where `nft` exists). */
  firewallBackend?: FirewallBackend;
  /** Networks on this host whose containers may open connections into this one (one way: declare it on both for both ways). */
  allowFrom?: BridgeNetwork[];
  /**
   * Use this bridge someone else made (docker0, virbr0) instead of making one: our ports,
   * masquerade and sysctls go on it, and destroy leaves the bridge and its addresses as they
   * were. The gateway address must already be on it. Not with bridgeName, adopt or mac; `mtu`
   * then sets only the containers' interfaces.
   */
  existingBridge?: string;
}

/**
 * A bridge network as Docker's bridge driver makes it: a bridge holding the gateway address,
 * forwarding, masquerade of the subnet, and an address pool for its containers; IPv4, IPv6
 * only, or both (`ipv6Subnet`), each family with its own of each.
 */
export class BridgeNetwork extends pulumi.ComponentResource implements AttachableNetwork, NetworkAttachment {
  readonly bridge: pulumi.Output<string>;
  readonly gateway: string;
  readonly subnet: string;
  /** The IPv6 subnet of a dual-stack network. */
  readonly ipv6Subnet: string | undefined;
  readonly ipv6Gateway: string | undefined;
  readonly ipv6: Ipv6Attachment | undefined;
  readonly localhostForwards: boolean;
  readonly host: string | undefined;
  readonly machine: Machine | undefined;
  /** The MTU of the bridge and, unless they set their own, of every container's interfaces. */
  readonly mtu: number | undefined;
  readonly bridgeResource: Bridge;
  /** Resources a container attached to the network must wait for (forwarding, NAT). */
  readonly ready: pulumi.Resource[];
  private readonly pool: AddressPool;
  private readonly networkName: string;
  private readonly parsedSubnet: Subnet;

  constructor(name: string, args: BridgeNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hostnet:index:BridgeNetwork", name, {}, opts);
    this.networkName = name;
    this.parsedSubnet = planned(this, `BridgeNetwork ${name}: subnet`, () => parseSubnet(args.subnet));
    this.subnet = args.subnet;
    this.gateway = args.gateway ?? firstHost(this.parsedSubnet);
    this.host = args.host ?? defaultHost();
    this.machine = args.machine;
    this.mtu = args.mtu;
    const machine = args.machine;
    this.pool = new AddressPool(this.parsedSubnet, {});
    this.gateway = planned(this, `BridgeNetwork ${name}: gateway`, () => this.pool.claim(`the gateway of ${name}`, this.gateway));
    this.localhostForwards = args.localhostForwards ?? true;
    const ipv6 = planned(this, `BridgeNetwork ${name}: ipv6Subnet`, () => ipv6Side(name, this.parsedSubnet, args));
    this.ipv6 = ipv6?.attachment;
    this.ipv6Subnet = ipv6?.subnet.cidr;
    this.ipv6Gateway = ipv6?.attachment.gateway;
    const families = [this.parsedSubnet.family, ...(ipv6 ? ["ipv6" as const] : [])];

    const existing = args.existingBridge;
    planned(this, `BridgeNetwork ${name}: existingBridge`, () => {
      const clash = (["bridgeName", "adopt", "mac"] as const).filter((k) => existing !== undefined && args[k] !== undefined && args[k] !== false);
      if (clash.length) throw new Error(`${clash.join(", ")} cannot be set with existingBridge (${existing}): that bridge is used as it is`);
    });
    const bridgeName = existing ?? args.bridgeName ?? interfaceNameFor("br-", name);
    const gatewayAddresses = [`${this.gateway}/${this.parsedSubnet.prefixLength}`, ...(ipv6 ? [`${ipv6.attachment.gateway}/${ipv6.subnet.prefixLength}`] : [])];
    // Another network of the program on these subnets or this bridge name is refused here; the
    // host's own addresses and routes, and other stacks' networks, in the bridge's check.
    const network = { name, subnets: [this.parsedSubnet, ...(ipv6 ? [ipv6.subnet] : [])].map(canonicalCidr) };
    planned(this, `BridgeNetwork ${name}`, () => {
      for (const subnet of network.subnets) claimSubnet(machine, this.host, `network "${name}"`, subnet);
      if (existing === undefined) claimInterface(machine, this.host, `the bridge of network "${name}"`, bridgeName);
    });
    this.bridgeResource = claimedByComponent(() => new Bridge(
      `${name}-bridge`,
      existing !== undefined
        ? { name: existing, addresses: gatewayAddresses, existing: true, host: this.host, machine }
        : { name: bridgeName, addresses: gatewayAddresses, mtu: args.mtu, mac: args.mac, host: this.host, machine, adopt: args.adopt, network },
      { parent: this },
    ));
    this.bridge = this.bridgeResource.name;
    this.ready = [this.bridgeResource];

    if (args.ipForward ?? true) {
      // One per host for the whole program: two networks must not restore it under each other.
      if (families.includes("ipv4")) this.ready.push(ipForwardOf(machine, this.host));
      if (families.includes("ipv6")) this.ready.push(ip6ForwardOf(machine, this.host));
    }
    // IPv6's [::1] needs no sysctl: the endpoints' proxies answer there.
    if (this.localhostForwards && families.includes("ipv4")) {
      this.ready.push(new Sysctl(`${name}-route-localnet`, { key: pulumi.interpolate`net.ipv4.conf.${this.bridge}.route_localnet`, value: "1", host: this.host, machine }, { parent: this }));
    }
    // Left out when unset, so the resources keep their own default.
    const backend = args.firewallBackend ? { firewallBackend: args.firewallBackend } : {};
    // The first family's resources keep their names (an IPv4 network's as ever); the IPv6 side's end in "6".
    const subnets = [this.subnet, ...(ipv6 ? [ipv6.subnet.cidr] : [])];
    if (args.masquerade ?? true) {
      subnets.forEach((subnet, i) => {
        this.ready.push(
          new NatRule(
            `${name}-masquerade${i ? "6" : ""}`,
            { type: "masquerade", source: subnet, excludeDestination: subnet, outInterface: args.outInterface, host: this.host, machine, ...backend },
            { parent: this, dependsOn: [this.bridgeResource] },
          ),
        );
      });
    }
    const gatewayMode = planned(this, `BridgeNetwork ${name}: gatewayMode`, () => gatewayModeOf(args.gatewayMode));
    const isolate = args.isolate ?? true;
    if (isolate || gatewayMode === "nat") {
      const allowFrom = (args.allowFrom ?? []).map((other) => planned(this, `BridgeNetwork ${name}: allowFrom`, () => this.sameHost(other)).bridge);
      families.forEach((family, i) => {
        // Unset for IPv4: the isolation of an IPv4 network keeps the inputs it always had.
        const ofFamily = family === "ipv6" ? { family } : {};
        this.ready.push(
          new NetworkIsolation(
            `${name}-isolation${i ? "6" : ""}`,
            { bridge: this.bridge, allowFrom, host: this.host, machine, gatewayMode, ...(isolate ? {} : { isolate }), ...ofFamily, ...backend },
            { parent: this },
          ),
        );
      });
    } else if (args.allowFrom?.length) {
      planned(this, `BridgeNetwork ${name}: allowFrom`, () => {
        throw new Error("allowFrom makes exceptions to isolation and to the NAT gateway mode: it needs isolate (not false) or gatewayMode nat");
      });
    }
    this.registerOutputs({ bridge: this.bridge, gateway: this.gateway, subnet: this.subnet, ipv6Subnet: this.ipv6Subnet, ipv6Gateway: this.ipv6Gateway });
  }

  /** The address of a container on this network: `address` when given (and free), else a stable free one. */
  addressFor(member: string, address?: string): string {
    return address === undefined ? this.pool.allocate(member) : this.pool.claim(member, address);
  }

  get prefixLength(): number {
    return this.parsedSubnet.prefixLength;
  }

  /** `other`, when it is on this network's machine and host: only there can it be allowed in. */
  private sameHost(other: BridgeNetwork): BridgeNetwork {
    if (machineKey(other.machine) !== machineKey(this.machine) || other.host !== this.host) {
      throw new Error(`network ${other.networkName} is not on the same machine and host as ${this.networkName}: only a network on the same host can be allowed in`);
    }
    if (other === this) throw new Error(`a network's own containers always reach each other: ${this.networkName} need not allow itself`);
    return other;
  }

  attachmentFor(machine: Machine | undefined): NetworkAttachment {
    if (machine !== undefined && machineKey(machine) !== machineKey(this.machine)) {
      throw new Error(`bridge network ${this.networkName} is on ${this.machine ? `machine ${this.machine.name}` : "the machine Pulumi runs on"}, not on machine ${machine.name}: a container joins a bridge network on its own machine (an OverlayNetwork spans machines)`);
    }
    return this;
  }
}

/**
 * The IPv6 side of a dual-stack network, or undefined: `ipv6Subnet` must be IPv6 and go beside
 * an IPv4 `subnet`; `ipv6Gateway` needs it.
 */
function ipv6Side(name: string, first: Subnet, args: BridgeNetworkArgs): { subnet: Subnet; attachment: Ipv6Attachment } | undefined {
  if (args.ipv6Subnet === undefined) {
    if (args.ipv6Gateway !== undefined) throw new Error(`ipv6Gateway ${args.ipv6Gateway} needs ipv6Subnet${first.family === "ipv6" ? ` (the network is IPv6 only: its gateway is gateway)` : ""}`);
    return undefined;
  }
  if (first.family === "ipv6") throw new Error(`subnet ${first.cidr} is IPv6 already: ipv6Subnet goes beside an IPv4 subnet (leave it out for an IPv6-only network)`);
  const subnet = parseSubnet(args.ipv6Subnet);
  if (subnet.family !== "ipv6") throw new Error(`ipv6Subnet ${args.ipv6Subnet} is not an IPv6 subnet (an IPv4 one goes in subnet)`);
  const pool = new AddressPool(subnet, {});
  const gateway = pool.claim(`the IPv6 gateway of ${name}`, args.ipv6Gateway ?? firstHost(subnet));
  return {
    subnet,
    attachment: { gateway, prefixLength: subnet.prefixLength, addressFor: (member, address) => (address === undefined ? pool.allocate(member) : pool.claim(member, address)) },
  };
}

/** A network's gateway mode, checked: JavaScript callers can pass anything. */
export function gatewayModeOf(mode: string | undefined): GatewayMode {
  if (mode === undefined || mode === "nat" || mode === "routed") return mode ?? "nat";
  throw new Error(`gatewayMode ${JSON.stringify(mode)} is not "nat" or "routed"`);
}

/**
 * The one IPv4 forwarding Sysctl of a machine's host netns for the whole program: two
 * networks must not restore it under each other.
 */
export function ipForwardOf(machine: Machine | undefined, host: string | undefined): Sysctl {
  const where = [machine?.name, host].filter(Boolean).join("-");
  return sharedOnce(`ip_forward/${machineKey(machine)}/${host ?? ""}`, () => new Sysctl(`ip-forward${where ? `-${where}` : ""}`, { key: "net.ipv4.ip_forward", value: "1", host, machine }));
}

/** The one IPv6 forwarding Sysctl of a machine's host netns for the whole program (as ipForwardOf). */
export function ip6ForwardOf(machine: Machine | undefined, host: string | undefined): Sysctl {
  const where = [machine?.name, host].filter(Boolean).join("-");
  return sharedOnce(`ip6_forward/${machineKey(machine)}/${host ?? ""}`, () => new Sysctl(`ip6-forward${where ? `-${where}` : ""}`, { key: "net.ipv6.conf.all.forwarding", value: "1", host, machine }));
}
