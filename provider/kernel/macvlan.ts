import { z } from "zod";
import type { Runner } from "../exec";
import { ip, type Netns } from "./ip";
import type { LinkState } from "./link";

export const MACVLAN_MODES = ["bridge", "private", "vepa", "passthru"] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

export interface MacvlanSpec {
  readonly name: string;
  /** The lower device, in the namespace the command runs in. */
  readonly parent: string;
  readonly mode: MacvlanMode;
  /** Create the macvlan directly in this namespace (undefined: beside its parent). */
  readonly netns?: string;
  readonly mtu?: number;
}

/**
 * `ip link add` words of a macvlan, run in its parent's namespace. `netns` and `mtu` must come
 * before `type`: after it, iproute2 reads them as macvlan options and refuses them.
 */
export function addMacvlanWords(spec: MacvlanSpec): string[] {
  return [
    "link", "add", "name", spec.name, "link", spec.parent,
    ...(spec.mtu ? ["mtu", String(spec.mtu)] : []),
    ...(spec.netns ? ["netns", spec.netns] : []),
    "type", "macvlan", "mode", spec.mode,
  ];
}

export async function addMacvlan(runner: Runner, parentNetns: Netns, spec: MacvlanSpec): Promise<void> {
  await ip(runner, parentNetns, addMacvlanWords(spec));
}

/** Words that change a macvlan's mode in place (the kernel refuses it to or from passthru). */
export function macvlanModeWords(name: string, mode: MacvlanMode): string[] {
  return ["link", "set", "dev", name, "type", "macvlan", "mode", mode];
}

const macvlanInfoSchema = z.object({ mode: z.string() });

/** A macvlan's mode as `ip -details` shows it; undefined for a link that is not a macvlan. */
export function macvlanModeOf(state: LinkState): string | undefined {
  if (state.kind !== "macvlan") return undefined;
  const parsed = macvlanInfoSchema.safeParse(state.info);
  if (!parsed.success) throw new Error(`parse macvlan ${state.name}: linkinfo.info_data has no mode`);
  return parsed.data.mode;
}
