import { isNotFound, type Runner } from "../exec";
import { addrWords, findRoute, ipCommands, linkSetWords, linkStateFrom, ourRouteWords, routeShowWords, showLinkWords, showRoute, type LinkState } from "../kernel";
import type { EndpointInputs } from "./endpoint-inputs";
import { canonicalInterfaceAddress, familyOf } from "./validation";

// The container's side of an endpoint: lo, its end of the pair, its addresses and default routes, in one ip batch.

export interface Inside {
  readonly lo: LinkState;
  readonly link: LinkState;
  readonly gateway: string | undefined;
  readonly ipv6Gateway?: string;
}

/** The container end's addresses as the kernel prints them: `address` and, dual stack, `ipv6Address`. */
export function wantedAddresses(e: Pick<EndpointInputs, "address" | "ipv6Address">): string[] {
  return [e.address, e.ipv6Address].filter((a): a is string => a !== undefined).map(canonicalInterfaceAddress);
}

/** The container's side in one process: lo, the interface, its one address, the default route. */
export async function configureInside(runner: Runner, inputs: EndpointInputs, known?: Inside): Promise<Inside> {
  const ns = inputs.namespace;
  const device = inputs.interfaceName;
  const current = known ?? (await readInside(runner, inputs));
  if (!current) throw new Error(`the container end ${device} is not in netns ${ns}`);
  const lines: string[][] = [];
  // lo of a foreign netns is its owner's: left as it is, unmarked.
  if (!inputs.existingNamespace && (current.lo.alias !== inputs.tag || !current.lo.up)) lines.push(linkSetWords("lo", { alias: inputs.tag, up: true }));
  lines.push(linkSetWords(device, { alias: inputs.tag, mtu: inputs.mtu, up: true }));
  const route = { destination: "default", via: inputs.gateway, device, family: familyOf(inputs.address) } as const;
  // Our default route goes before the addresses change: removing the address its gateway is
  // reached through takes the route with it, so a changed address also means the route again.
  if (!inputs.gateway && current.gateway) lines.push(ourRouteWords("del", route));
  // The IPv6 default route of a dual-stack endpoint: "::/0" says its family in a batch line.
  const route6 = { destination: "::/0", via: inputs.ipv6Gateway, device, family: "ipv6" } as const;
  if (!inputs.ipv6Gateway && current.ipv6Gateway) lines.push(ourRouteWords("del", route6));
  const wanted = wantedAddresses(inputs);
  const extras = current.link.addresses.filter((a) => !wanted.includes(a));
  const missing = wanted.filter((a) => !current.link.addresses.includes(a));
  for (const extra of extras) lines.push(addrWords("del", extra, device));
  for (const address of missing) lines.push(addrWords("add", address, device));
  const readdressed = extras.length > 0 || missing.length > 0;
  if (inputs.gateway && (current.gateway !== inputs.gateway || readdressed)) lines.push(ourRouteWords("replace", route));
  if (inputs.ipv6Gateway && (current.ipv6Gateway !== inputs.ipv6Gateway || readdressed)) lines.push(ourRouteWords("replace", route6));
  const outputs = await ipCommands(runner, ns, [...lines, showLinkWords("lo"), showLinkWords(device)]);
  return { lo: linkStateFrom(outputs.at(-2), "lo"), link: linkStateFrom(outputs.at(-1), device), gateway: inputs.gateway, ipv6Gateway: inputs.ipv6Gateway };
}

/** lo, the container end and our default route's gateway; undefined when the netns is gone. */
export async function readInside(runner: Runner, e: Pick<EndpointInputs, "namespace" | "interfaceName" | "address" | "gateway" | "ipv6Address">): Promise<Inside | undefined> {
  const family = e.gateway ? familyOf(e.gateway) : familyOf(e.address);
  const shows = [showLinkWords("lo"), showLinkWords(e.interfaceName)];
  const defaultRoute = { destination: "default", family } as const;
  try {
    // `ip route show` lists IPv4 without a family flag: then the route is read in the same batch.
    // A dual-stack endpoint's IPv6 default route: a process of its own, beside the batch.
    const [[outputs, route], route6] = await Promise.all([
      family === "ipv4"
        ? ipCommands(runner, e.namespace, [...shows, routeShowWords()]).then((o) => [o, findRoute(o[2] ?? "", defaultRoute)] as const)
        : Promise.all([ipCommands(runner, e.namespace, shows), showRoute(runner, e.namespace, defaultRoute)]),
      e.ipv6Address === undefined ? undefined : showRoute(runner, e.namespace, { destination: "default", family: "ipv6" }),
    ]);
    const ipv6Gateway = route6?.ours ? route6.via : undefined;
    return { lo: linkStateFrom(outputs[0], "lo"), link: linkStateFrom(outputs[1], e.interfaceName), gateway: route?.ours ? route.via : undefined, ipv6Gateway };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
