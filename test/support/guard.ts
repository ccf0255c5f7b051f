import { appendFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { TEST_LIMIT_MS } from "./limits";
import { PulumiProject } from "./pulumi";
import { Lab, type LabHostOptions } from "./lab";
import { isRoot, Sandbox } from "./sandbox";

const LEDGER_DIR = resolve(__dirname, "../.work");

/** `describe` for tests that need root (namespaces, links); skipped only when not root. */
export const describeAsRoot: jest.Describe = isRoot ? describe : describe.skip;

/**
 * A sandbox per test file, with a snapshot taken before anything runs so a test can check
 * that the host is left exactly as it was.
 */
export function useSandbox(): SandboxContext {
  const holder: { sandbox?: Sandbox; before?: string } = {};
  const teardowns: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    holder.sandbox = await Sandbox.create();
    holder.before = await holder.sandbox.snapshot();
  });
  afterAll(async () => {
    // What was built on the sandbox (a lab of machines) goes first, newest first.
    for (const teardown of teardowns.reverse()) await teardown();
    // The leak guard: whatever the tests did, the sandbox must end as it began. Every line
    // that differs counts as a leaked object in the suite's figure (scripts/test.sh sums them).
    if (holder.sandbox && holder.before !== undefined) recordLeaks(holder.before, await holder.sandbox.snapshot(), expect.getState().testPath ?? "");
    await holder.sandbox?.destroy();
  });
  return {
    addTeardown: (teardown) => void teardowns.push(teardown),
    get sandbox() {
      if (!holder.sandbox) throw new Error("sandbox not ready");
      return holder.sandbox;
    },
    get before() {
      if (holder.before === undefined) throw new Error("sandbox not ready");
      return holder.before;
    },
  };
}

export interface SandboxContext {
  readonly sandbox: Sandbox;
  readonly before: string;
  /** Runs `teardown` before the sandbox is checked and destroyed, also when tests failed. */
  addTeardown(teardown: () => Promise<void>): void;
}

function recordLeaks(before: string, after: string, file: string): void {
  const seen = new Set(before.split("\n"));
  const leaked = after.split("\n").filter((line) => line.trim() && !seen.has(line));
  mkdirSync(LEDGER_DIR, { recursive: true });
  appendFileSync(join(LEDGER_DIR, "leaks.jsonl"), `${JSON.stringify({ file, leaked })}\n`);
}

/**
 * Simulated machines reached over SSH (test/support/lab.ts) inside the file's sandbox, each
 * with its own leak guard: every machine must end as it began.
 */
export function useLab(ctx: SandboxContext, count: number, options?: (i: number) => LabHostOptions): { readonly lab: Lab } {
  const holder: { lab?: Lab; before?: string[] } = {};
  beforeAll(async () => {
    holder.lab = await Lab.create(ctx.sandbox, count, options);
    ctx.addTeardown(async () => {
      const lab = holder.lab;
      if (!lab) return;
      if (holder.before) {
        for (const [i, host] of lab.hosts.entries()) {
          recordLeaks(holder.before[i] ?? "", await host.snapshot(), `${expect.getState().testPath} (machine ${host.name})`);
        }
      }
      await lab.destroy();
    });
    holder.before = await Promise.all(holder.lab.hosts.map((h) => h.snapshot()));
  }, TEST_LIMIT_MS);
  return {
    get lab() {
      if (!holder.lab) throw new Error("lab not ready");
      return holder.lab;
    },
  };
}

/** A Pulumi project in the file's sandbox: its stack is made before the tests, its files removed after. */
export function usePulumiProject(ctx: { readonly sandbox: Sandbox }, name: string, programDir?: string): PulumiProject {
  const project = new PulumiProject(ctx, name, programDir);
  beforeAll(() => project.init());
  afterAll(() => project.cleanup());
  return project;
}
