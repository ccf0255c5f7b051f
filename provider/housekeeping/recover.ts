import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { lockFiles, type PulumiCli, type StackRef } from "./stack";

function isJson(file: string): boolean {
  try {
    JSON.parse(readFileSync(file, "utf8"));
    return true;
  } catch {
    return false;
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => join(dir, f));
}

/** The stack's checkpoint in a file backend: project-scoped layout first, then the legacy one. */
function checkpointOf(backendDir: string, stack: StackRef): string {
  const scoped = join(backendDir, ".pulumi", "stacks", stack.project, `${stack.stack}.json`);
  const legacy = join(backendDir, ".pulumi", "stacks", `${stack.stack}.json`);
  return existsSync(scoped) || !existsSync(legacy) ? scoped : legacy;
}

/** Earlier checkpoints of the stack, newest first: <stack>.json.bak, then the backend's backups. */
function backupsOf(backendDir: string, stack: StackRef, checkpoint: string): string[] {
  const backups = filesUnder(join(backendDir, ".pulumi", "backups")).filter((f) => f.includes(`/${stack.stack}/`) && f.endsWith(".json") && f.includes(`/${stack.project}/`));
  return [`${checkpoint}.bak`, ...backups].filter((f) => existsSync(f) && statSync(f).size > 0).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

export interface RecoverReport {
  /** A cut file was removed or the checkpoint put back from a backup. */
  readonly repaired: boolean;
}

/**
 * What a person does after `pulumi up` was killed (SIGKILL, power cut): in a file backend, the
 * blob store's metadata files (`*.attrs`) cut mid-write are removed (a missing one is fine) and
 * a cut checkpoint is put back from the newest whole backup; then `pulumi cancel` drops the
 * lock and `pulumi refresh --clear-pending-creates` the creates the killed run left pending.
 * What was made since the restored checkpoint carries this stack's tags: the next `up` adopts
 * it, or `gc` lists it. Refuses when there is nothing to recover (whole checkpoint, no lock),
 * so it is never mistaken for a routine command.
 */
export async function recover(cli: PulumiCli, stack: StackRef, report: (line: string) => void): Promise<RecoverReport> {
  const backendDir = await cli.fileBackend();
  let repaired = false;
  let locked = true; // unknown for other backends: cancel tells
  if (backendDir === undefined) {
    report("backend: not a file backend; no files to repair there (cancel and refresh only)");
  } else {
    report(`backend: ${backendDir}`);
    for (const f of filesUnder(join(backendDir, ".pulumi")).filter((f) => f.endsWith(".attrs") && !isJson(f))) {
      rmSync(f);
      repaired = true;
      report(`repaired: removed the cut metadata file ${f}`);
    }
    const checkpoint = checkpointOf(backendDir, stack);
    if (existsSync(checkpoint) && !isJson(checkpoint)) {
      const backup = backupsOf(backendDir, stack, checkpoint).find(isJson);
      if (!backup) throw new Error(`recover ${stack.qualified}: the checkpoint ${checkpoint} is cut and no whole backup of it exists (look under ${join(backendDir, ".pulumi", "backups")})`);
      copyFileSync(backup, checkpoint);
      repaired = true;
      report(`repaired: the checkpoint was cut; put back ${backup}`);
    } else {
      report(`checkpoint: whole (${checkpoint})`);
    }
    const locks = lockFiles(backendDir, stack);
    locked = locks.length > 0;
    report(locked ? `lock: held (${locks.join(", ")}); an update was killed, or is running now` : "lock: none");
    if (!repaired && !locked) {
      throw new Error(`recover ${stack.qualified}: nothing to recover (the checkpoint is whole and no lock is held); for drift run \`pulumi refresh\`, for leftover kernel objects \`pulumi-hostnet gc\``);
    }
  }
  await cli.run(["cancel", "--yes", "--stack", stack.qualified]);
  report("cancel: done (the lock of the killed update is gone)");
  await cli.run(["refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", stack.qualified], 600_000);
  report("refresh --clear-pending-creates: done (pending creates dropped; the next `pulumi up` adopts what they made)");
  return { repaired };
}
