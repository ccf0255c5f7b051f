import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
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

/** What Pulumi's file backend writes in a lock file. */
const lockContent = z.object({ pid: z.number(), hostname: z.string(), username: z.string().optional(), timestamp: z.string().optional() });

/** Whether a process runs (a zombie does not: it has ended, its parent has not yet looked). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/**
 * Refuses while a lock's holder may still be at work: a `pulumi` process alive on this
 * machine, or one on another machine, which this one cannot see (unless `force`). Cancelling
 * an update still running would let two runs write one state.
 */
export function refuseLiveLocks(locks: readonly string[], stack: StackRef, force: boolean): void {
  for (const file of locks) {
    let holder: z.infer<typeof lockContent>;
    try {
      holder = lockContent.parse(JSON.parse(readFileSync(file, "utf8")));
    } catch {
      continue; // a cut or unreadable lock file: its writer died mid-write
    }
    const who = `process ${holder.pid}${holder.username ? ` of ${holder.username}` : ""} on ${holder.hostname}${holder.timestamp ? `, since ${holder.timestamp}` : ""}`;
    if (holder.hostname === hostname()) {
      if (isRunning(holder.pid)) {
        throw new Error(`recover ${stack.qualified}: the stack's lock is held by ${who}, which is still running: an update is under way. Let it finish, or stop it (kill ${holder.pid}), then recover`);
      }
    } else if (!force) {
      throw new Error(`recover ${stack.qualified}: the stack's lock is held by ${who}: recover cannot tell from here whether it still runs. Run recover there, or pass --force once you know it has ended`);
    }
  }
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
 * so it is never mistaken for a routine command, and while the lock's holder still runs.
 */
export async function recover(cli: PulumiCli, stack: StackRef, report: (line: string) => void, options: { force?: boolean } = {}): Promise<RecoverReport> {
  const backendDir = await cli.fileBackend();
  let repaired = false;
  let locked = true; // unknown for other backends: cancel tells
  if (backendDir === undefined) {
    report("backend: not a file backend; no files to repair there (cancel and refresh only)");
  } else {
    report(`backend: ${backendDir}`);
    // Before anything is repaired: a running update's files are not cut, only being written.
    refuseLiveLocks(lockFiles(backendDir, stack), stack, options.force === true);
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
