import { z } from "zod";
import { isNotFound, type Runner } from "../exec";
import { ip, ipJson, type Netns } from "./ip";
import { parseIpJson } from "./schemas";

export interface NeighborSpec {
  readonly address: string;
  /** Lower-case, colon-separated. */
  readonly mac: string;
  readonly device: string;
  readonly family: "ipv4" | "ipv6";
}

export interface NeighborState {
  readonly address: string;
  readonly mac: string | undefined;
  /** NUD states, e.g. ["PERMANENT"], ["STALE"], ["FAILED"]. */
  readonly states: string[];
  readonly permanent: boolean;
}

function familyFlag(family: NeighborSpec["family"]): string {
  return family === "ipv6" ? "-6" : "-4";
}

/** A static entry (ARP for IPv4, NDP for IPv6); `replace` also turns a learned entry into ours. */
export function neighborReplaceArgv(spec: NeighborSpec): string[] {
  return [familyFlag(spec.family), "neigh", "replace", spec.address, "lladdr", spec.mac, "dev", spec.device, "nud", "permanent"];
}

export async function replaceNeighbor(runner: Runner, netns: Netns, spec: NeighborSpec): Promise<void> {
  await ip(runner, netns, neighborReplaceArgv(spec));
}

/** Deletes the entry for an address on a device; one already gone (or its device, or netns) is success. */
export async function deleteNeighbor(runner: Runner, netns: Netns, spec: Pick<NeighborSpec, "address" | "device" | "family">): Promise<void> {
  try {
    await ip(runner, netns, [familyFlag(spec.family), "neigh", "del", spec.address, "dev", spec.device]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

const ipNeighSchema = z.object({
  dst: z.string(),
  lladdr: z.string().optional(),
  state: z.array(z.string()).default([]),
});

/** The entry for an address on a device; undefined when there is none (or no device, or no netns). */
export async function showNeighbor(runner: Runner, netns: Netns, spec: Pick<NeighborSpec, "address" | "device" | "family">): Promise<NeighborState | undefined> {
  let out: string;
  try {
    out = await ipJson(runner, netns, [familyFlag(spec.family), "neigh", "show", "to", spec.address, "dev", spec.device]);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const entry = parseIpJson(ipNeighSchema, out, "neighbours").find((n) => n.dst === spec.address);
  if (!entry) return undefined;
  return { address: entry.dst, mac: entry.lladdr?.toLowerCase(), states: entry.state, permanent: entry.state.includes("PERMANENT") };
}
