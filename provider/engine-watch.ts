import { readFileSync } from "node:fs";
import { stopNewCommands } from "./exec";

/** Command name and parent of a process, from /proc (undefined when it is gone or a zombie). */
function processInfo(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(")");
    const [state, ppid] = stat.slice(close + 2).split(" ");
    if (state === "Z" || state === "X") return undefined;
    return { comm: stat.slice(stat.indexOf("(") + 1, close), ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/**
 * The engine that started this provider: Pulumi runs `pulumi-resource-pulumi-nodejs`, a shell
 * script that starts node without exec, so the engine (`pulumi`) is the parent of that script's
 * shell (whose command name is the script's, cut to 15 characters: "pulumi-resource").
 */
export function enginePid(): number | undefined {
  const parent = processInfo(process.ppid);
  if (!parent) return undefined;
  if (parent.comm === "pulumi") return process.ppid;
  const wrapper = parent.comm.startsWith("pulumi-resource") || ["sh", "dash", "bash"].includes(parent.comm);
  return wrapper ? parent.ppid : process.ppid;
}

/** Provider operations under way (check, create, update, delete...), counted by `track`. */
let inFlight = 0;

/** Runs one provider operation, counted, so an exit can wait for its rollback. */
export async function track<T>(operation: () => Promise<T>): Promise<T> {
  inFlight++;
  try {
    return await operation();
  } finally {
    inFlight--;
  }
}

/**
 * Ends this process when the engine that started it is gone (`kill -9` of `pulumi`): the
 * engine would never send another request nor read a result, and the provider would go on
 * making kernel objects for the operations under way, for as long as they take. From then
 * on, no new command runs: each operation fails at its next command and rolls back what it
 * made (undo steps still run); once they have settled (at most `graceMs`), the process exits,
 * and its 'exit' handlers close the SSH connections. The engine is looked at once a second,
 * off the event loop's way (unref).
 */
export function exitWithEngine(pollMs = 1000, graceMs = 10_000): void {
  const engine = enginePid();
  if (engine === undefined || engine <= 1) return;
  const timer = setInterval(() => {
    if (processInfo(engine)) return;
    clearInterval(timer);
    console.error(`pulumi-hostnet: the Pulumi engine (pid ${engine}) that started this provider is gone; stopping its operations and exiting`);
    stopNewCommands(`stopped: the Pulumi engine (pid ${engine}) that started this provider is gone`);
    const started = Date.now();
    const settle = setInterval(() => {
      if (inFlight > 0 && Date.now() - started < graceMs) return;
      process.exit(1);
    }, 50);
    settle.unref();
  }, pollMs);
  timer.unref();
}
