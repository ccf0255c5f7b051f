// The README's first command runs scripts/demo.sh up; this runs the same script inside a
// sandbox and checks that it proves the topology works and that destroy leaves nothing.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeAsRoot, useSandbox } from "../support/guard";
import { CLI_LIMIT_MS, TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("the demo (npm start)", () => {
  const ctx = useSandbox();
  const state = mkdtempSync(join(tmpdir(), "hostnet-demo-"));
  const demo = (verb: string) =>
    ctx.sandbox.runner.run({ argv: ["env", `HOSTNET_DEMO_STATE=${state}`, "NODE_OPTIONS=", "bash", resolve(__dirname, "../../scripts/demo.sh"), verb], timeoutMs: CLI_LIMIT_MS });
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  test("up builds the demo inside its host namespace and every check passes", async () => {
    const { stdout } = await demo("up");
    expect(stdout).toContain("ok    demo-web -> demo-db (10.0.3.3)");
    expect(stdout).toContain("ok    demo-web -> outside (10.200.0.2), masqueraded");
    expect(stdout).toContain("ok    demo-none has only lo");
    expect(stdout).toContain("ok    outside -> 10.200.0.1:8080 -> demo-web:80 (HTTP)");
    expect(stdout).toContain("answer: hello from demo-web, you are 10.200.0.2");
    expect(stdout).not.toContain("FAIL");
    expect(await ctx.sandbox.run(["ip", "netns", "list"])).toMatch(/hostnet-demo/);
    // Nothing was built in the sandbox's own (root) namespace: the demo's host is hostnet-demo.
    expect(await ctx.sandbox.run(["ip", "-o", "link", "show"])).not.toContain("br-demo");
  });

  test("npm run graph draws what the kernel has: every namespace and link, and the port forward", async () => {
    const out = join(state, "graph");
    const cli = resolve(__dirname, "../../dist/sdk/graph/cli.js");
    const { stdout } = await ctx.sandbox.runner.run({ argv: [process.execPath, cli, "--host", "hostnet-demo", "--stack", "hostnet-demo/demo", "--out", out] });
    expect(stdout).toMatch(/5 namespaces, \d+ links, 1 port forwards/);
    const mermaid = readFileSync(join(out, "topology.mmd"), "utf8");
    const dot = readFileSync(join(out, "topology.dot"), "utf8");
    for (const ns of ["hostnet-demo", ...(await ctx.sandbox.run(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]!).filter((n) => n && n !== "hostnet-demo")]) {
      expect(mermaid).toContain(`"${ns === "hostnet-demo" ? "hostnet-demo (host)" : ns}"`);
      for (const link of (await ctx.sandbox.run(["ip", "-o", "link", "show"], { netns: ns })).split("\n").filter(Boolean)) {
        const name = link.split(": ")[1]!.split("@")[0]!;
        expect(dot).toContain(`"${name}`);
      }
    }
    expect(mermaid).toContain("===|veth|");
    expect(mermaid).toMatch(/port_tcp_8080 -->\|10\.0\.3\.2:80\| demo_web__eth0/);
    expect(readFileSync(join(out, "topology.svg"), "utf8")).toMatch(/<svg[\s\S]*br&#45;demo[\s\S]*<\/svg>/);
  });

  test("destroy removes all of it", async () => {
    const { stdout } = await demo("destroy");
    expect(stdout).toContain("demo removed");
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
