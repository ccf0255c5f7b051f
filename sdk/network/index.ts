export { BridgeNetwork, type BridgeNetworkArgs } from "./bridge-network";
export { ContainerNetwork, type ContainerNetworkArgs, type PortMapping } from "./container-network";
export { AddressPool, parseSubnet } from "./ipam";
export { interfaceNameFor, namespaceNameFor } from "./names";
