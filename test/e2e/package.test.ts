// The npm package as a user gets it: `npm pack` of this checkout, installed into a fresh project
// (outside the repository, so nothing resolves from our own node_modules) beside the newest
// @pulumi/pulumi of the registry, then `pulumi up` / `destroy` through it and its
// `pulumi-hostnet` command. Needs the npm registry, as setup does.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PulumiProject } from "../support/pulumi";
import { describeAsRoot, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const repoRoot = resolve(__dirname, "../..");

function npm(args: string[], cwd: string): string {
  // HOSTNET_SETUP: setup has built dist/ already, so packing does not compile again.
  return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", env: { ...process.env, HOSTNET_SETUP: "1", NODE_OPTIONS: "" } });
}

describeAsRoot("the npm package, installed into a fresh project", () => {
  const ctx = useSandbox();
  const work = mkdtempSync(join(tmpdir(), "hostnet-pack-"));
  const app = join(work, "app");
  let project: PulumiProject | undefined;
  let tarball = "";
  let newestSdk = "";

  beforeAll(() => {
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], repoRoot)) as { filename: string }[];
    tarball = join(work, packed[0]?.filename ?? "");
    newestSdk = npm(["view", "@pulumi/pulumi", "version"], work).trim();
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
    npm(["install", tarball, `@pulumi/pulumi@${newestSdk}`], app);
    writeFileSync(join(app, "Pulumi.yaml"), "name: packaged\nruntime: nodejs\nmain: index.js\n");
    writeFileSync(
      join(app, "index.js"),
      `"use strict";\nconst hostnet = require("pulumi-hostnet");\nconst ns = new hostnet.Namespace("pkg-ns", { name: "pkg-ns" });\nexports.path = ns.path;\n`,
    );
  });

  afterAll(() => {
    project?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("the tarball holds the built SDK and provider, the licence and the README, and nothing else", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n");
    const tops = new Set(files.map((f) => f.replace(/^package\//, "").split("/").slice(0, f.startsWith("package/dist/") ? 2 : 1).join("/")));
    expect([...tops].sort()).toEqual(["LICENSE", "README.md", "dist/provider", "dist/sdk", "package.json"]);
    expect(files).toContain("package/dist/sdk/index.js");
    expect(files).toContain("package/dist/sdk/index.d.ts");
    expect(files).toContain("package/dist/provider/housekeeping/cli.js");
  });

  test("a newer @pulumi/pulumi of the user's is the only copy", () => {
    const copies = npm(["ls", "@pulumi/pulumi", "--all", "--parseable"], app).trim().split("\n").filter(Boolean);
    expect(copies).toEqual([join(app, "node_modules", "@pulumi", "pulumi")]);
    expect(existsSync(join(app, "node_modules", "pulumi-hostnet", "node_modules", "@pulumi"))).toBe(false);
  });

  test("pulumi up and destroy through the installed package; its pulumi-hostnet command runs", async () => {
    project = new PulumiProject(ctx, "packaged", app);
    await project.init();
    await project.up();
    expect(await ctx.sandbox.run(["ip", "netns", "list"])).toContain("pkg-ns");
    const gc = await project.command([join(app, "node_modules", ".bin", "pulumi-hostnet"), "gc", "--stack", project.qualifiedStack, "--cwd", app]);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toContain("0 orphans");
    await project.destroy();
    expect(await ctx.sandbox.run(["ip", "netns", "list"])).not.toContain("pkg-ns");
  });
});
