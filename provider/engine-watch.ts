import { readFileSync } from "node:fs";

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
 * script that starts node without exec, so the engine is the parent of our `sh` parent.
 */
export function enginePid(): number | undefined {
  const parent = processInfo(process.ppid);
  if (!parent) return undefined;
  return parent.comm === "sh" || parent.comm === "dash" || parent.comm === "bash" ? parent.ppid : process.ppid;
}

/**
 * Ends this process when the engine that started it is gone (`kill -9` of `pulumi`): the
 * engine would never send another request nor read a result, and the provider would go on
 * making kernel objects for the operations under way. Exiting stops them; the 'exit' handlers
 * close the SSH connections. Checked once a second, off the event loop's way (unref).
 */
export function exitWithEngine(pollMs = 1000): void {
  const engine = enginePid();
  if (engine === undefined || engine <= 1) return;
  const timer = setInterval(() => {
    if (processInfo(engine)) return;
    console.error(`pulumi-hostnet: the Pulumi engine (pid ${engine}) that started this provider is gone; exiting`);
    process.exit(1);
  }, pollMs);
  timer.unref();
}
