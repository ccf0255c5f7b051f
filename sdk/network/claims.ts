import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import type { Machine } from "../machine";

// What one Pulumi program has declared so far, per machine (and host netns), that two of its
// resources must not share: subnets, interface names, namespace names and VXLAN VNIs. A clash
// is an error at preview naming both resources, before anything reaches a machine. (The other
// half, sdk/network/registry.ts, holds the host ports and the shared sysctls.)

interface Claim {
  readonly owner: string;
  readonly value: string;
}

const claims = new Map<string, Claim[]>();

/** "on machine m1 in netns h" / "on the local machine": where a clash is, for messages. */
export function placeText(machine: Machine | undefined, netns?: string): string {
  return `${machine ? `on machine ${machine.name}` : "on the local machine"}${netns ? ` in netns ${netns}` : ""}`;
}

function machinePart(machine: Machine | undefined): string {
  return machine?.name ?? "";
}

function take(key: string, claim: Claim, clashes: (other: Claim) => boolean, message: (other: Claim) => string): void {
  const taken = claims.get(key) ?? [];
  const other = taken.find(clashes);
  if (other) throw new Error(message(other));
  taken.push(claim);
  claims.set(key, taken);
}

/** Whether two CIDRs of one family share an address. */
export function subnetsOverlap(a: string, b: string): boolean {
  const [left, leftBits] = ipaddr.parseCIDR(a);
  const [right, rightBits] = ipaddr.parseCIDR(b);
  if (left.kind() !== right.kind()) return false;
  return (left as ipaddr.IPv4).match(right as ipaddr.IPv4, Math.min(leftBits, rightBits));
}

/** A network's subnet on a machine's host netns: refused when another network of the program overlaps it there. */
export function claimSubnet(machine: Machine | undefined, netns: string | undefined, owner: string, subnet: string): void {
  take(
    `subnet/${machinePart(machine)}/${netns ?? ""}`,
    { owner, value: subnet },
    (other) => subnetsOverlap(other.value, subnet),
    (other) => `subnet ${subnet} of ${owner} overlaps ${other.value} of ${other.owner} ${placeText(machine, netns)}; give each network a subnet of its own`,
  );
}

/** An interface name in a netns (bridges, VXLAN links, veth ends share one name space). */
export function claimInterface(machine: Machine | undefined, netns: string | undefined | null, owner: string, name: unknown): void {
  // Not known until apply: the provider's check looks then.
  if (typeof name !== "string" || netns === null) return;
  take(`link/${machinePart(machine)}/${netns ?? ""}`, { owner, value: name }, (other) => other.value === name, (other) => `interface name ${name} of ${owner} is already taken by ${other.owner} ${placeText(machine, netns)}`);
}

/** A named netns of a machine. */
export function claimNamespace(machine: Machine | undefined, owner: string, name: unknown): void {
  if (typeof name !== "string") return;
  take(`netns/${machinePart(machine)}`, { owner, value: name }, (other) => other.value === name, (other) => `network namespace ${name} of ${owner} is already taken by ${other.owner} ${placeText(machine)}`);
}

/** A VXLAN VNI on a UDP port in a netns of a machine: the kernel takes one link per pair, and one VNI is one layer 2 network. */
export function claimVni(machine: Machine | undefined, netns: string | undefined | null, owner: string, vni: unknown, port: unknown): void {
  if (typeof vni !== "number" || typeof port !== "number" || netns === null) return;
  const value = `${vni}/${port}`;
  take(`vni/${machinePart(machine)}/${netns ?? ""}`, { owner, value }, (other) => other.value === value, (other) => `VNI ${vni} on UDP port ${port} of ${owner} is already used by ${other.owner} ${placeText(machine, netns)}`);
}

/** The program's claims, forgotten (for tests that declare several programs in one process). */
export function forgetClaims(): void {
  claims.clear();
}

let componentDepth = 0;

/**
 * Makes a component's children: their names are the component's claims, made by it under its
 * own name (`network "web"`), so the plain classes do not claim them again.
 */
export function claimedByComponent<T>(make: () => T): T {
  componentDepth++;
  try {
    return make();
  } finally {
    componentDepth--;
  }
}

/** A plain resource's claims; a clash is its error, shown without a stack trace. Nothing inside a component. */
export function claimAsResource(resource: string, body: () => void): void {
  if (componentDepth > 0) return;
  try {
    body();
  } catch (err) {
    throw new pulumi.RunError(`${resource}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A plain string, or undefined for an Input not known while the program runs. */
export function plainString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * The netns a plain resource's link is in (`namespace`, else `host`, else the program's
 * default host), or null when an Input not known yet decides it (nothing is claimed then).
 */
export function linkNetns(namespace: unknown, host: unknown, defaultHost: string | undefined): string | undefined | null {
  if (namespace !== undefined) return plainString(namespace) ?? null;
  if (host !== undefined) return plainString(host) ?? null;
  return defaultHost;
}
