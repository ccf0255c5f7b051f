import * as pulumi from "@pulumi/pulumi";
import { defaultHost } from "../common";
import { endpointProps, type ExistingNamespaceArgs } from "../endpoint";
import { machineKey, type Machine } from "../machine";
import { namespaceProps } from "../namespace";
import { HostnetResource } from "../stub";
import type { AttachableNetwork } from "./attachment";
import { interfaceNameFor, namespaceNameFor } from "./names";
import { claimInterface, claimNamespace } from "./claims";
import { claimHostPort } from "./registry";

export interface PortMapping {
  /** Host port, or a range "8000-8010" (mapped to the same container ports). */
  hostPort: number | string;
  /** Container port (default: hostPort). */
  containerPort?: number;
  protocol?: "tcp" | "udp";
  /**
   * Only this host address answers (default: all of them, in every family the network has, as
   * Docker publishes on both; "0.0.0.0" or "::" publish on every address of one family).
   */
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
      /** Address on the network, of its subnet's family (default: a stable free one from its subnet). */
      address?: string;
      /** IPv6 address on a dual-stack network (default: a stable free one from its ipv6Subnet). */
      ipv6Address?: string;
      /** The interface inside the container (default eth0). */
      interfaceName?: string;
      /** The host end of the veth pair (default "vh-" + the resource name, cut to 15 characters). */
      hostInterfaceName?: string;
      ports?: PortMapping[];
      /** MTU of the container's interfaces (default: the network's). */
      mtu?: number;
      /**
       * Join a netns someone else made (a running container's, by name, path or PID, as
       * pipework does) instead of making one: destroy removes only what was put in it.
       */
      existingNamespace?: pulumi.Input<ExistingNamespaceArgs>;
    } & Common);

/** What a ContainerNetwork registers, worked out before it is registered. */
interface Plan {
  readonly kind: "endpoint" | "namespace" | "container";
  readonly typeName: string;
  readonly props: pulumi.Inputs;
  /** Its name before one resource per container (a child of the ContainerNetwork component). */
  readonly formerName: string | undefined;
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
  readonly host: string | undefined;
  readonly machine: Machine | undefined;
  readonly namespace: pulumi.Output<string | undefined> | undefined;
  readonly address: pulumi.Output<string | undefined>;
  readonly interfaceName: pulumi.Output<string | undefined>;
  readonly gateway: pulumi.Output<string | undefined>;
  readonly ipv6Address: pulumi.Output<string | undefined>;
}

function plan(name: string, args: ContainerNetworkArgs): Plan {
  const none = pulumi.output(undefined as string | undefined);
  switch (args.mode) {
    case "host": {
      const host = args.host ?? defaultHost();
      return { kind: "container", typeName: "ContainerNetwork", props: { mode: "host", host, machine: args.machine }, formerName: undefined, dependsOn: [], host, machine: args.machine, namespace: host ? pulumi.output(host) : none, address: none, interfaceName: none, gateway: none, ipv6Address: none };
    }
    case "container": {
      // Sharing a namespace makes nothing new: same links, same addresses, same lo.
      const shared = args.container;
      const props = { mode: "container", namespace: shared.namespace, host: shared.host, machine: shared.machine };
      return { kind: "container", typeName: "ContainerNetwork", props, formerName: undefined, dependsOn: [shared], host: shared.host, machine: shared.machine, namespace: shared.namespace, address: shared.address, interfaceName: shared.interfaceName, gateway: shared.gateway, ipv6Address: shared.ipv6Address };
    }
    case "none": {
      const host = args.host ?? defaultHost();
      claimNamespace(args.machine, `container "${name}"`, args.namespaceName ?? namespaceNameFor(name));
      const props = namespaceProps({ name: args.namespaceName ?? namespaceNameFor(name), loopbackUp: args.loopbackUp ?? true, machine: args.machine, adopt: args.adopt }, `${name}-netns`);
      return { kind: "namespace", typeName: "Namespace", props, formerName: `${name}-netns`, dependsOn: [], host, machine: args.machine, namespace: undefined, address: none, interfaceName: none, gateway: none, ipv6Address: none };
    }
    case "bridge": {
      // A BridgeNetwork is on one machine (args.machine may only repeat it); an overlay has one attachment per machine.
      const network = args.network.attachmentFor(args.machine);
      const address = network.addressFor(name, args.address);
      const ipv6 = network.ipv6;
      if (args.ipv6Address !== undefined && ipv6 === undefined) throw new Error(`ipv6Address ${args.ipv6Address}: the network has no ipv6Subnet (an IPv6-only network's address goes in address)`);
      const ipv6Address = ipv6?.addressFor(name, args.ipv6Address);
      // The [::1] proxies are on unless the network turned its localhost forwards off.
      const hasIpv6 = ipv6 !== undefined || address.includes(":");
      const loopback = hasIpv6 && network.localhostForwards === false ? { loopbackProxy: false } : {};
      const inside = args.interfaceName ?? "eth0";
      const ports = (args.ports ?? []).map((port) => {
        const protocol = port.protocol ?? "tcp";
        const range = String(port.hostPort).split("-").map(Number);
        claimHostPort(`${machineKey(network.machine)}/${network.host ?? ""}`, { owner: name, protocol, address: port.hostAddress ?? "", from: range[0] ?? 0, to: range[1] ?? range[0] ?? 0 });
        return { protocol, hostPort: port.hostPort, hostAddress: port.hostAddress, targetPort: port.containerPort };
      });
      // Two containers of the program on one netns or host interface name: refused here, naming both.
      const namespace = args.existingNamespace === undefined ? (args.namespaceName ?? namespaceNameFor(name)) : args.namespaceName;
      const hostInterface = args.hostInterfaceName ?? interfaceNameFor("vh-", name);
      if (args.existingNamespace === undefined) claimNamespace(network.machine, `container "${name}"`, namespace);
      claimInterface(network.machine, network.host, `container "${name}"`, hostInterface);
      // One resource for the netns, the veth pair, the address, the default route and the
      // port forwards: one engine step and about 1.5 processes per container.
      const props = endpointProps(
        {
          // A foreign netns is reached by the name the provider settles on (its own, or ours for it).
          namespace,
          existingNamespace: args.existingNamespace,
          bridge: network.bridge,
          hostInterface,
          interfaceName: inside,
          address: `${address}/${network.prefixLength}`,
          gateway: network.gateway,
          // Only on a dual-stack network: an IPv4 container's inputs stay as they were.
          ...(ipv6 && ipv6Address !== undefined ? { ipv6Address: `${ipv6Address}/${ipv6.prefixLength}`, ipv6Gateway: ipv6.gateway } : {}),
          ...loopback,
          // Every interface of a network takes its MTU, as Docker's network MTU option does.
          mtu: args.mtu ?? network.mtu,
          ports,
          host: network.host,
          machine: network.machine,
          adopt: args.adopt,
        },
        `${name}-endpoint`,
      );
      // Forwards answer 127.0.0.1 once the network's route_localnet is set.
      const dependsOn = [network.bridgeResource, ...(ports.length ? network.ready : [])];
      return { kind: "endpoint", typeName: "BridgeEndpoint", props, formerName: `${name}-endpoint`, dependsOn, host: network.host, machine: network.machine, namespace: undefined, address: pulumi.output(address), interfaceName: pulumi.output(inside), gateway: pulumi.output(network.gateway), ipv6Address: pulumi.output(ipv6Address) };
    }
  }
}

/**
 * A container's network: its namespace (none, bridge), the host's (host) or another
 * container's (container). It is itself the one engine resource of the container: in bridge
 * mode a BridgeEndpoint, in none mode a Namespace, in host and container mode a record that
 * makes nothing in the kernel. Stacks made when it was a component with one child take the
 * child over through an alias, with the child's ownership tag, so an upgrade changes nothing
 * in the kernel.
 */
export class ContainerNetwork extends HostnetResource {
  // `declare`: set after registration below, not reset by field initialisation.
  declare readonly mode: ContainerNetworkArgs["mode"];
  /** The netns of the container; undefined in host mode (the host's). */
  declare readonly namespace: pulumi.Output<string | undefined>;
  /** Its address on a bridge network (bridge mode, and container mode joining one). */
  declare readonly address: pulumi.Output<string | undefined>;
  /** Its interface on the network (bridge mode). */
  declare readonly interfaceName: pulumi.Output<string | undefined>;
  declare readonly gateway: pulumi.Output<string | undefined>;
  /** Its IPv6 address on a dual-stack bridge network (on an IPv6-only one: `address`). */
  declare readonly ipv6Address: pulumi.Output<string | undefined>;
  declare readonly host: string | undefined;
  declare readonly machine: Machine | undefined;

  constructor(name: string, args: ContainerNetworkArgs, opts?: pulumi.CustomResourceOptions) {
    let planned: Plan;
    try {
      planned = plan(name, args);
    } catch (err) {
      // Not registered yet, so no resource to attach it to: a RunError, shown without a stack.
      throw new pulumi.RunError(`ContainerNetwork ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const aliases = planned.formerName ? [{ name: planned.formerName, parent: pulumi.createUrn(name, FORMER_TYPE, opts?.parent) }] : [];
    super(
      planned.kind,
      planned.typeName,
      name,
      planned.props,
      { ...opts, aliases: [...(opts?.aliases ?? []), ...aliases], dependsOn: [...dependencies(opts?.dependsOn), ...planned.dependsOn] },
      planned.formerName ?? name,
    );
    // The registered resource set its outputs on `this` (an endpoint's `namespace`, a
    // Namespace's `name`); the component's own fields are these.
    const registered = this as unknown as { namespace?: pulumi.Output<string | undefined>; name?: pulumi.Output<string | undefined> };
    const namespace = planned.kind === "endpoint" ? registered.namespace : planned.kind === "namespace" ? registered.name : planned.namespace;
    Object.assign(this, {
      mode: args.mode,
      host: planned.host,
      machine: planned.machine,
      namespace: namespace ?? pulumi.output(undefined),
      address: planned.address,
      interfaceName: planned.interfaceName,
      gateway: planned.gateway,
      ipv6Address: planned.ipv6Address,
    });
  }

  /** argv that runs `argv` inside this container's network (for scripts and tests). */
  commandFor(argv: string[]): pulumi.Output<string[]> {
    return this.namespace.apply((ns) => (ns ? ["ip", "netns", "exec", ns, ...argv] : argv));
  }
}

/** The type ContainerNetwork had when it was a component (stacks made then are taken over). */
const FORMER_TYPE = "hostnet:index:ContainerNetwork";

function dependencies(dependsOn: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (dependsOn === undefined) return [];
  return Array.isArray(dependsOn) ? dependsOn : [dependsOn as pulumi.Input<pulumi.Resource>];
}
