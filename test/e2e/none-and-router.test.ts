// Scenario 2 (none mode: a namespace with only lo) and scenario 5 (server / router / client,
// seed 003): static routes, then an in-place move to SNAT, through the real pulumi CLI.
import { resolve } from "node:path";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("none mode through pulumi (scenario 2)", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "none-mode");

  const program = (loopbackUp: boolean) => `
new hostnet.Namespace("isolated", { name: "isolated", loopbackUp: ${loopbackUp} });
new hostnet.Namespace("dark", { name: "dark", loopbackUp: false });
`;

  test("a namespace has only lo, up or down as declared, and no route anywhere", async () => {
    project.writeProgram(program(true));
    await project.up();
    const links = await ctx.sandbox.run(["ip", "-o", "link", "show"], { netns: "isolated" });
    expect(links.trim().split("\n")).toHaveLength(1);
    expect(links).toMatch(/^1: lo: <LOOPBACK,UP/);
    expect(await ctx.sandbox.run(["ip", "link", "show", "lo"], { netns: "dark" })).not.toMatch(/<[^>]*\bUP\b/);
    expect((await ctx.sandbox.run(["ip", "route", "show"], { netns: "isolated" })).trim()).toBe("");
    expect(await ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "1", "127.0.0.1"], { netns: "isolated" })).toBe(true);
    expect(await ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "1", "127.0.0.1"], { netns: "dark" })).toBe(false);
  });

  test("loopbackUp changes in place", async () => {
    project.writeProgram(program(false));
    const result = await project.up();
    expect(result.stdout).toMatch(/1 updated/);
    expect(await ctx.sandbox.run(["ip", "link", "show", "lo"], { netns: "isolated" })).not.toMatch(/<[^>]*\bUP\b/);
  });

  test("destroy leaves the host as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});

describeAsRoot("examples/router: static routes, then SNAT in place (scenario 5)", () => {
  const ctx = useSandbox();
  // The program is examples/router (seed 003): static routes by default, SNAT with `routing: snat`.
  const project = usePulumiProject(ctx, "router", resolve(__dirname, "../../examples/router"));
  const ping = (ns: string, from: string, to: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", "-I", from, to], { netns: ns });

  test("pings cross the router between the two loopback networks", async () => {
    await project.up();
    expect(await ctx.sandbox.run(["sysctl", "-n", "net.ipv4.ip_forward"], { netns: "router" })).toBe("1\n");
    expect(await ping("server", "10.11.1.1", "10.22.2.2")).toBe(true);
    expect(await ping("client", "10.22.2.2", "10.11.1.1")).toBe(true);
    expect(await ping("server", "10.0.1.2", "10.0.2.2")).toBe(true);
    const routes = await ctx.sandbox.run(["ip", "route", "show"], { netns: "router" });
    expect(routes).toContain("10.11.1.0/24 via 10.0.1.2 dev veth-srv proto 212");
    expect(routes).toContain("10.22.2.0/24 via 10.0.2.2 dev veth-cli proto 212");
  });

  test("a route deleted by hand is drift: refresh drops it, up restores it", async () => {
    await ctx.sandbox.run(["ip", "route", "del", "10.22.2.0/24"], { netns: "router" });
    const refresh = await project.refresh();
    expect(refresh.stdout).toMatch(/to-client-lo/);
    await project.up();
    expect(await ctx.sandbox.run(["ip", "route", "show", "10.22.2.0/24"], { netns: "router" })).toContain("via 10.0.2.2");
  });

  test("up moves in place to the SNAT version: the client sees the router's address", async () => {
    await project.config("routing", "snat");
    const result = await project.up();
    expect(result.stdout).toMatch(/\+ 2 created/);
    expect(result.stdout).toMatch(/- 2 deleted/);
    expect(result.stdout).not.toMatch(/replaced/);
    expect(await ctx.sandbox.run(["ip", "route", "show"], { netns: "router" })).not.toContain("10.11.1.0/24");
    await ctx.sandbox.serve("client", "tcp", 9000);
    expect(await ctx.sandbox.ask("server", "tcp", "10.22.2.2", 9000)).toBe("10.0.2.1");
    expect(await ping("server", "10.0.1.2", "10.22.2.2")).toBe(true);
    // Without routes back, the server's loopback network is not reachable any more.
    expect(await ping("client", "10.22.2.2", "10.11.1.1")).toBe(false);
  });

  test("destroy leaves the host as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
