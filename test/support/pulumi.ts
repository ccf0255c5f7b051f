import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CLI_LIMIT_MS } from "./limits";
import type { Sandbox } from "./sandbox";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

const repoRoot = resolve(__dirname, "../..");
const HOSTNET_CLI = join(repoRoot, "dist", "provider", "housekeeping", "cli.js");

let counter = 0;

/**
 * A Pulumi project driven through the real `pulumi` CLI inside a sandbox, with a local file
 * backend in its own directory. The program is JavaScript written by the test; it lives under
 * test/.work inside the repo so `require("pulumi-hostnet")` resolves as in a user's project.
 */
export class PulumiProject {
  readonly dir: string;
  readonly programDir: string;
  private readonly stack: string;
  /** An existing program (e.g. examples/bridge) rather than one the test writes. */
  private readonly existingProgram: boolean;
  /** More environment for every CLI run (e.g. PULUMI_SKIP_CHECKPOINTS). */
  extraEnv: Record<string, string> = {};

  /** `where` is read lazily: a test file's sandbox exists only once its beforeAll has run. */
  constructor(
    private readonly where: { readonly sandbox: Sandbox },
    readonly name: string,
    programDir?: string,
  ) {
    this.dir = join(repoRoot, "test", ".work", `${name}-${process.pid}-${++counter}`);
    this.existingProgram = programDir !== undefined;
    this.programDir = programDir ?? join(this.dir, "program");
    // A stack of an existing program keeps its config file beside the program: make it unique.
    this.stack = this.existingProgram ? `t${process.pid}x${counter}` : "test";
  }

  /** Writes the program: `body` is JavaScript with `hostnet` and `pulumi` in scope. */
  writeProgram(body: string): void {
    const source = `"use strict";\nconst pulumi = require("@pulumi/pulumi");\nconst hostnet = require("pulumi-hostnet");\n${body}\n`;
    writeFileSync(join(this.programDir, "index.js"), source);
  }

  /** Makes the project's directories and its stack. */
  async init(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(join(this.dir, "state"), { recursive: true });
    if (!this.existingProgram) {
      mkdirSync(this.programDir, { recursive: true });
      writeFileSync(join(this.programDir, "Pulumi.yaml"), `name: ${this.name}\nruntime: nodejs\nmain: index.js\n`);
    }
    const result = await this.cli(["stack", "init", this.stack]);
    if (result.code !== 0) throw new Error(`pulumi stack init failed:\n${result.output}`);
  }

  /** Runs `pulumi <args>` inside the sandbox; never throws on a non-zero exit. */
  cli(args: string[], timeoutMs = CLI_LIMIT_MS): Promise<CliResult> {
    return this.spawn(["pulumi", ...args, "--non-interactive", "--cwd", this.programDir], timeoutMs);
  }

  /** Starts `pulumi up` without waiting for it: the pid of `pulumi` itself (nsenter execs it), and its end. */
  startUp(timeoutMs = 240_000): { pid: number; done: Promise<CliResult> } {
    return this.start(["pulumi", "up", "--yes", "--skip-preview", "--stack", this.stack, "--non-interactive", "--cwd", this.programDir], timeoutMs);
  }

  private spawn(command: string[], timeoutMs: number): Promise<CliResult> {
    return this.start(command, timeoutMs).done;
  }

  private start(command: string[], timeoutMs: number): { pid: number; done: Promise<CliResult> } {
    const argv = [...this.where.sandbox.prefix(), ...command];
    const env = this.env();
    const [file, ...rest] = argv;
    const child = spawn(file ?? "nsenter", rest, { env, stdio: ["ignore", "pipe", "pipe"] });
    const done = new Promise<CliResult>((done) => {
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        done({ code: code ?? -1, stdout, stderr, output: stdout + stderr });
      });
    });
    return { pid: child.pid ?? 0, done };
  }

  /**
   * Starts `pulumi up` and kills it with SIGKILL, with every process it started (its own
   * process group), as a crash or a power cut would, as soon as `when` answers true (polled).
   * Resolves when all are gone.
   */
  async upKilledWhen(when: () => Promise<boolean>): Promise<void> {
    const [file, ...rest] = [...this.where.sandbox.prefix(), "pulumi", "up", "--yes", "--skip-preview", "--stack", this.stack, "--non-interactive", "--cwd", this.programDir];
    const child = spawn(file ?? "nsenter", rest, { env: this.env(), stdio: "ignore", detached: true });
    let finished = false;
    const closed = new Promise<void>((done) => child.on("close", () => done()));
    void closed.then(() => (finished = true));
    while (!finished && !(await when())) await new Promise((r) => setTimeout(r, 25));
    try {
      process.kill(-(child.pid ?? 0), "SIGKILL");
    } catch {
      // It had finished already.
    }
    await closed;
  }

  /** `pulumi up`; throws with the CLI's output when it fails. */
  async up(): Promise<CliResult> {
    return this.must(["up", "--yes", "--skip-preview", "--stack", this.stack]);
  }

  async preview(extra: string[] = []): Promise<CliResult> {
    return this.cli(["preview", "--diff", "--stack", this.stack, ...extra]);
  }

  async refresh(): Promise<CliResult> {
    return this.must(["refresh", "--yes", "--skip-preview", "--stack", this.stack]);
  }

  async destroy(): Promise<CliResult> {
    return this.must(["destroy", "--yes", "--skip-preview", "--stack", this.stack]);
  }

  async outputs(): Promise<Record<string, unknown>> {
    const result = await this.must(["stack", "output", "--json", "--stack", this.stack]);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${join(this.dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "hostnet-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      // The program's Node must be the one setup chose (first on PATH via scripts/env.sh).
      NODE_OPTIONS: "",
      ...this.extraEnv,
    };
  }

  /** The stack as `pulumi-hostnet` commands name it (file backend: ORG/PROJECT/STACK). */
  get qualifiedStack(): string {
    return `organization/${this.name}/${this.stack}`;
  }

  /** Runs the shipped `pulumi-hostnet` command (dist/, built by setup) inside the sandbox with this project's backend. */
  hostnet(args: string[], timeoutMs = CLI_LIMIT_MS): Promise<CliResult> {
    return this.spawn([process.execPath, HOSTNET_CLI, ...args, "--cwd", this.programDir], timeoutMs);
  }

  /** Runs any command inside the sandbox with this project's backend (e.g. an installed package's bin). */
  command(argv: string[], timeoutMs = CLI_LIMIT_MS): Promise<CliResult> {
    return this.spawn(argv, timeoutMs);
  }

  /**
   * After a killed run: the shipped `pulumi-hostnet recover` (cut checkpoint files repaired
   * from the backend's own copies, then `pulumi cancel` and `pulumi refresh
   * --clear-pending-creates`). What was made since is ours, and the next up adopts it.
   */
  async recoverFromKill(): Promise<{ restoredFromBackup: boolean }> {
    const result = await this.hostnet(["recover", "--stack", this.qualifiedStack]);
    if (result.code !== 0) throw new Error(`pulumi-hostnet recover failed (exit ${result.code}):\n${result.output}`);
    return { restoredFromBackup: /^repaired: /m.test(result.stdout) };
  }

  /** Empties the stack's checkpoint, as a kill in the middle of writing it does. */
  truncateCheckpoint(): void {
    writeFileSync(this.stackFile(), "");
    if (existsSync(`${this.stackFile()}.attrs`)) writeFileSync(`${this.stackFile()}.attrs`, "");
  }

  private stackFile(): string {
    const stacks = join(this.dir, "state", ".pulumi", "stacks");
    const file = readdirSync(stacks, { recursive: true, encoding: "utf8" }).find((f) => f.endsWith(`${this.stack}.json`));
    if (!file) throw new Error(`no checkpoint of stack ${this.stack} under ${stacks}`);
    return join(stacks, file);
  }

  async config(key: string, value: string): Promise<void> {
    await this.must(["config", "set", key, value, "--stack", this.stack]);
  }

  /** Removes the project's files (state, program, stack config) after its stack has been destroyed. */
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(join(this.programDir, `Pulumi.${this.stack}.yaml`), { force: true });
  }

  private async must(args: string[]): Promise<CliResult> {
    const result = await this.cli(args);
    if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${result.code}):\n${result.output}`);
    return result;
  }
}
