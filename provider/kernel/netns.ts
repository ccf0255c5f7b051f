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

/**
 * The file system type of `path` as `stat -f` names it ("nsfs" for a namespace file, e.g.
 * /proc/PID/ns/net or a bind mount of one); undefined when there is no such file.
 */
export async function fileSystemType(runner: Runner, path: string): Promise<string | undefined> {
  try {
    return (await runner.run({ argv: ["stat", "-L", "-f", "-c", "%T", path] })).stdout.trim();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The inode of the namespace behind `path` (two paths of one netns share it); undefined when absent. */
export async function netnsInode(runner: Runner, path: string): Promise<string | undefined> {
  try {
    return (await runner.run({ argv: ["stat", "-L", "-c", "%i", path] })).stdout.trim();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Names a netns that something else made, so that `ip -n NAME` reaches it: `ip netns attach`
 * for a process's (a bind mount of /proc/PID/ns/net, as pipework's symlink but held open, so a
 * recycled PID never redirects it), a bind mount for a namespace file. Removing the name
 * (`deleteNetns`: unmount and unlink) leaves the namespace to whoever else holds it.
 */
export async function nameNetns(runner: Runner, name: string, of: { readonly pid: number } | { readonly path: string }): Promise<void> {
  if ("pid" in of) {
    await ip(runner, undefined, ["netns", "attach", name, String(of.pid)]);
    return;
  }
  const file = netnsPath(name);
  await runner.run({ argv: ["mkdir", "-p", "/run/netns"] });
  await runner.run({ argv: ["touch", file] });
  try {
    await runner.run({ argv: ["mount", "--bind", of.path, file] });
  } catch (err) {
    await runner.run({ argv: ["rm", "-f", file] }).catch(() => undefined);
    throw err;
  }
}
