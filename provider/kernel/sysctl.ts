import { isNotFound, type Runner } from "../exec";
import type { Netns } from "./ip";

/** Reads a sysctl (e.g. net.ipv4.ip_forward) in a namespace; /proc/sys/net is per netns. */
export async function readSysctl(runner: Runner, netns: Netns, key: string): Promise<string> {
  const { stdout } = await runner.run({ argv: ["sysctl", "-n", key], netns });
  return stdout.trim();
}

export async function writeSysctl(runner: Runner, netns: Netns, key: string, value: string): Promise<void> {
  await runner.run({ argv: ["sysctl", "-q", "-w", `${key}=${value}`], netns });
}

/** Where the provider keeps the values it found before changing sysctls (tmpfs: gone at reboot, like the values). */
export const SYSCTL_LEDGER_DIR = "/run/pulumi-hostnet/sysctl";

/**
 * The value a sysctl had before any resource of ours changed it, and which resources (tags)
 * want it changed now. Kept on the host, beside the kernel, so a run killed before Pulumi
 * saved its state does not make the next run take our own value for the original.
 */
export interface SysctlRecord {
  readonly original: string;
  readonly owners: readonly string[];
}

function recordPath(netns: Netns, key: string): string {
  return `${SYSCTL_LEDGER_DIR}/${netns ?? "-"}/${key}`;
}

export async function readSysctlRecord(runner: Runner, netns: Netns, key: string): Promise<SysctlRecord | undefined> {
  try {
    const { stdout } = await runner.run({ argv: ["cat", recordPath(netns, key)] });
    const parsed = JSON.parse(stdout) as Partial<SysctlRecord>;
    return typeof parsed.original === "string" && Array.isArray(parsed.owners) ? { original: parsed.original, owners: parsed.owners.map(String) } : undefined;
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function writeSysctlRecord(runner: Runner, netns: Netns, key: string, record: SysctlRecord | undefined): Promise<void> {
  const path = recordPath(netns, key);
  if (!record) {
    await runner.run({ argv: ["rm", "-f", "--", path] });
    return;
  }
  await runner.run({ argv: ["mkdir", "-p", "--", path.slice(0, path.lastIndexOf("/"))] });
  await runner.run({ argv: ["tee", "--", path], stdin: JSON.stringify(record) });
}
