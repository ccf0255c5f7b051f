import { isExists, isNotFound, withContext, type Runner } from "../exec";
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

/** One resource's claim on a key, as recorded by SysctlLedger.claim. */
export interface SysctlClaim {
  readonly netns: Netns;
  readonly key: string;
  readonly owner: string;
}

/**
 * The value a sysctl had before any resource of ours changed it, and which resources (tags)
 * want it changed now. Kept on the host beside the kernel, so that a run killed before Pulumi
 * saved its state does not make the next run take our own value for the original, and so
 * that several resources (of several stacks, in several processes) can share one key. Each
 * owner is a file of its own and the original is published with `ln` (which fails when it
 * exists): no read-modify-write, so concurrent writers cannot lose each other's claims.
 */
export class SysctlLedger {
  constructor(private readonly runner: Runner) {}

  private netnsDir(netns: Netns): string {
    return `${SYSCTL_LEDGER_DIR}/${netns ?? "-"}`;
  }

  private dir(netns: Netns, key: string): string {
    return `${this.netnsDir(netns)}/${key}`;
  }

  private async sh(argv: string[], stdin?: string): Promise<string> {
    return (await this.runner.run({ argv, stdin })).stdout;
  }

  /** The recorded original, or undefined when no resource of ours holds the key. */
  async original(netns: Netns, key: string): Promise<string | undefined> {
    try {
      return (await this.sh(["cat", "--", `${this.dir(netns, key)}/original`])).trim();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Claims the key for `owner`; records `found` as the original unless one is recorded. Returns the original. */
  async claim(netns: Netns, key: string, owner: string, found: string): Promise<string> {
    const dir = this.dir(netns, key);
    try {
      await this.addOwner(dir, owner);
    } catch (err) {
      // A release of another key may have just removed the emptied parents (rmdir) between
      // our mkdir and tee: make them again, once.
      if (!isNotFound(err)) throw withContext(err, `record the claim on ${key} under ${dir}`);
      await this.addOwner(dir, owner).catch((again: unknown) => Promise.reject(withContext(again, `record the claim on ${key} under ${dir}`)));
    }
    const draft = `${dir}/original.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await this.sh(["tee", "--", draft], found);
    try {
      await this.sh(["ln", "-T", "--", draft, `${dir}/original`]);
    } catch (err) {
      if (!isExists(err)) throw err; // someone recorded the original first: theirs stands
    } finally {
      await this.sh(["rm", "-f", "--", draft]);
    }
    return (await this.original(netns, key)) ?? found;
  }

  /** Every claim recorded on this machine; none when no record exists. */
  async claims(): Promise<SysctlClaim[]> {
    let out: string;
    try {
      out = await this.sh(["find", SYSCTL_LEDGER_DIR, "-mindepth", "4", "-maxdepth", "4", "-type", "f", "-path", "*/owners/*"]);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return out.split("\n").flatMap((line) => {
      const [netns, key, , owner] = line.slice(SYSCTL_LEDGER_DIR.length + 1).split("/");
      return netns && key && owner ? [{ netns: netns === "-" ? undefined : netns, key, owner: decodeURIComponent(owner) }] : [];
    });
  }

  private async addOwner(dir: string, owner: string): Promise<void> {
    await this.sh(["mkdir", "-p", "--", `${dir}/owners`]);
    await this.sh(["tee", "--", `${dir}/owners/${encodeURIComponent(owner)}`], owner);
  }

  /** Drops `owner`'s claim; returns the original when no claim is left (and forgets the key). */
  async release(netns: Netns, key: string, owner: string): Promise<{ last: boolean; original: string | undefined }> {
    const dir = this.dir(netns, key);
    await this.sh(["rm", "-f", "--", `${dir}/owners/${encodeURIComponent(owner)}`]);
    let owners: string;
    try {
      owners = await this.sh(["ls", "-A", "--", `${dir}/owners`]);
    } catch (err) {
      if (isNotFound(err)) return { last: true, original: undefined };
      throw err;
    }
    if (owners.trim() !== "") return { last: false, original: undefined };
    const original = await this.original(netns, key);
    await this.sh(["rm", "-rf", "--", dir]);
    // The parents we made go once empty, with rmdir: a directory another claim has just
    // written into is not empty, and rmdir then leaves it (and the ones above it) alone.
    for (const parent of [this.netnsDir(netns), SYSCTL_LEDGER_DIR]) {
      try {
        await this.sh(["rmdir", "--", parent]);
      } catch {
        break; // not empty (someone else's record), already gone, or not ours to remove
      }
    }
    return { last: true, original };
  }
}
