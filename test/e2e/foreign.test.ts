// Issue 12 parts 4 and 5 through the real pulumi CLI: a ContainerNetwork joins a running
// "container" (an `unshare --net` process) by PID on a BridgeNetwork that uses a bridge someone
// else made; destroy leaves the container's netns alive and clean, and the bridge with its address.
import { ForeignContainer } from "../support/container";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("existing namespace and bridge through pulumi", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "foreign");
  const held: { container?: ForeignContainer; before?: string } = {};
  // Carrier comes and goes with the bridge's ports, a little after them: not an object.
  const settled = (s: string) => s.replace(/NO-CARRIER,|,LOWER_UP|state [A-Z]+ | linkdown/g, "");

  beforeAll(async () => {
    ctx.addTeardown(async () => {
      await held.container?.kill();
      await ctx.sandbox.run(["ip", "link", "del", "br-ext"]).catch(() => undefined);
    });
    // Someone else's bridge, with its address, as docker0 is.
    // No IPv6 link-local: its address settling (DAD) would read as a change in the snapshot.
    await ctx.sandbox.run(["ip", "link", "add", "br-ext", "type", "bridge"]);
    await ctx.sandbox.run(["ip", "link", "set", "br-ext", "addrgenmode", "none"]);
    await ctx.sandbox.run(["ip", "addr", "add", "10.79.0.1/24", "dev", "br-ext"]);
    await ctx.sandbox.run(["ip", "link", "set", "br-ext", "up"]);
    held.container = await ForeignContainer.start(ctx.sandbox);
    await ctx.sandbox.run(held.container.inside(["ip", "link", "set", "lo", "up"]));
    held.before = await ctx.sandbox.snapshot();
  });

  test("up joins the container by PID on the existing bridge; ping and TCP work", async () => {
    const c = held.container!;
    project.writeProgram(`
const net = new hostnet.BridgeNetwork("ext", { existingBridge: "br-ext", subnet: "10.79.0.0/24" });
const c1 = new hostnet.ContainerNetwork("c1", { mode: "bridge", network: net, address: "10.79.0.5", existingNamespace: { pid: ${c.pid} } });
exports.ns = c1.namespace;
`);
    await project.up();
    const { ns } = await project.outputs();
    expect(ns).toMatch(/^hostnet-[0-9a-f]{12}$/);
    expect(await ctx.sandbox.succeeds(c.inside(["ping", "-c", "1", "-W", "2", "10.79.0.1"]))).toBe(true);
    await ctx.sandbox.serve(String(ns), "tcp", 8080);
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.79.0.5", 8080)).toBe("10.79.0.1");
    expect((await project.up()).stdout).not.toMatch(/updated|created|deleted/);
  });

  test.each([
    ["br-nope", 0, /property name value \{br-nope\} has a problem: bridge br-nope does not exist/],
    ["br-ext", 4194304, /property existingNamespace\.pid .*no process 4194304/],
  ])("preview refuses a bridge or a PID that is not there, naming the field (%s, %d)", async (bridge, pid, message) => {
    const c = held.container!;
    project.writeProgram(`
const net = new hostnet.BridgeNetwork("ext", { existingBridge: "${bridge}", subnet: "10.79.0.0/24" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: net, address: "10.79.0.5", existingNamespace: { pid: ${pid || c.pid} } });
`);
    const preview = await project.preview();
    expect(preview.code).not.toBe(0);
    expect(preview.output).toMatch(message);
  });

  test("destroy leaves the container alive with only its lo, and the bridge with its address", async () => {
    await project.destroy();
    const c = held.container!;
    expect(c.alive).toBe(true);
    expect((await ctx.sandbox.run(c.inside(["ip", "-o", "link", "show"]))).trim().split("\n").map((l) => l.split(":")[1]?.trim())).toEqual(["lo"]);
    expect(await ctx.sandbox.run(["ip", "-o", "addr", "show", "br-ext"])).toContain("10.79.0.1/24");
    expect(settled(await ctx.sandbox.snapshot())).toEqual(settled(held.before!));
  });
});
