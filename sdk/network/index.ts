export { BridgeNetwork, type BridgeNetworkArgs } from "./bridge-network";
export { ContainerNetwork, type ContainerNetworkArgs, type PortMapping } from "./container-network";
export { AddressPool, parseSubnet } from "./ipam";
export { interfaceNameFor, namespaceNameFor } from "./names";
export { OverlayNetwork, VXLAN_OVERHEAD, type OverlayMemberArgs, type OverlayNetworkArgs } from "./overlay-network";
export type { AttachableNetwork, Ipv6Attachment, NetworkAttachment } from "./attachment";
