import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { Runner } from "../exec";

/** A stack named as the file backend names it: ORG/PROJECT/STACK. */
export interface StackRef {
  /** What `pulumi --stack` is given. */
  readonly qualified: string;
  readonly project: string;
  readonly stack: string;
  /** Every ownership tag of this stack starts with it (sdk/common.ts ownershipTag). */
  readonly tagPrefix: string;
}

const PART = /^[A-Za-z0-9_.-]+$/;

export function parseStackRef(text: string): StackRef {
  const parts = text.split("/");
  if (parts.length !== 3 || !parts.every((p) => PART.test(p))) {
    throw new Error(`bad --stack "${text}": expected ORG/PROJECT/STACK (e.g. organization/myproject/dev), each part of letters, digits, "_", "." or "-"`);
  }
  const [, project, stack] = parts as [string, string, string];
  // The same cleaning ownershipTag applies to the project and stack names.
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.@-]/g, "_");
  return { qualified: text, project, stack, tagPrefix: `hostnet:${clean(project)}/${clean(stack)}/` };
}

/** What the stack's state holds, as the kernel would name it: ownership tags and resource ids. */
export interface HeldState {
  readonly tags: ReadonlySet<string>;
  readonly ids: ReadonlySet<string>;
  readonly resources: number;
}

const resourceSchema = z.object({
  id: z.string().optional(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
});
const exportSchema = z.object({
  deployment: z
    .object({
      resources: z.array(resourceSchema).nullish(),
      pending_operations: z.array(z.object({ resource: resourceSchema })).nullish(),
    })
    .nullish(),
});

/**
 * Reads `pulumi stack export` output. Resources of pending operations (creates a killed run
 * left) count as held too: what the state may still mean is never called an orphan.
 */
export function heldFromExport(json: string): HeldState {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`read the stack's state: pulumi stack export printed no JSON (${(err as Error).message})`);
  }
  const parsed = exportSchema.safeParse(data);
  if (!parsed.success) throw new Error(`read the stack's state: unexpected shape of pulumi stack export: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const deployment = parsed.data.deployment;
  const resources = [...(deployment?.resources ?? []), ...(deployment?.pending_operations ?? []).map((p) => p.resource)];
  const tags = new Set<string>();
  const ids = new Set<string>();
  for (const r of resources) {
    for (const props of [r.outputs, r.inputs]) if (typeof props?.tag === "string") tags.add(props.tag);
    if (r.id) ids.add(r.id);
  }
  return { tags, ids, resources: deployment?.resources?.length ?? 0 };
}

/** The `pulumi` CLI, through the one runner; never throws on its own, errors carry its words. */
export class PulumiCli {
  constructor(
    private readonly runner: Runner,
    private readonly cwd: string | undefined,
  ) {}

  async run(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const argv = ["pulumi", ...args, "--non-interactive", ...(this.cwd ? ["--cwd", this.cwd] : [])];
    return (await this.runner.run({ argv, timeoutMs })).stdout;
  }

  async held(stack: StackRef): Promise<HeldState> {
    return heldFromExport(await this.run(["stack", "export", "--stack", stack.qualified]));
  }

  /** The file backend's directory, or undefined for another backend (the service, a bucket). */
  async fileBackend(): Promise<string | undefined> {
    const who = z.object({ url: z.string() }).safeParse(JSON.parse(await this.run(["whoami", "--json"])));
    if (!who.success || !who.data.url.startsWith("file://")) return undefined;
    return fileURLToPath(who.data.url.split("?")[0] ?? who.data.url);
  }
}

/** Lock files of the stack in a file backend: an update running now, or one killed. */
export function lockFiles(backendDir: string, stack: StackRef): string[] {
  const dirs = [join(backendDir, ".pulumi", "locks", ...stack.qualified.split("/")), join(backendDir, ".pulumi", "locks", stack.stack)];
  return dirs.flatMap((dir) => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
}
