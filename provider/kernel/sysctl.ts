import type { Runner } from "../exec";
import type { Netns } from "./ip";

/** Reads a sysctl (e.g. net.ipv4.ip_forward) in a namespace; /proc/sys/net is per netns. */
export async function readSysctl(runner: Runner, netns: Netns, key: string): Promise<string> {
  const { stdout } = await runner.run({ argv: ["sysctl", "-n", key], netns });
  return stdout.trim();
}

export async function writeSysctl(runner: Runner, netns: Netns, key: string, value: string): Promise<void> {
  await runner.run({ argv: ["sysctl", "-q", "-w", `${key}=${value}`], netns });
}
