export { Address, type AddressArgs } from "./address";
export { Bridge, type BridgeArgs } from "./bridge";
export { BridgeEndpoint, type BridgeEndpointArgs } from "./endpoint";
export { Namespace, type NamespaceArgs } from "./namespace";
export { Route, type RouteArgs } from "./route";
export { VethPair, type VethPairArgs, type VethPeerArgs, type VethPeerState } from "./veth";
export { NatRule, PortForward, type FirewallBackend, type NatRuleArgs, type PortForwardArgs } from "./nat";
export { Sysctl, type SysctlArgs } from "./sysctl";
export * from "./network";
