import { isNotFound, type Runner } from "../exec";
import { ip, ipCommands, ipJson, type Netns } from "./ip";
import { ipAddrLinkSchema, parseIpJson, type IpAddrLink } from "./schemas";

/** A link as we care about it, read from `ip -json -details addr show`. */
export interface LinkState {
  readonly name: string;
  readonly ifindex: number;
  readonly mtu: number;
  readonly up: boolean;
  readonly mac: string | undefined;
  readonly alias: string | undefined;
  readonly master: string | undefined;
  readonly kind: string | undefined;
  /** The lower device (a macvlan's parent) when it is in the same namespace. */
  readonly parent?: string;
  /** `linkinfo.info_data`: kind-specific settings, parsed by the module of that kind. */
  readonly info?: Readonly<Record<string, unknown>>;
  /** Global-scope addresses in CIDR form, in kernel order (link-local v6 and host routes excluded). */
  readonly addresses: string[];
}

function toLinkState(raw: IpAddrLink): LinkState {
  return {
    name: raw.ifname,
    ifindex: raw.ifindex,
    mtu: raw.mtu,
    up: raw.flags.includes("UP"),
    mac: raw.address,
    alias: raw.ifalias || undefined,
    master: raw.master,
    kind: raw.linkinfo?.info_kind,
    parent: raw.link ?? undefined,
    info: raw.linkinfo?.info_data,
    addresses: raw.addr_info
      .filter((a) => a.scope !== "link")
      .filter((a) => !(a.scope === "host" && raw.ifname === "lo" && (a.local === "127.0.0.1" || a.local === "::1")))
      .map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** Reads one link; undefined when it (or its namespace) does not exist. */
export async function showLink(runner: Runner, netns: Netns, name: string): Promise<LinkState | undefined> {
  try {
    const out = await ipJson(runner, netns, ["-details", ...showLinkWords(name)]);
    const [raw] = parseIpJson(ipAddrLinkSchema, out, `link ${name}`);
    return raw ? toLinkState(raw) : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function listLinks(runner: Runner, netns: Netns): Promise<LinkState[]> {
  const out = await ipJson(runner, netns, ["-details", "addr", "show"]);
  return parseIpJson(ipAddrLinkSchema, out, "links").map(toLinkState);
}

/**
 * Runs several `ip` commands in one namespace as one unit (one `ip -batch`, merged with other
 * concurrent work in that namespace), then shows `device`: its state after the changes, read
 * in the same process. A failing command stops the rest and is named in the error.
 */
export async function batchThenShow(runner: Runner, netns: Netns, lines: readonly (readonly string[])[], device: string): Promise<LinkState> {
  const outputs = await ipCommands(runner, netns, [...lines, showLinkWords(device)]);
  return linkStateFrom(outputs.at(-1), device);
}

/** The link in the output of an `addr show dev DEVICE` that just ran, as part of a batch. */
export function linkStateFrom(json: string | undefined, device: string): LinkState {
  const [raw] = parseIpJson(ipAddrLinkSchema, json ?? "", `link ${device}`);
  if (!raw) throw new Error(`link ${device} vanished while it was configured`);
  return toLinkState(raw);
}

/** `ip link set` words for the settings, or none when nothing is to change. */
export function linkSetWords(name: string, settings: LinkSettings): string[] {
  const args: string[] = [];
  if (settings.mtu !== undefined) args.push("mtu", String(settings.mtu));
  if (settings.master !== undefined) args.push(...(settings.master === null ? ["nomaster"] : ["master", settings.master]));
  if (settings.alias !== undefined) args.push("alias", settings.alias);
  if (settings.address !== undefined) args.push("address", settings.address);
  if (settings.up !== undefined) args.push(settings.up ? "up" : "down");
  return args.length ? ["link", "set", "dev", name, ...args] : [];
}

export interface LinkSettings {
  readonly alias?: string;
  /** The link's MAC address (fixed: a bridge then no longer takes its lowest port's). */
  readonly address?: string;
  readonly mtu?: number;
  readonly up?: boolean;
  /** A bridge name to enslave to, or null to release from any master. */
  readonly master?: string | null;
}

/** Applies settings in one `ip link set` (the kernel applies them in order: master before up). */
export async function setLink(runner: Runner, netns: Netns, name: string, settings: LinkSettings): Promise<void> {
  const words = linkSetWords(name, settings);
  if (words.length) await ip(runner, netns, words);
}

/** Makes a bridge; with `mac`, its MAC is fixed from the start instead of following its lowest port's. */
export async function addBridge(runner: Runner, netns: Netns, name: string, mtu?: number, mac?: string): Promise<void> {
  await ip(runner, netns, ["link", "add", "name", name, ...(mtu ? ["mtu", String(mtu)] : []), ...(mac ? ["address", mac] : []), "type", "bridge"]);
}

export interface VethEnd {
  readonly name: string;
  readonly netns: Netns;
}

/**
 * Creates a veth pair with the peer made directly inside its namespace: a link moved later
 * would lose its addresses, and the move costs a second process.
 */
export async function addVeth(runner: Runner, local: VethEnd, peer: VethEnd, mtu?: number): Promise<void> {
  await ip(runner, local.netns, addVethWords(local, peer, mtu));
}

/** `ip link add` words of a veth pair, run in the local end's namespace. */
export function addVethWords(local: VethEnd, peer: VethEnd, mtu?: number): string[] {
  const mtuArgs = mtu ? ["mtu", String(mtu)] : [];
  // Without `netns`, the peer is created in the same namespace as the local end.
  const peerNetns = peer.netns !== local.netns && peer.netns ? ["netns", peer.netns] : [];
  return ["link", "add", "name", local.name, ...mtuArgs, "type", "veth", "peer", "name", peer.name, ...mtuArgs, ...peerNetns];
}

/** Words that show a link with its addresses (one line of JSON in a batch); see linkStateFrom. */
export function showLinkWords(device: string): string[] {
  return ["addr", "show", "dev", device];
}

/** Deletes a link; one already gone (or whose namespace is gone) is success. */
export async function deleteLink(runner: Runner, netns: Netns, name: string): Promise<void> {
  try {
    await ip(runner, netns, ["link", "delete", "dev", name]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
