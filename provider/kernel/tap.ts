import { z } from "zod";
import { CommandError, type Runner } from "../exec";
import { ip, type Netns } from "./ip";
import type { LinkState } from "./link";

export interface TapSpec {
  readonly name: string;
  /** A user name or uid allowed to attach to the tap without privileges. */
  readonly user?: string;
  readonly group?: string;
  readonly multiQueue?: boolean;
}

/** `ip tuntap add` words; a tap made by ip is persistent (it outlives the ip process). */
export function addTapWords(spec: TapSpec): string[] {
  return [
    "tuntap", "add", "dev", spec.name, "mode", "tap",
    ...(spec.user !== undefined ? ["user", spec.user] : []),
    ...(spec.group !== undefined ? ["group", spec.group] : []),
    ...(spec.multiQueue ? ["multi_queue"] : []),
  ];
}

export async function addTap(runner: Runner, netns: Netns, spec: TapSpec): Promise<void> {
  await ip(runner, netns, addTapWords(spec));
}

// `ip -details` of a tun/tap: user and group are names when the machine knows them, else ids.
const tunInfoSchema = z.object({
  type: z.string(),
  multi_queue: z.boolean().default(false),
  persist: z.boolean().default(false),
  user: z.union([z.string(), z.number()]).optional(),
  group: z.union([z.string(), z.number()]).optional(),
});

export interface TapInfo {
  /** "tap" or "tun". */
  readonly type: string;
  readonly multiQueue: boolean;
  readonly persist: boolean;
  readonly user: string | undefined;
  readonly group: string | undefined;
}

/** A tun/tap link's settings; undefined for a link of another kind. */
export function tapInfoOf(state: LinkState): TapInfo | undefined {
  if (state.kind !== "tun") return undefined;
  const parsed = tunInfoSchema.safeParse(state.info ?? {});
  if (!parsed.success) throw new Error(`parse tun ${state.name}: unexpected linkinfo.info_data: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  const { type, multi_queue, persist, user, group } = parsed.data;
  return { type, multiQueue: multi_queue, persist, user: user === undefined ? undefined : String(user), group: group === undefined ? undefined : String(group) };
}

/**
 * The numeric id of a user or group name on the machine the runner reaches (ip shows a
 * tap's owner by name when it can); undefined when the name is unknown there.
 */
export async function accountId(runner: Runner, database: "passwd" | "group", name: string): Promise<string | undefined> {
  if (/^[0-9]+$/.test(name)) return name;
  try {
    const { stdout } = await runner.run({ argv: ["getent", database, name] });
    return stdout.split(":")[2];
  } catch (err) {
    // getent exits 2 for a key it does not know, printing nothing.
    if (err instanceof CommandError && err.exitCode === 2) return undefined;
    throw err;
  }
}
