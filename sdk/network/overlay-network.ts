import * as pulumi from "@pulumi/pulumi";
import { Bridge } from "../bridge";
import { defaultHost } from "../common";
import { machineKey, type Machine } from "../machine";
import { NatRule, NetworkIsolation, type FirewallBackend } from "../nat";
import { Sysctl } from "../sysctl";
import { Vxlan } from "../vxlan";
import type { AttachableNetwork, NetworkAttachment } from "./attachment";
import { gatewayModeOf, ipForwardOf, type GatewayMode } from "./bridge-network";
import { claimedByComponent, claimInterface, claimSubnet, claimVni } from "./claims";
import { AddressPool, addressAt, canonicalCidr, parseSubnet, type Subnet } from "./ipam";
import { asComponentError } from "./errors";
import { interfaceNameFor } from "./names";

/** One machine of an overlay network. */
export interface OverlayMemberArgs {
  /** The machine (default: the one Pulumi runs on). */
  machine?: Machine;
  /** Its underlay address: where the other machines send its VXLAN packets, and their source. */
  address: string;
  /** Underlay device the tunnel uses (e.g. eth0); unset: the kernel's route to each peer decides. */
  device?: string;
  /**
   * The gateway address on this machine's bridge, the default route of its containers
   * (default: the subnet's n-th host address for the n-th machine: .1, .2, ...).
   */
  gateway?: string;
  /** The netns that plays the host on that machine (default: stack config `hostnet:host`, else the machine's own). */
  host?: string;
  /** Masquerade only traffic leaving through this interface (default: any, except to the subnet). */
  outInterface?: string;
}

export interface OverlayNetworkArgs {
  /** One IPv4 subnet for the whole overlay, e.g. 10.50.0.0/24; addresses never collide across machines. */
  subnet: string;
  /** VXLAN network identifier, 1-16777215. */
  vni: number;
  /** VXLAN UDP port (default 4789). */
  port?: number;
  machines: OverlayMemberArgs[];
  /**
   * MTU of the bridges, the VXLAN links and every container's interfaces (default 1450: an
   * underlay of 1500 less the 50 bytes VXLAN over IPv4 adds).
   */
  mtu?: number;
  /** SNAT traffic leaving the overlay behind each machine's address (default true). */
  masquerade?: boolean;
  /** Let port forwards answer 127.0.0.1 on each machine (default true). */
  localhostForwards?: boolean;
  /** The bridge's name on every machine (default "br-" + the resource name, cut to 15 characters). */
  bridgeName?: string;
  /** The VXLAN link's name on every machine (default "vx-" + the resource name, cut to 15 characters). */
  vxlanName?: string;
  /** Take over existing bridges and VXLAN links of those names (reconfigured as declared, deleted on destroy). */
  adopt?: boolean;
  /**
   * On each machine, keep new connections from the machine's other isolated networks (bridge
   * networks and overlays) out, as a BridgeNetwork does (default true).
   */
  isolate?: boolean;
  /** As BridgeNetwork's: "nat" (default) lets only published ports in from outside the overlay; "routed" opens it to direct routing. */
  gatewayMode?: GatewayMode;
  /** The backend of the overlay's masquerade and isolation rules (default: nftables where `nft` exists). */
  firewallBackend?: FirewallBackend;
}

/** VXLAN adds 50 bytes to each frame on an IPv4 underlay (outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14). */
export const VXLAN_OVERHEAD = 50;

class MachineAttachment implements NetworkAttachment {
  constructor(
    readonly bridgeResource: Bridge,
    readonly gateway: string,
    readonly prefixLength: number,
    readonly host: string | undefined,
    readonly machine: Machine | undefined,
    readonly mtu: number,
    readonly ready: pulumi.Resource[],
    private readonly pool: AddressPool,
  ) {}

  get bridge(): pulumi.Output<string> {
    return this.bridgeResource.name;
  }

  addressFor(member: string, address?: string): string {
    return address === undefined ? this.pool.allocate(member) : this.pool.claim(member, address);
  }
}

/**
 * One L2 network across several machines, the way Docker's overlay driver and flannel's VXLAN
 * backend make one: on each machine a bridge holding that machine's gateway address and a
 * VXLAN port with a flooding entry to every other machine (no multicast), IPv4 forwarding,
 * and masquerade of traffic leaving the overlay. One address pool serves every machine, so
 * containers never collide; each container's default route is its own machine's gateway.
 * Adding or removing a machine changes the others' peers in place.
 */
export class OverlayNetwork extends pulumi.ComponentResource implements AttachableNetwork {
  readonly subnet: string;
  readonly vni: number;
  readonly mtu: number;
  private readonly parsedSubnet: Subnet;
  private readonly pool: AddressPool;
  private readonly byMachine = new Map<string, MachineAttachment>();
  private readonly networkName: string;

  constructor(name: string, args: OverlayNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hostnet:index:OverlayNetwork", name, {}, opts);
    this.networkName = name;
    try {
      this.parsedSubnet = parseSubnet(args.subnet);
      if (this.parsedSubnet.family !== "ipv4") throw new Error(`subnet ${args.subnet}: only IPv4 overlay networks are supported`);
      this.subnet = args.subnet;
      this.vni = args.vni;
      this.mtu = args.mtu ?? 1500 - VXLAN_OVERHEAD;
      this.pool = new AddressPool(this.parsedSubnet, {});
      if (args.machines.length === 0) throw new Error(`overlay network ${name} needs at least one machine`);
      const keys = args.machines.map((m) => machineKey(m.machine));
      const twice = keys.find((k, i) => keys.indexOf(k) !== i);
      if (twice !== undefined) throw new Error(`overlay network ${name} lists machine ${twice || "(the local one)"} twice`);
      const underlay = args.machines.map((m) => m.address);
      const sameUnderlay = underlay.find((a, i) => underlay.indexOf(a) !== i);
      if (sameUnderlay !== undefined) throw new Error(`overlay network ${name}: two machines have the underlay address ${sameUnderlay}`);

      const bridgeName = args.bridgeName ?? interfaceNameFor("br-", name);
      const vxlanName = args.vxlanName ?? interfaceNameFor("vx-", name);
      // Gateways first: explicit ones, then the n-th host for the n-th machine.
      const gatewayMode = gatewayModeOf(args.gatewayMode);
      const isolate = args.isolate ?? true;
      const backend = args.firewallBackend ? { firewallBackend: args.firewallBackend } : {};
      const subnet = canonicalCidr(this.parsedSubnet);
      const gateways = args.machines.map((m, i) => this.pool.claim(`the gateway of ${name} on ${m.machine?.name ?? "the local machine"}`, m.gateway ?? addressAt(this.parsedSubnet, 1 + i)));

      args.machines.forEach((member, i) => {
        const machine = member.machine;
        const host = member.host ?? defaultHost();
        const label = `${name}-${machine?.name ?? "local"}`;
        // The program's other networks, names and VNIs on this machine; the kernel's, in the children's checks.
        const owner = `network "${name}"`;
        claimSubnet(machine, host, owner, subnet);
        claimInterface(machine, host, `the bridge of ${owner}`, bridgeName);
        claimInterface(machine, host, `the VXLAN link of ${owner}`, vxlanName);
        claimVni(machine, host, owner, args.vni, args.port ?? 4789);
        const bridge = claimedByComponent(() => new Bridge(`${label}-bridge`, { name: bridgeName, addresses: [`${gateways[i]}/${this.parsedSubnet.prefixLength}`], mtu: this.mtu, host, machine, adopt: args.adopt, network: { name, subnets: [subnet] } }, { parent: this }));
        const vxlan = claimedByComponent(() => new Vxlan(
          `${label}-vxlan`,
          { name: vxlanName, vni: args.vni, port: args.port ?? 4789, local: member.address, device: member.device, master: bridge.name, mtu: this.mtu, peers: underlay.filter((a) => a !== member.address), host, machine, adopt: args.adopt },
          { parent: this },
        ));
        const ready: pulumi.Resource[] = [bridge, vxlan, ipForwardOf(machine, host)];
        if (args.localhostForwards ?? true) {
          ready.push(new Sysctl(`${label}-route-localnet`, { key: pulumi.interpolate`net.ipv4.conf.${bridge.name}.route_localnet`, value: "1", host, machine }, { parent: this }));
        }
        if (args.masquerade ?? true) {
          ready.push(new NatRule(`${label}-masquerade`, { type: "masquerade", source: this.subnet, excludeDestination: this.subnet, outInterface: member.outInterface, host, machine, ...backend }, { parent: this, dependsOn: [bridge] }));
        }
        // The VXLAN port is on the bridge: the other machines' containers are bridge-local, never forwarded.
        if (isolate || gatewayMode === "nat") {
          ready.push(new NetworkIsolation(`${label}-isolation`, { bridge: bridge.name, host, machine, gatewayMode, ...(isolate ? {} : { isolate }), ...backend }, { parent: this }));
        }
        this.byMachine.set(machineKey(machine), new MachineAttachment(bridge, gateways[i]!, this.parsedSubnet.prefixLength, host, machine, this.mtu, ready, this.pool));
      });
      this.registerOutputs({ subnet: this.subnet, vni: this.vni, mtu: this.mtu, gateways });
    } catch (err) {
      throw asComponentError(this, `OverlayNetwork ${name}`, err);
    }
  }

  attachmentFor(machine: Machine | undefined): NetworkAttachment {
    const attachment = this.byMachine.get(machineKey(machine));
    if (!attachment) {
      throw new Error(`overlay network ${this.networkName} does not span ${machine ? `machine ${machine.name}` : "the machine Pulumi runs on"}: add it to its machines`);
    }
    return attachment;
  }

  /** The gateway (bridge address) on a machine of the overlay. */
  gatewayOn(machine: Machine | undefined): string {
    return this.attachmentFor(machine).gateway;
  }
}
