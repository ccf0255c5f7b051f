import * as pulumi from "@pulumi/pulumi";
import { defaultHost } from "../common";
import { BridgeEndpoint } from "../endpoint";
import { machineKey, type Machine } from "../machine";
import { Namespace } from "../namespace";
import type { AttachableNetwork } from "./attachment";
import { interfaceNameFor, namespaceNameFor } from "./names";
import { asComponentError } from "./errors";
import { claimHostPort } from "./registry";

export interface PortMapping {
  /** Host port, or a range "8000-8010" (mapped to the same container ports). */
  hostPort: number | string;
  /** Container port (default: hostPort). */
  containerPort?: number;
  protocol?: "tcp" | "udp";
  /** Only this host address answers (default: all of them). */
  hostAddress?: string;
}

interface Common {
  /** Netns name (default: the resource name). */
  namespaceName?: string;
  host?: string;
  /**
   * The machine the container is on, over SSH (default: the one Pulumi runs on; in bridge
   * mode, the machine of a BridgeNetwork). On an OverlayNetwork it picks the machine.
   */
  machine?: Machine;
  /**
   * Take over an existing netns of that name (and, in bridge mode, its host end): it is then
   * configured as declared and deleted on destroy.
   */
  adopt?: boolean;
}

/** Docker's network modes, rebuilt from namespaces, bridge endpoints and NAT rules (seed 002). */
export type ContainerNetworkArgs =
  | ({ mode: "none"; loopbackUp?: boolean } & Common)
  | { mode: "host"; host?: string; machine?: Machine }
  | { mode: "container"; container: ContainerNetwork }
  | ({
      mode: "bridge";
      /** A BridgeNetwork, or an OverlayNetwork that spans the container's machine. */
      network: AttachableNetwork;
      /** IPv4 address on the network (default: a stable free one from its subnet). */
      address?: string;
      /** The interface inside the container (default eth0). */
      interfaceName?: string;
      /** The host end of the veth pair (default "vh-" + the resource name, cut to 15 characters). */
      hostInterfaceName?: string;
      ports?: PortMapping[];
      /** MTU of the container's interfaces (default: the network's). */
      mtu?: number;
    } & Common);

/** A container's network: its namespace (none, bridge), the host's (host) or another container's (container). */
export class ContainerNetwork extends pulumi.ComponentResource {
  readonly mode: ContainerNetworkArgs["mode"];
  /** The netns of the container; undefined in host mode (the host's). */
  readonly namespace: pulumi.Output<string | undefined>;
  /** Its address on a bridge network (bridge mode, and container mode joining one). */
  readonly address: pulumi.Output<string | undefined>;
  /** Its interface on the network (bridge mode). */
  readonly interfaceName: pulumi.Output<string | undefined>;
  readonly gateway: pulumi.Output<string | undefined>;
  readonly host: string | undefined;
  readonly machine: Machine | undefined;

  constructor(name: string, args: ContainerNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hostnet:index:ContainerNetwork", name, {}, opts);
    this.mode = args.mode;
    const none = pulumi.output(undefined as string | undefined);
    try {
      switch (args.mode) {
        case "host":
          this.machine = args.machine;
          this.host = args.host ?? defaultHost();
          this.namespace = this.host ? pulumi.output(this.host) : none;
          this.address = none;
          this.interfaceName = none;
          this.gateway = none;
          break;
        case "container":
          // Sharing a namespace makes nothing new: same links, same addresses, same lo.
          this.host = args.container.host;
          this.machine = args.container.machine;
          this.namespace = args.container.namespace;
          this.address = args.container.address;
          this.interfaceName = args.container.interfaceName;
          this.gateway = args.container.gateway;
          break;
        case "none": {
          this.machine = args.machine;
          this.host = args.host ?? defaultHost();
          const ns = new Namespace(`${name}-netns`, { name: args.namespaceName ?? namespaceNameFor(name), loopbackUp: args.loopbackUp ?? true, machine: args.machine, adopt: args.adopt }, { parent: this });
          this.namespace = ns.name;
          this.address = none;
          this.interfaceName = none;
          this.gateway = none;
          break;
        }
        case "bridge": {
          // A BridgeNetwork is on one machine (args.machine may only repeat it); an overlay has one attachment per machine.
          const network = args.network.attachmentFor(args.machine);
          this.machine = network.machine;
          this.host = network.host;
          const address = network.addressFor(name, args.address);
          const inside = args.interfaceName ?? "eth0";
          const ports = (args.ports ?? []).map((port) => {
            const protocol = port.protocol ?? "tcp";
            const range = String(port.hostPort).split("-").map(Number);
            claimHostPort(`${machineKey(this.machine)}/${this.host ?? ""}`, { owner: name, protocol, address: port.hostAddress ?? "", from: range[0] ?? 0, to: range[1] ?? range[0] ?? 0 });
            return { protocol, hostPort: port.hostPort, hostAddress: port.hostAddress, targetPort: port.containerPort };
          });
          // One resource for the netns, the veth pair, the address, the default route and the
          // port forwards: one engine step and about 1.5 processes per container, where the
          // same objects as separate resources cost four steps and seven processes.
          const endpoint = new BridgeEndpoint(
            `${name}-endpoint`,
            {
              namespace: args.namespaceName ?? namespaceNameFor(name),
              bridge: network.bridge,
              hostInterface: args.hostInterfaceName ?? interfaceNameFor("vh-", name),
              interfaceName: inside,
              address: `${address}/${network.prefixLength}`,
              gateway: network.gateway,
              // Every interface of a network takes its MTU, as Docker's network MTU option does.
              mtu: args.mtu ?? network.mtu,
              ports,
              host: this.host,
              machine: this.machine,
              adopt: args.adopt,
            },
            // Forwards answer 127.0.0.1 once the network's route_localnet is set.
            { parent: this, dependsOn: [network.bridgeResource, ...(ports.length ? network.ready : [])] },
          );
          this.namespace = endpoint.namespace;
          this.address = pulumi.output(address);
          this.interfaceName = pulumi.output(inside);
          this.gateway = pulumi.output(network.gateway);
          break;
        }
      }
    } catch (err) {
      throw asComponentError(this, `ContainerNetwork ${name}`, err);
    }
    this.registerOutputs({ namespace: this.namespace, address: this.address, interfaceName: this.interfaceName, gateway: this.gateway });
  }

  /** argv that runs `argv` inside this container's network (for scripts and tests). */
  commandFor(argv: string[]): pulumi.Output<string[]> {
    return this.namespace.apply((ns) => (ns ? ["ip", "netns", "exec", ns, ...argv] : argv));
  }
}
