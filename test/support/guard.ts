import { PulumiProject } from "./pulumi";
import { isRoot, Sandbox } from "./sandbox";

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
