import type * as pulumi from "@pulumi/pulumi";
import { SshRunner, type Runner } from "../exec";
import { prefixesOverlap, readNamespaces, readOccupancy, routeCidr, showLink, vxlanSettingsOf, type LinkState, type Netns, type Occupancy } from "../kernel";
import { describeWhere, neverTaken, ownerOf, stackPrefixOf, type Props } from "./common";
import type { EndpointInputs } from "./endpoint-inputs";
import { isUnknown } from "./validation";

// What `check` finds already in the kernel that a new network or name would clash with: the
// host's addresses and routes, another stack's network, another owner's link, namespace or
// VNI. For preview only; what cannot be read (a netns not made yet, a missing tool) is no
// clash, and create meets the kernel's own refusal.

/** The resource asking, as the kernel may know it: its object's name, and its tags (now and before a rename of the stack). */
export interface Self {
  readonly name: string;
  readonly tags: readonly string[];
  readonly adopt: boolean;
}

/** " on machine m1" for a remote machine's runner; "" for this one. */
export function machineOf(runner: Runner): string {
  return runner instanceof SshRunner ? ` on machine ${runner.name}` : "";
}

/** "in the host netns on machine m1": where a clash is, for messages. */
export function placeOf(runner: Runner, netns: Netns): string {
  return `in ${describeWhere(netns)}${machineOf(runner)}`;
}

/** What `netns` holds, or undefined when it cannot be read now. */
export async function occupancyOf(runner: Runner, netns: Netns): Promise<Occupancy | undefined> {
  try {
    return await readOccupancy(runner, netns);
  } catch {
    return undefined;
  }
}

function tagged(alias: string | undefined): alias is string {
  return alias?.startsWith("hostnet:") ?? false;
}

/** Whether `link` is the object the resource makes: its own, or one it adopts (untagged, adopt set). */
function isSelf(link: LinkState, self: Self): boolean {
  if (link.name !== self.name) return false;
  return (link.alias !== undefined && self.tags.includes(link.alias)) || (self.adopt && !tagged(link.alias));
}

/**
 * Whether a tagged object belongs to this stack but another resource: one the program no
 * longer declares (it goes at the end of this update) or declares too, which the program's
 * own registry has judged already (sdk/network/claims.ts). Not a clash of subnets here.
 */
function sameStack(alias: string, self: Self): boolean {
  return self.tags.some((tag) => alias.startsWith(stackPrefixOf(tag)));
}

/** Another owner's tag on a link named `name` ("another stack (alias ...)"), or undefined. */
export function otherOwnerOf(link: LinkState | undefined, self: Self): string | undefined {
  if (!link || !tagged(link.alias) || self.tags.includes(link.alias)) return undefined;
  return ownerOf(link.alias, self.tags[0] ?? "");
}

/** Route types that hold addresses for a destination (not the local table's copies of addresses). */
const HOLDING_ROUTES = new Set(["unicast", "blackhole", "unreachable", "prohibit"]);

/**
 * Why each of `subnets` (of network `network`) cannot go on the bridge: the addresses and
 * routes of `occupancy` that overlap it, other than the bridge's own, default routes, and
 * what another resource of this stack holds. One message per subnet that clashes.
 */
export function subnetClashes(network: string, subnets: readonly string[], occupancy: Occupancy, self: Self, place: string): string[] {
  const issues: string[] = [];
  const skipped = new Set(occupancy.links.filter((l) => isSelf(l, self) || (tagged(l.alias) && sameStack(l.alias, self))).map((l) => l.name));
  const byName = new Map(occupancy.links.map((l) => [l.name, l]));
  for (const subnet of subnets) {
    const holders: string[] = [];
    const named = new Set<string>();
    for (const link of occupancy.links) {
      if (skipped.has(link.name)) continue;
      for (const address of link.addresses) {
        if (!prefixesOverlap(subnet, address)) continue;
        holders.push(`${address} on ${link.name}${ownedBy(link, self)}`);
        named.add(link.name);
      }
    }
    for (const route of occupancy.routes) {
      const cidr = routeCidr(route.dst);
      const dev = route.dev;
      if (!cidr || !HOLDING_ROUTES.has(route.type ?? "unicast") || cidr.endsWith("/0")) continue;
      if (dev !== undefined && (skipped.has(dev) || named.has(dev))) continue;
      if (!prefixesOverlap(subnet, cidr)) continue;
      const table = route.table === undefined || route.table === "main" ? "" : ` table ${route.table}`;
      const via = route.gateway ? ` via ${route.gateway}` : "";
      const kind = route.type && route.type !== "unicast" ? `${route.type} ` : "";
      const link = dev === undefined ? undefined : byName.get(dev);
      holders.push(`${kind}route ${route.dst}${via}${dev ? ` dev ${dev}` : ""}${table}${link ? ownedBy(link, self) : ""}`);
    }
    if (holders.length) issues.push(`subnet ${subnet} of network "${network}" overlaps ${holders.join(", ")} ${place}; choose a subnet that is free there`);
  }
  return issues;
}

/** " (another stack's network, alias ...)" for a link tagged by another stack; "" otherwise. */
function ownedBy(link: LinkState, self: Self): string {
  return tagged(link.alias) && !sameStack(link.alias, self) ? `, another stack's network (alias "${link.alias}")` : "";
}

/**
 * A VXLAN link other than this resource's with the same VNI and UDP port (the kernel refuses a
 * second one, and two overlays on one VNI would be one layer 2 network), described, or undefined.
 */
export function vniClash(occupancy: Occupancy, vni: number, port: number, self: Self): string | undefined {
  for (const link of occupancy.links) {
    const settings = vxlanSettingsOf(link);
    if (!settings || settings.vni !== vni || settings.port !== port) continue;
    if (link.name === self.name || (link.alias !== undefined && self.tags.includes(link.alias))) continue;
    const owner = tagged(link.alias) ? ownerOf(link.alias, self.tags[0] ?? "") : "no stack (it was not made by pulumi-hostnet)";
    return `VNI ${vni} on UDP port ${port} is already used by VXLAN link ${link.name}, which belongs to ${owner}`;
  }
  return undefined;
}

/**
 * The owner of a namespace of that name when it is another's (its lo's alias), or undefined:
 * one shared read of the machine's namespaces, and lo's only where the name exists.
 */
export async function namespaceOwner(runner: Runner, name: string, self: Omit<Self, "name">): Promise<string | undefined> {
  try {
    if (!(await readNamespaces(runner)).includes(name)) return undefined;
    const lo = await showLink(runner, name, "lo");
    return otherOwnerOf(lo, { ...self, name: "lo" });
  } catch {
    return undefined;
  }
}

/** The tags a resource answers to: its own, and the one stored before (a renamed stack's). */
export function tagsOf(news: { tag?: unknown }, olds: { tag?: unknown }): string[] {
  return [news.tag, olds.tag].filter((t): t is string => typeof t === "string");
}

/**
 * A container's names held by another owner: its host end in the host netns, and its
 * namespace (looked at only when the host end is not ours: our host end's peer is in our
 * namespace). A namespace someone else made (existingNamespace) is joined, not claimed.
 */
export async function endpointNameClashes(runner: Runner, olds: Props, inputs: EndpointInputs): Promise<pulumi.dynamic.CheckFailure[]> {
  if (isUnknown(inputs.hostInterface) || isUnknown(inputs.namespace) || isUnknown(inputs.tag)) return [];
  const occupancy = await occupancyOf(runner, inputs.host);
  const self = { name: inputs.hostInterface, tags: tagsOf(inputs, olds), adopt: inputs.adopt };
  const hostEnd = occupancy?.links.find((l) => l.name === inputs.hostInterface);
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const owner = otherOwnerOf(hostEnd, self);
  if (owner) failures.push({ property: "hostInterface", reason: neverTaken(`link ${inputs.hostInterface} ${placeOf(runner, inputs.host)}`, owner) });
  const ours = hostEnd?.alias !== undefined && self.tags.includes(hostEnd.alias);
  if (!ours && inputs.existingNamespace === undefined) {
    const namespace = await namespaceOwner(runner, inputs.namespace, self);
    if (namespace) failures.push({ property: "namespace", reason: neverTaken(`network namespace ${inputs.namespace}${machineOf(runner)}`, namespace) });
  }
  return failures;
}
