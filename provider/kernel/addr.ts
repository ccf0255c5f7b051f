import { isNotFound, type Runner } from "../exec";
import { ip, type Netns } from "./ip";

/** `ip addr add|del` words. */
export function addrWords(verb: "add" | "del", cidr: string, device: string): string[] {
  return ["addr", verb, cidr, "dev", device];
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
