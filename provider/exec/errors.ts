/** What a failed command means, decided once here so callers never match stderr themselves. */
/** "unreachable": the transport, not the command, failed (a remote machine could not be reached or logged into). */
export type ErrorKind = "not-found" | "exists" | "permission" | "timeout" | "unreachable" | "other";

/** Ordered: the first pattern that matches the kernel's words wins (LC_ALL=C is forced). */
const PATTERNS: ReadonlyArray<readonly [RegExp, ErrorKind]> = [
  [/Operation not permitted|Permission denied/i, "permission"],
  // `ip tuntap add` of a name in use: TUNSETIFF with IFF_TUN_EXCL answers EBUSY.
  [/File exists|Address already assigned|already exists|TUNSETIFF\): Device or resource busy/i, "exists"],
  [
    // conntrack -D that matched nothing exits 1 with "0 flow entries have been deleted."
    /Cannot find device|does not exist|No such file or directory|No such process|Address not found|Cannot open network namespace|No such device|\b0 flow entries have been deleted/i,
    "not-found",
  ],
];

export function classifyStderr(stderr: string): ErrorKind {
  for (const [pattern, kind] of PATTERNS) {
    if (pattern.test(stderr)) return kind;
  }
  return "other";
}

/** File tools the provider runs on its own records (the sysctl ledger); their last word is the path. */
const FILE_TOOLS = new Set(["mkdir", "tee", "ln", "rm", "rmdir", "cat", "ls"]);

/**
 * What a refused command needs: a file tool needs access to its path, not a capability, so
 * naming CAP_NET_ADMIN there would send the user the wrong way.
 */
function permissionHint(argv: readonly string[], machine: string | undefined): string {
  const who = machine ? `the login user on machine ${machine}` : "pulumi-hostnet";
  const tool = argv[0] === "ip" && argv[1] === "netns" && argv[2] === "exec" ? argv[4] : argv[0];
  if (tool !== undefined && FILE_TOOLS.has(tool)) {
    return ` (${who} needs permission to write ${argv.at(-1) ?? "its records"}: run it as root, or let that user write that directory)`;
  }
  return ` (${who} needs CAP_NET_ADMIN to change links, routes and firewall rules, and CAP_SYS_ADMIN to make namespaces: run it as root, or grant those capabilities)`;
}

/** A command that exited non-zero (or timed out): carries everything a user needs to see why. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly kind: ErrorKind;
  /** What it printed before it failed (`ip -batch` tells how far it got by it). */
  readonly stdout: string;
  /** The remote machine the command ran on ("m1 (root@192.168.77.1:22)"); undefined for this one. */
  readonly machine: string | undefined;

  constructor(argv: readonly string[], exitCode: number | undefined, stderr: string, kind?: ErrorKind, stdout = "", machine?: string) {
    const words = stderr.trim() || `exit code ${exitCode ?? "unknown"}`;
    const resolvedKind = kind ?? classifyStderr(stderr);
    const hint = resolvedKind === "permission" ? permissionHint(argv, machine) : "";
    super(`${machine ? `on machine ${machine}: ` : ""}${argv.length ? `${argv.join(" ")}: ` : ""}${words}${hint}`);
    this.name = "CommandError";
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.kind = resolvedKind;
    this.stdout = stdout;
    this.machine = machine;
  }
}

export function isUnreachable(err: unknown): boolean {
  return err instanceof CommandError && err.kind === "unreachable";
}

export function isNotFound(err: unknown): boolean {
  return err instanceof CommandError && err.kind === "not-found";
}

export function isExists(err: unknown): boolean {
  return err instanceof CommandError && err.kind === "exists";
}

/** Prefixes an error's message with what we were doing, keeping its type and fields. */
export function withContext(err: unknown, doing: string): Error {
  if (err instanceof Error) {
    err.message = `${doing}: ${err.message}`;
    return err;
  }
  return new Error(`${doing}: ${String(err)}`);
}
