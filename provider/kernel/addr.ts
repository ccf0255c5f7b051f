import { isNotFound, type Runner } from "../exec";
import { ip, type Netns } from "./ip";

/**
 * `ip addr add|del` words. An IPv6 address is added `nodad`: our addresses are on virtual
 * links whose other ends we make too, and Duplicate Address Detection would keep a new one
 * "tentative" (unusable as a source, the gateway unreachable) for a second or more.
 */
export function addrWords(verb: "add" | "del", cidr: string, device: string): string[] {
  return ["addr", verb, cidr, "dev", device, ...(verb === "add" && cidr.includes(":") ? ["nodad"] : [])];
}

export async function addAddress(runner: Runner, netns: Netns, device: string, cidr: string): Promise<void> {
  await ip(runner, netns, addrWords("add", cidr, device));
}

/** Removes an address; one already gone (with its link or namespace) is success. */
export async function deleteAddress(runner: Runner, netns: Netns, device: string, cidr: string): Promise<void> {
  try {
    await ip(runner, netns, addrWords("del", cidr, device));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
