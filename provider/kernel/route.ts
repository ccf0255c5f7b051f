import { isNotFound, type Runner } from "../exec";
import { ip, ipJson, type Netns } from "./ip";
import { ipRouteSchema, parseIpJson } from "./schemas";
import { sharedRead } from "./shared";
import { inSubnetOf } from "./subnet";

/**
 * The route protocol number that marks routes we made (routes have no alias or comment).
 * 0xd4 is unassigned in iproute2's rt_protos; shown by `ip route` as "proto 212".
 */
export const OUR_ROUTE_PROTOCOL = 212;

export interface RouteSpec {
  /** "default" or a canonical CIDR (network address, e.g. 10.0.0.0/24). */
  readonly destination: string;
  readonly via?: string;
  readonly device?: string;
  readonly metric?: number;
  /** Routing table id or name; "main" when unset. */
  readonly table?: string;
  readonly source?: string;
  readonly family: "ipv4" | "ipv6";
}

export interface RouteState extends RouteSpec {
  readonly protocol: string;
  readonly ours: boolean;
}

/** The key fields the kernel uses to tell routes apart (plus the table). */
function familyArgs(spec: RouteSpec): string[] {
  return [spec.family === "ipv6" ? "-6" : "-4"];
}

function keyArgs(spec: RouteSpec): string[] {
  return [spec.destination, ...(spec.metric !== undefined ? ["metric", String(spec.metric)] : []), "table", spec.table ?? "main"];
}

function routeArgs(spec: RouteSpec): string[] {
  return [
    ...keyArgs(spec),
    ...(spec.via ? ["via", spec.via] : []),
    ...(spec.device ? ["dev", spec.device] : []),
    ...(spec.source ? ["src", spec.source] : []),
    "proto",
    String(OUR_ROUTE_PROTOCOL),
  ];
}

/**
 * Words of a change to one of our routes for a batch line, where no family flag fits: the
 * family comes from its addresses (`via`). `del` matches our protocol only.
 */
export function ourRouteWords(verb: "replace" | "del", spec: RouteSpec): string[] {
  return verb === "del" ? ["route", "del", ...keyArgs(spec), "proto", String(OUR_ROUTE_PROTOCOL)] : ["route", "replace", ...routeArgs(spec)];
}

/** Words that list a table's routes of the default family (IPv4) in a batch; see findRoute. */
export function routeShowWords(table = "main"): string[] {
  return ["route", "show", "table", table];
}

export async function addRoute(runner: Runner, netns: Netns, spec: RouteSpec): Promise<void> {
  await ip(runner, netns, [...familyArgs(spec), "route", "add", ...routeArgs(spec)]);
}

/** Replaces the route with the same key (destination, metric, table) in one atomic step. */
export async function replaceRoute(runner: Runner, netns: Netns, spec: RouteSpec): Promise<void> {
  await ip(runner, netns, [...familyArgs(spec), "route", "replace", ...routeArgs(spec)]);
}

/** Deletes a route by its key; one already gone is success. */
export async function deleteRoute(runner: Runner, netns: Netns, spec: RouteSpec): Promise<void> {
  try {
    await ip(runner, netns, [...familyArgs(spec), "route", "del", ...keyArgs(spec)]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Finds the route with this key; undefined when it (or the namespace) is gone. */
export async function showRoute(runner: Runner, netns: Netns, spec: RouteSpec): Promise<RouteState | undefined> {
  let out: string;
  try {
    out = await ipJson(runner, netns, [...familyArgs(spec), "route", "show", "table", spec.table ?? "main"]);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return findRoute(out, spec);
}

/** The route with this key in `ip -json route show` output of its table and family. */
export function findRoute(out: string, spec: RouteSpec): RouteState | undefined {
  const routes = parseIpJson(ipRouteSchema, out, "routes");
  // The kernel reports no metric for IPv4's default 0 and 1024 for IPv6's default.
  const defaultMetric = spec.family === "ipv6" ? 1024 : 0;
  const wanted = spec.metric ?? defaultMetric;
  const match = routes.find((r) => r.dst === spec.destination && (r.metric ?? defaultMetric) === wanted);
  if (!match) return undefined;
  // `ip -json` leaves out the protocol of routes added without one (boot, the default).
  const protocol = String(match.protocol ?? "boot");
  return {
    destination: match.dst,
    via: match.gateway,
    device: match.dev,
    metric: match.metric,
    table: spec.table,
    source: match.prefsrc,
    family: spec.family,
    protocol,
    ours: protocol === String(OUR_ROUTE_PROTOCOL),
  };
}

/**
 * The connected network through which `address` is reached from `netns` (e.g. 10.0.3.0/24 on
 * br0 for a container at 10.0.3.2), or undefined when it is not on a directly attached subnet.
 */
export async function connectedNetworkOf(runner: Runner, netns: Netns, address: string): Promise<{ network: string; device: string } | undefined> {
  const family = address.includes(":") ? "-6" : "-4";
  let out: string;
  try {
    // IPv6 routes carry no scope (all are "global"), so `scope link` finds none there: an
    // on-link IPv6 route is one without a gateway, which the filter below keeps.
    const argv = family === "-4" ? [family, "route", "show", "table", "main", "scope", "link"] : [family, "route", "show", "table", "main"];
    out = await sharedRead(runner, `${netns ?? ""} ${argv.join(" ")}`, () => ipJson(runner, netns, argv));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const routes = parseIpJson(ipRouteSchema, out, "connected routes");
  const match = routes.find((r) => r.dst !== "default" && r.dst.includes("/") && !r.gateway && inSubnetOf(address, r.dst));
  return match?.dev ? { network: match.dst, device: match.dev } : undefined;
}

/** Every route of ours (protocol 212) in a namespace, all tables, both families; none when the namespace is gone. */
export async function listOurRoutes(runner: Runner, netns: Netns): Promise<RouteSpec[]> {
  const found: RouteSpec[] = [];
  for (const family of ["ipv4", "ipv6"] as const) {
    let out: string;
    try {
      out = await ipJson(runner, netns, [family === "ipv6" ? "-6" : "-4", "route", "show", "table", "all", "proto", String(OUR_ROUTE_PROTOCOL)]);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    for (const r of parseIpJson(ipRouteSchema, out, "routes")) {
      found.push({ destination: r.dst, via: r.gateway, device: r.dev, metric: r.metric, table: r.table === undefined ? "main" : String(r.table), family });
    }
  }
  return found;
}

/** Deletes one of our routes (protocol 212 only: another's route with this key stays); one already gone is success. */
export async function deleteOurRoute(runner: Runner, netns: Netns, spec: RouteSpec): Promise<void> {
  try {
    await ip(runner, netns, [...familyArgs(spec), ...ourRouteWords("del", spec)]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
