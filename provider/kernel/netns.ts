import { isNotFound, type Runner } from "../exec";
import { ip, ipJson } from "./ip";
import { netnsListSchema, parseIpJson } from "./schemas";

/** Named network namespaces live as bind mounts under /run/netns (per mount namespace). */
export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

export async function listNetns(runner: Runner): Promise<string[]> {
  const out = await ipJson(runner, undefined, ["netns", "list"]);
  return parseIpJson(netnsListSchema, out, "namespaces").map((ns) => ns.name);
}

export async function netnsExists(runner: Runner, name: string): Promise<boolean> {
  return (await listNetns(runner)).includes(name);
}

/** `ip netns add` words; they must run where the provider runs (under `ip -n` the mount would be private). */
export function addNetnsWords(name: string): string[] {
  return ["netns", "add", name];
}

export async function addNetns(runner: Runner, name: string): Promise<void> {
  await ip(runner, undefined, addNetnsWords(name));
}

/** Deletes a named netns; one already gone is success. */
export async function deleteNetns(runner: Runner, name: string): Promise<void> {
  try {
    await ip(runner, undefined, ["netns", "delete", name]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
