import ipaddr from "ipaddr.js";
import type { Runner } from "../exec";
import { ipJson, type Netns } from "./ip";
import { listLinks, type LinkState } from "./link";
import { listNetns } from "./netns";
import { ipRouteSchema, parseIpJson, type IpRoute } from "./schemas";
import { recentRead } from "./shared";

/**
 * What a netns already holds that a new network or a new name may clash with: its links (name,
 * alias, kind settings, addresses) and its routes, both families, every table.
 */
export interface Occupancy {
  readonly links: readonly LinkState[];
  readonly routes: readonly IpRoute[];
}

/** How long one reading serves the checks that follow it: Pulumi checks a whole program within a moment. */
const CHECK_READ_MAX_AGE_MS = 2000;

/**
 * Two reads (`ip -details addr show`, `ip route show table all`: iproute2 lists both families
 * for `table all`), shared by every check of the netns for a moment. Advisory: for `check`
 * only; create still meets the kernel's own refusal.
 */
export function readOccupancy(runner: Runner, netns: Netns): Promise<Occupancy> {
  return recentRead(runner, `occupancy ${netns ?? ""}`, CHECK_READ_MAX_AGE_MS, async () => {
    const [links, routes] = await Promise.all([listLinks(runner, netns), ipJson(runner, netns, ["route", "show", "table", "all"])]);
    return { links, routes: parseIpJson(ipRouteSchema, routes, "routes") };
  });
}

/** The named namespaces of the machine, shared by the checks of a moment as readOccupancy is. */
export function readNamespaces(runner: Runner): Promise<string[]> {
  return recentRead(runner, "namespaces", CHECK_READ_MAX_AGE_MS, () => listNetns(runner));
}

/** A route's destination as a CIDR ("10.0.0.1" is 10.0.0.1/32); undefined for "default". */
export function routeCidr(dst: string): string | undefined {
  if (dst === "default") return undefined;
  if (dst.includes("/")) return dst;
  return dst.includes(":") ? `${dst}/128` : `${dst}/32`;
}

/** Whether two prefixes of one family share an address (one holds the other's network address). */
export function prefixesOverlap(a: string, b: string): boolean {
  let left: [ipaddr.IPv4 | ipaddr.IPv6, number];
  let right: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    left = ipaddr.parseCIDR(a);
    right = ipaddr.parseCIDR(b);
  } catch {
    return false;
  }
  if (left[0].kind() !== right[0].kind()) return false;
  const bits = Math.min(left[1], right[1]);
  return (left[0] as ipaddr.IPv4).match(right[0] as ipaddr.IPv4, bits);
}
