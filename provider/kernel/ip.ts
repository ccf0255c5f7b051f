import type { Runner } from "../exec";

/**
 * Where a kernel object lives: a named netns, or undefined for the namespace the provider
 * runs in (the machine's root netns, or a sandbox's).
 */
export type Netns = string | undefined;

/** argv for `ip` in a namespace: `ip -n NS ...` (cheaper than `ip netns exec`). */
export function ipArgv(netns: Netns, args: readonly string[], json = false): string[] {
  return ["ip", ...(json ? ["-json"] : []), ...(netns ? ["-n", netns] : []), ...args];
}

export async function ip(runner: Runner, netns: Netns, args: readonly string[]): Promise<string> {
  const { stdout } = await runner.run({ argv: ipArgv(netns, args) });
  return stdout;
}

export async function ipJson(runner: Runner, netns: Netns, args: readonly string[]): Promise<string> {
  const { stdout } = await runner.run({ argv: ipArgv(netns, args, true) });
  return stdout;
}
