import type { Runner } from "../exec";
import { addrWords, batchThenShow, linkSetWords, type LinkSettings, type LinkState, type Netns } from "../kernel";
import { sameSet } from "./common";
import { canonicalInterfaceAddress, isUnknown } from "./validation";

/** What we declare about a link; undefined fields are left as the kernel has them. */
export interface DesiredLink {
  readonly alias: string;
  readonly up: boolean;
  readonly addresses: readonly string[];
  readonly mtu?: number;
  /** Bridge to enslave to; null for none; undefined to leave alone. */
  readonly master?: string | null;
  /** Kind-specific changes (e.g. a macvlan's mode), run first in the same batch. */
  readonly kindLines?: readonly (readonly string[])[];
  /** MAC address to hold; undefined to leave alone. */
  readonly mac?: string;
  /** Addresses that are not ours (found on an adopted link): never removed. */
  readonly keep?: readonly string[];
}

/** The state of a link we have just created: no alias, down, no addresses, no master. */
export function freshLink(name: string, mtu?: number): LinkState {
  return { name, ifindex: 0, mtu: mtu ?? 0, up: false, mac: undefined, alias: undefined, master: undefined, kind: undefined, addresses: [] };
}

/**
 * Brings one link from `current` to `desired` in one process (`ip -batch`: the link settings,
 * then each address removed or added) and returns the link as the kernel then has it.
 */
export async function reconcileLink(runner: Runner, netns: Netns, current: LinkState, desired: DesiredLink): Promise<LinkState> {
  const settings: { -readonly [K in keyof LinkSettings]: LinkSettings[K] } = {};
  if (current.alias !== desired.alias) settings.alias = desired.alias;
  if (desired.mtu !== undefined && desired.mtu !== current.mtu) settings.mtu = desired.mtu;
  if (desired.master !== undefined && (desired.master ?? undefined) !== current.master) settings.master = desired.master;
  if (desired.mac !== undefined && desired.mac !== current.mac) settings.address = desired.mac;
  if (desired.up !== current.up) settings.up = desired.up;
  const lines: (readonly string[])[] = [...(desired.kindLines ?? [])];
  const set = linkSetWords(current.name, settings);
  if (set.length) lines.push(set);
  const wanted = [...new Set([...desired.addresses, ...(desired.keep ?? [])].map(canonicalInterfaceAddress))];
  if (!sameSet(wanted, current.addresses)) {
    for (const extra of current.addresses.filter((a) => !wanted.includes(a))) lines.push(addrWords("del", extra, current.name));
    for (const missing of wanted.filter((a) => !current.addresses.includes(a))) lines.push(addrWords("add", missing, current.name));
  }
  return batchThenShow(runner, netns, lines, current.name);
}

/**
 * The addresses we may change: an adopted link's own (kept) ones are left out, on both sides
 * of a diff and in what refresh reports, so they are neither drift nor removed.
 */
export function withoutKept(addresses: readonly string[] | undefined, kept: readonly string[]): string[] {
  return (addresses ?? []).filter((a) => isUnknown(a) || !kept.includes(canonicalOrSame(a)));
}

function canonicalOrSame(address: string): string {
  try {
    return canonicalInterfaceAddress(address);
  } catch {
    return address;
  }
}
