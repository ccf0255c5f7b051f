import type * as pulumi from "@pulumi/pulumi";
import type { Runner } from "../exec";
import { AddressProvider } from "./address";
import { BridgeProvider } from "./bridge";
import { NamespaceProvider } from "./namespace";
import { RouteProvider } from "./route";
import { VethPairProvider } from "./veth";

export { AddressProvider, BridgeProvider, NamespaceProvider, RouteProvider, VethPairProvider };
export * from "./validation";

/** Every resource kind the SDK can ask for, by the name stored in serialized provider stubs. */
export const RESOURCE_KINDS = ["namespace", "bridge", "veth", "route", "address"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export function makeProviders(runner: Runner): Record<ResourceKind, pulumi.dynamic.ResourceProvider> {
  return {
    namespace: new NamespaceProvider(runner),
    bridge: new BridgeProvider(runner),
    veth: new VethPairProvider(runner),
    route: new RouteProvider(runner),
    address: new AddressProvider(runner),
  };
}
