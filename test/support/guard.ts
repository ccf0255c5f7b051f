import { appendFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PulumiProject } from "./pulumi";
import { isRoot, Sandbox } from "./sandbox";

const LEDGER_DIR = resolve(__dirname, "../.work");

/** `describe` for tests that need root (namespaces, links); skipped only when not root. */
export const describeAsRoot: jest.Describe = isRoot ? describe : describe.skip;

/**
 * A sandbox per test file, with a snapshot taken before anything runs so a test can check
 * that the host is left exactly as it was.
 */
export function useSandbox(): { readonly sandbox: Sandbox; readonly before: string } {
  const holder: { sandbox?: Sandbox; before?: string } = {};
  beforeAll(async () => {
    holder.sandbox = await Sandbox.create();
    holder.before = await holder.sandbox.snapshot();
  });
  afterAll(async () => {
    // The leak guard: whatever the tests did, the sandbox must end as it began. Every line
    // that differs counts as a leaked object in the suite's figure (scripts/test.sh sums them).
    if (holder.sandbox && holder.before !== undefined) {
      const after = await holder.sandbox.snapshot();
      const before = new Set(holder.before.split("\n"));
      const leaked = after.split("\n").filter((line) => line.trim() && !before.has(line));
      mkdirSync(LEDGER_DIR, { recursive: true });
      appendFileSync(join(LEDGER_DIR, "leaks.jsonl"), `${JSON.stringify({ file: expect.getState().testPath, leaked })}\n`);
    }
    await holder.sandbox?.destroy();
  });
  return {
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

/** A Pulumi project in the file's sandbox: its stack is made before the tests, its files removed after. */
export function usePulumiProject(ctx: { readonly sandbox: Sandbox }, name: string, programDir?: string): PulumiProject {
  const project = new PulumiProject(ctx, name, programDir);
  beforeAll(() => project.init());
  afterAll(() => project.cleanup());
  return project;
}
