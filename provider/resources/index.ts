import type * as pulumi from "@pulumi/pulumi";
import type { Runner } from "../exec";
import { AddressProvider } from "./address";
import { BridgeProvider } from "./bridge";
import { ContainerRefProvider } from "./container";
import { EndpointProvider } from "./endpoint";
import { IsolationProvider } from "./isolation";
import { MachineRunners, placed } from "./machines";
import { MacvlanProvider } from "./macvlan";
import { NamespaceProvider } from "./namespace";
import { NeighborProvider } from "./neighbor";
import { NatRuleProvider } from "./natrule";
import { PortForwardProvider } from "./portforward";
import { ProbeProvider } from "./probe";
import { ReachabilityProvider } from "./reachability";
import { RouteProvider } from "./route";
import { RoutingRuleProvider } from "./rule";
import { SysctlProvider } from "./sysctl";
import { TapProvider } from "./tap";
import { VethPairProvider } from "./veth";
import { VxlanProvider } from "./vxlan";

export { AddressProvider, BridgeProvider, EndpointProvider, IsolationProvider, MacvlanProvider, NamespaceProvider, NatRuleProvider, NeighborProvider, PortForwardProvider, ProbeProvider, ReachabilityProvider, RouteProvider, RoutingRuleProvider, SysctlProvider, TapProvider, VethPairProvider, VxlanProvider };
export { natRules } from "./natrule";
export { isolationRules } from "./isolation";
export { forwardedFlowsOf, portForwardRules } from "./portforward";
export { describeFlow, flowInputs, probeInputs } from "./probe";
export { reachabilityInputs } from "./reachability";
export * from "./validation";
export { MachineRunners, placed, type Placement } from "./machines";

/** Every resource kind the SDK can ask for, by the name stored in serialized provider stubs. */
export const RESOURCE_KINDS = ["namespace", "bridge", "veth", "route", "address", "sysctl", "natrule", "portforward", "endpoint", "macvlan", "tap", "rule", "neighbor", "vxlan", "container", "probe", "isolation", "reachability"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Each kind's provider, acting on the machine each resource names (see machines.ts), else through `local`. */
export function makePlacedProviders(local: Runner): Record<ResourceKind, pulumi.dynamic.ResourceProvider> {
  const runners = new MachineRunners(local);
  return Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, placed((runner) => makeProviders(runner)[kind], runners)])) as Record<ResourceKind, pulumi.dynamic.ResourceProvider>;
}

export function makeProviders(runner: Runner): Record<ResourceKind, pulumi.dynamic.ResourceProvider> {
  return {
    namespace: withPlainResults(new NamespaceProvider(runner)),
    bridge: withPlainResults(new BridgeProvider(runner)),
    veth: withPlainResults(new VethPairProvider(runner)),
    route: withPlainResults(new RouteProvider(runner)),
    address: withPlainResults(new AddressProvider(runner)),
    sysctl: withPlainResults(new SysctlProvider(runner)),
    natrule: withPlainResults(new NatRuleProvider(runner)),
    portforward: withPlainResults(new PortForwardProvider(runner)),
    endpoint: withPlainResults(new EndpointProvider(runner)),
    macvlan: withPlainResults(new MacvlanProvider(runner)),
    tap: withPlainResults(new TapProvider(runner)),
    rule: withPlainResults(new RoutingRuleProvider(runner)),
    neighbor: withPlainResults(new NeighborProvider(runner)),
    vxlan: withPlainResults(new VxlanProvider(runner)),
    container: withPlainResults(new ContainerRefProvider()),
    probe: withPlainResults(new ProbeProvider(runner)),
    isolation: withPlainResults(new IsolationProvider(runner)),
    reachability: withPlainResults(new ReachabilityProvider(runner)),
  };
}

/** Drops `undefined` fields, which Pulumi's protobuf encoding refuses ("Unexpected struct type"). */
export function plain<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Makes every result a provider returns to the engine plain data. */
function withPlainResults(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  const p = provider;
  return {
    check: p.check && (async (olds, news) => plain(await p.check!(olds, news))),
    diff: p.diff && (async (id, olds, news) => plain(await p.diff!(id, olds, news))),
    create: async (inputs) => plain(await p.create(inputs)),
    read: p.read && (async (id, props) => plain(await p.read!(id, props))),
    update: p.update && (async (id, olds, news) => plain(await p.update!(id, olds, news))),
    delete: p.delete && ((id, props) => p.delete!(id, props)),
  };
}
