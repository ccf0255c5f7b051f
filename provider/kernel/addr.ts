import { isNotFound, type Runner } from "../exec";
import { ip, type Netns } from "./ip";

export async function addAddress(runner: Runner, netns: Netns, device: string, cidr: string): Promise<void> {
  await ip(runner, netns, ["addr", "add", cidr, "dev", device]);
}

/** Removes an address; one already gone (with its link or namespace) is success. */
export async function deleteAddress(runner: Runner, netns: Netns, device: string, cidr: string): Promise<void> {
  try {
    await ip(runner, netns, ["addr", "del", cidr, "dev", device]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
