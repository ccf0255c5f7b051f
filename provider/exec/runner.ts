import { CommandError } from "./errors";
import { refuseWhenStopped } from "./shutdown";

/** One command to run: an argv array (never a shell string), optionally inside a named netns. */
export interface Command {
  readonly argv: readonly string[];
  /** Run inside this named network namespace (for tools without their own netns flag). */
  readonly netns?: string;
  readonly stdin?: string;
  readonly timeoutMs?: number;
  /** More environment for the process (a transport's own settings, e.g. SSH_AUTH_SOCK). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** The one door to processes. Everything in provider/kernel talks to the system through it. */
export interface Runner {
  run(command: Command): Promise<CommandResult>;
}

export interface ExecaRunnerOptions {
  /**
   * Argv put before every command, e.g. `nsenter -t PID -n -m --` to act inside a sandbox.
   * Empty in production: the provider acts in the namespaces it runs in.
   */
  readonly prefix?: readonly string[];
  readonly defaultTimeoutMs?: number;
}

/** Full argv actually executed for a command: prefix, then netns entry, then the command. */
export function fullArgv(command: Command, prefix: readonly string[] = []): string[] {
  const netns = command.netns ? ["ip", "netns", "exec", command.netns] : [];
  return [...prefix, ...netns, ...command.argv];
}

type ExecaModule = typeof import("execa", { with: { "resolution-mode": "import" } });
let execaModule: Promise<ExecaModule> | undefined;
/** execa 9 is ESM-only; this package is CommonJS, so it is loaded once, lazily. */
function loadExeca(): Promise<ExecaModule> {
  execaModule ??= import("execa");
  return execaModule;
}

export class ExecaRunner implements Runner {
  private readonly prefix: readonly string[];
  private readonly defaultTimeoutMs: number;

  constructor(options: ExecaRunnerOptions = {}) {
    this.prefix = options.prefix ?? [];
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  }

  async run(command: Command): Promise<CommandResult> {
    const argv = fullArgv(command, this.prefix);
    const [file, ...args] = argv;
    if (!file) throw new Error("empty argv");
    refuseWhenStopped(fullArgv(command));
    const { execa } = await loadExeca();
    const result = await execa(file, args, {
      input: command.stdin,
      stdin: command.stdin === undefined ? "ignore" : "pipe",
      timeout: command.timeoutMs ?? this.defaultTimeoutMs,
      reject: false,
      env: { ...command.env, LC_ALL: "C" },
      stripFinalNewline: false,
    });
    const shown = fullArgv(command); // what the user would type, without a test sandbox's prefix
    if (result.timedOut) throw new CommandError(shown, undefined, `timed out after ${command.timeoutMs ?? this.defaultTimeoutMs} ms`, "timeout");
    if (result.failed) {
      const stderr = typeof result.stderr === "string" ? result.stderr : "";
      const words = stderr || (result.code === "ENOENT" ? `${file}: command not found (install it: see README)` : (result.shortMessage ?? "failed"));
      throw new CommandError(shown, result.exitCode, words, undefined, typeof result.stdout === "string" ? result.stdout : "");
    }
    return { stdout: String(result.stdout), stderr: String(result.stderr) };
  }
}
