import type { Runner } from "../exec";
import { addAddress, deleteAddress, setLink, type LinkSettings, type LinkState, type Netns } from "../kernel";
import { sameSet } from "./common";
import { canonicalInterfaceAddress } from "./validation";

/** What we declare about a link; undefined fields are left as the kernel has them. */
export interface DesiredLink {
  readonly alias: string;
  readonly up: boolean;
  readonly addresses: readonly string[];
  readonly mtu?: number;
  /** Bridge to enslave to; null for none; undefined to leave alone. */
  readonly master?: string | null;
}

/** The state of a link we have just created: no alias, down, no addresses, no master. */
export function freshLink(name: string, mtu?: number): LinkState {
  return { name, ifindex: 0, mtu: mtu ?? 0, up: false, mac: undefined, alias: undefined, master: undefined, kind: undefined, addresses: [] };
}

/**
 * Brings one link from `current` to `desired` with as few commands as it can: one
 * `ip link set` for all link settings, then one command per address added or removed.
 */
export async function reconcileLink(runner: Runner, netns: Netns, current: LinkState, desired: DesiredLink): Promise<void> {
  const settings: { -readonly [K in keyof LinkSettings]: LinkSettings[K] } = {};
  if (current.alias !== desired.alias) settings.alias = desired.alias;
  if (desired.mtu !== undefined && desired.mtu !== current.mtu) settings.mtu = desired.mtu;
  if (desired.master !== undefined && (desired.master ?? undefined) !== current.master) settings.master = desired.master;
  if (desired.up !== current.up) settings.up = desired.up;
  await setLink(runner, netns, current.name, settings);

  const wanted = desired.addresses.map(canonicalInterfaceAddress);
  if (sameSet(wanted, current.addresses)) return;
  for (const extra of current.addresses.filter((a) => !wanted.includes(a))) {
    await deleteAddress(runner, netns, current.name, extra);
  }
  for (const missing of wanted.filter((a) => !current.addresses.includes(a))) {
    await addAddress(runner, netns, current.name, missing);
  }
}
