import { admit, CommandError, refuseWhenStopped, type Runner } from "../exec";

/**
 * Where a kernel object lives: a named netns, or undefined for the namespace the provider
 * runs in (the machine's root netns, or a sandbox's).
 */
export type Netns = string | undefined;

/** argv for `ip` in a namespace: `ip -n NS ...` (cheaper than `ip netns exec`). */
export function ipArgv(netns: Netns, args: readonly string[], json = false): string[] {
  return ["ip", ...(json ? ["-json"] : []), ...(netns ? ["-n", netns] : []), ...args];
}

/** A change (`ip link add ...`); nothing is printed, so nothing is returned. */
export async function ip(runner: Runner, netns: Netns, args: readonly string[]): Promise<void> {
  await ipCommands(runner, netns, [args]);
}

/** A read (`ip -json ... show`): its JSON text. */
export async function ipJson(runner: Runner, netns: Netns, args: readonly string[]): Promise<string> {
  const [out] = await ipCommands(runner, netns, [args]);
  return out ?? "";
}

/**
 * Runs `commands` in order in one namespace, as one unit: a failing command stops the rest,
 * as in `ip -batch`. Returns each command's JSON output ("" for a command that prints none).
 * A command may start with global flags ("-6", "-details"); all commands of a call must share
 * them.
 *
 * Concurrent calls for one namespace are merged into a single `ip -batch` process (one process
 * start costs about 5 ms here; 50 containers being created at once each touch the host). ip
 * stops at the first failing line; the lines it printed tell which (see PROGRESS_MARK), so
 * the error goes to the call that owns that line, the calls before it have run whole, and
 * the calls after it have not run at all and go into the next batch. No call's lines run
 * after one of its own failed.
 */
export function ipCommands(runner: Runner, netns: Netns, commands: readonly (readonly string[])[]): Promise<string[]> {
  const split = commands.map(splitFlags);
  const flags = split[0]?.flags ?? [];
  if (split.some((c) => c.flags.join(" ") !== flags.join(" "))) return Promise.reject(new Error(`ip commands of one call must share their flags: ${commands.map((c) => c.join(" ")).join("; ")}`));
  const unsafe = split.flatMap((c) => c.words).find((word) => !/^[^\s"'\\#]+$/.test(word));
  if (unsafe !== undefined) return Promise.reject(new Error(`refusing to put ${JSON.stringify(unsafe)} into an ip batch`));
  // Judged here, in the caller's context (an undo step is let through after a stop); the batch it joins runs admitted.
  try {
    refuseWhenStopped(["ip", ...commands.flatMap((c) => c)]);
  } catch (err) {
    return Promise.reject(err);
  }
  // -details changes only what a show prints, and every merged batch prints it: not part of the key.
  const keyFlags = flags.filter((f) => f !== "-details");
  const key = `${netns ?? ""}\u0000${keyFlags.join(" ")}`;
  let queues = queuesByRunner.get(runner);
  if (!queues) queuesByRunner.set(runner, (queues = new Map()));
  let queue = queues.get(key);
  if (!queue) queues.set(key, (queue = { pending: [], draining: false }));
  const request: IpRequest = { original: commands, words: split.map((c) => c.words), resolve: () => {}, reject: () => {} };
  const promise = new Promise<string[]>((resolve, reject) => Object.assign(request, { resolve, reject }));
  queue.pending.push(request);
  if (!queue.draining) void drain(runner, netns, keyFlags, queue);
  return promise;
}

/** Which of `commands` (run as one call of ipCommands in `netns`) failed, by the argv its error names. */
export function failedCommandIndex(err: unknown, netns: Netns, commands: readonly (readonly string[])[]): number | undefined {
  if (!(err instanceof CommandError)) return undefined;
  const index = commands.findIndex((c) => ipArgv(netns, c).join(" ") === err.argv.join(" "));
  return index < 0 ? undefined : index;
}

interface IpRequest {
  /** As the caller wrote them, flags included: what a single command runs as, and what errors show. */
  readonly original: readonly (readonly string[])[];
  /** Without the flags: the batch lines. */
  readonly words: readonly (readonly string[])[];
  resolve(outputs: string[]): void;
  reject(err: unknown): void;
}

interface Queue {
  pending: IpRequest[];
  draining: boolean;
}

const queuesByRunner = new WeakMap<Runner, Map<string, Queue>>();

function splitFlags(command: readonly string[]): { flags: string[]; words: string[] } {
  const at = command.findIndex((w) => !w.startsWith("-"));
  const cut = at < 0 ? command.length : at;
  return { flags: command.slice(0, cut), words: command.slice(cut) };
}

/** Commands that print a JSON document (one line with -json); all others print nothing. */
function prints(words: readonly string[]): boolean {
  return ["show", "list", "get"].includes(words[1] ?? "");
}

async function drain(runner: Runner, netns: Netns, flags: readonly string[], queue: Queue): Promise<void> {
  queue.draining = true;
  // Let the other calls of this tick queue up behind the first.
  await new Promise((resolve) => setImmediate(resolve));
  while (queue.pending.length > 0) {
    const batch = queue.pending.splice(0);
    try {
      const notRun = await admit(() => (batch.length === 1 && batch[0]!.words.length === 1 ? runAlone(runner, netns, batch[0]!) : runBatch(runner, netns, flags, batch)));
      queue.pending.unshift(...notRun);
    } catch (err) {
      // Settling a settled promise does nothing: this reaches only the calls still waiting.
      for (const r of batch) r.reject(err);
    }
  }
  queue.draining = false;
}

/** One command on its own: plain argv, the way a person would type it. */
async function runAlone(runner: Runner, netns: Netns, request: IpRequest): Promise<IpRequest[]> {
  const command = request.original[0]!;
  const json = prints(request.words[0]!);
  try {
    const { stdout } = await runner.run({ argv: ipArgv(netns, command, json) });
    request.resolve([json ? stdout : ""]);
  } catch (err) {
    request.reject(err);
  }
  return [];
}

/**
 * After each command that prints nothing, a line that prints one line of its own: ip stops at
 * the first failing command, either saying "Command failed -:N" or (for some bad arguments,
 * e.g. a master that does not exist) simply exiting, so the count of lines printed is what
 * tells, in both cases, how far it got.
 */
// (Not `link show`: in a batch it leaves ip's address filter set so that a later `addr show`
// prints no addresses.)
const PROGRESS_MARK = ["addr", "show", "dev", "lo"];

/** Several commands, of one or more calls, in one `ip -batch`; returns the calls that did not run. */
async function runBatch(runner: Runner, netns: Netns, flags: readonly string[], batch: IpRequest[]): Promise<IpRequest[]> {
  const lines = batch.flatMap((r) => r.words.flatMap((w) => (prints(w) ? [w.join(" ")] : [w.join(" "), PROGRESS_MARK.join(" ")])));
  let stdout: string;
  let failure: CommandError | undefined;
  try {
    ({ stdout } = await runner.run({ argv: ipArgv(netns, [...flags, "-details", "-batch", "-"], true), stdin: `${lines.join("\n")}\n` }));
  } catch (err) {
    if (!(err instanceof CommandError)) {
      for (const r of batch) r.reject(err);
      return [];
    }
    failure = err;
    stdout = err.stdout;
  }
  // One line per command that ran to its end: its output, or its progress mark.
  const printed = stdout.split("\n").filter((l) => l.trim() !== "");
  let done = 0;
  for (const [index, request] of batch.entries()) {
    const outputs: string[] = [];
    for (const [c, words] of request.words.entries()) {
      const line = printed[done];
      if (line === undefined) {
        if (!failure) {
          const error = new Error(`ip -batch printed ${printed.length} lines, expected one per command: ${lines.join("; ")}`);
          for (const r of batch.slice(index)) r.reject(error);
          return [];
        }
        const stderr = failure.stderr.replace(/\s*Command failed -:\d+\s*$/, "");
        // The kind stays (a transport failure is no kernel "not found"), and so does the machine.
        request.reject(new CommandError(ipArgv(netns, request.original[c]!), failure.exitCode, stderr, failure.kind === "unreachable" ? failure.kind : undefined, "", failure.machine));
        return batch.slice(index + 1);
      }
      done++;
      outputs.push(prints(words) ? line : "");
    }
    request.resolve(outputs);
  }
  if (failure) throw failure; // every command printed its line, yet ip failed: the caller rejects the lot
  return [];
}
