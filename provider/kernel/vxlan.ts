import { z } from "zod";
import type { Runner } from "../exec";
import type { Netns } from "./ip";
import type { LinkState } from "./link";
import { parseIpJson } from "./schemas";

/** What a VXLAN link is made with; none of it can change without making the link anew. */
export interface VxlanSpec {
  readonly name: string;
  /** VXLAN network identifier, 1-16777215. */
  readonly vni: number;
  /** Our underlay address: the source of the UDP packets. */
  readonly local?: string;
  /** UDP port (4789 is IANA's). */
  readonly port: number;
  /** Underlay device the packets leave through. */
  readonly device?: string;
  /** Learn remote MACs from received packets (off: only our forwarding entries count). */
  readonly learning: boolean;
  readonly mtu?: number;
}

/** `ip link add` words of a VXLAN link. */
export function addVxlanWords(spec: VxlanSpec): string[] {
  return [
    "link", "add", "name", spec.name,
    ...(spec.mtu ? ["mtu", String(spec.mtu)] : []),
    "type", "vxlan", "id", String(spec.vni), "dstport", String(spec.port),
    ...(spec.local ? ["local", spec.local] : []),
    ...(spec.device ? ["dev", spec.device] : []),
    spec.learning ? "learning" : "nolearning",
  ];
}

/** The VXLAN settings of a link, from `ip -details` output's linkinfo.info_data. */
export interface VxlanSettings {
  readonly vni: number;
  readonly local: string | undefined;
  readonly port: number;
  readonly device: string | undefined;
  readonly learning: boolean;
}

const vxlanInfoSchema = z.object({
  id: z.number(),
  local: z.string().optional(),
  link: z.string().optional(),
  port: z.number(),
  learning: z.boolean().optional(),
});

/** Reads the VXLAN settings of a link (undefined when it is not a VXLAN link). */
export function vxlanSettingsOf(link: Pick<LinkState, "kind" | "info">): VxlanSettings | undefined {
  if (link.kind !== "vxlan") return undefined;
  const info = vxlanInfoSchema.safeParse(link.info);
  if (!info.success) return undefined;
  const d = info.data;
  return { vni: d.id, local: d.local, port: d.port, device: d.link, learning: d.learning ?? true };
}

/** The all-zero MAC: a forwarding entry for it floods broadcast and unknown unicast to its `dst`. */
export const FLOOD_MAC = "00:00:00:00:00:00";

const fdbEntrySchema = z.object({ mac: z.string(), dst: z.string().optional(), state: z.string().optional() });

function bridgeArgv(netns: Netns, args: readonly string[]): string[] {
  return ["bridge", ...(netns ? ["-n", netns] : []), ...args];
}

/** The remote peers of a VXLAN link: the `dst` of its all-zero (flooding) forwarding entries. */
export async function vxlanPeers(runner: Runner, netns: Netns, device: string): Promise<string[]> {
  const { stdout } = await runner.run({ argv: bridgeArgv(netns, ["-j", "fdb", "show", "dev", device]) });
  return parseIpJson(fdbEntrySchema.passthrough(), stdout, `forwarding entries of ${device}`)
    .filter((e) => e.mac === FLOOD_MAC && e.dst !== undefined)
    .map((e) => e.dst as string);
}

/**
 * Makes the flooding entries of `device` exactly `wanted` (one `bridge -batch` for all the
 * changes): flannel's and Docker's overlay way of reaching every peer without multicast.
 */
export async function setVxlanPeers(runner: Runner, netns: Netns, device: string, current: readonly string[], wanted: readonly string[]): Promise<void> {
  const lines = [
    ...current.filter((p) => !wanted.includes(p)).map((p) => ["fdb", "del", FLOOD_MAC, "dev", device, "dst", p]),
    ...wanted.filter((p) => !current.includes(p)).map((p) => ["fdb", "append", FLOOD_MAC, "dev", device, "dst", p]),
  ];
  if (lines.length === 0) return;
  if (lines.length === 1) {
    await runner.run({ argv: bridgeArgv(netns, lines[0]!) });
    return;
  }
  await runner.run({ argv: bridgeArgv(netns, ["-batch", "-"]), stdin: `${lines.map((l) => l.join(" ")).join("\n")}\n` });
}
