// Every example in examples/ through the real pulumi CLI in a sandbox, with real packets:
// scenarios 1-5 written with the components (5 with the resources, as seed 003 does).
import { resolve } from "node:path";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const example = (name: string) => resolve(__dirname, "../../examples", name);

describeAsRoot("examples/bridge: bridge mode with masquerade and a port forward (scenario 1)", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "example-bridge", example("bridge"));

  test("containers reach each other, the gateway and the outside; the port forward answers from everywhere", async () => {
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/\+ hostnet:index:BridgeNetwork: \(create\)/);
    // The example's Probes (c1 -> c2, c2 -> gateway, c2 -> outside, outside -> forward, outside
    // -/-> c1) fail `up` when a flow misbehaves: they replace the pings this test sent by hand.
    const up = await project.up();
    expect(up.stdout.match(/\+ +pulumi-nodejs:dynamic\/hostnet:Probe \S+ +created/g)).toHaveLength(5);
    const s = ctx.sandbox;
    await s.serve("outside", "tcp", 9000);
    await s.serve("c1", "tcp", 80);
    expect(await s.ask("c2", "tcp", "10.200.0.2", 9000)).toBe("10.200.0.1");
    expect(await s.ask("outside", "tcp", "10.200.0.1", 8080)).toBe("10.200.0.2");
    expect(await s.ask(undefined, "tcp", "127.0.0.1", 8080)).toBe("10.0.3.1");
    expect(await s.ask("c2", "tcp", "10.200.0.1", 8080)).toBe("10.0.3.1");
    const outputs = await project.outputs();
    expect(outputs).toMatchObject({ gateway: "10.0.3.1", c1Namespace: "c1", c2Address: "10.0.3.3" });
  });

  test("destroy leaves the sandbox as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});

describeAsRoot("examples/none, host and container (scenarios 2, 3, 4)", () => {
  const ctx = useSandbox();
  const none = usePulumiProject(ctx, "example-none", example("none"));
  const host = usePulumiProject(ctx, "example-host", example("host"));
  const container = usePulumiProject(ctx, "example-container", example("container"));

  test("none: its own namespace with only lo, up", async () => {
    await none.up();
    const links = await ctx.sandbox.run(["ip", "-o", "link", "show"], { netns: "isolated" });
    expect(links.trim().split("\n")).toEqual([expect.stringMatching(/^1: lo: <LOOPBACK,UP/)]);
    expect((await ctx.sandbox.run(["ip", "route", "show"], { netns: "isolated" })).trim()).toBe("");
  });

  test("host: no namespace of its own; its command runs among the host's links", async () => {
    const before = await ctx.sandbox.run(["ip", "netns", "list"]);
    await host.up();
    expect(await ctx.sandbox.run(["ip", "netns", "list"])).toBe(before);
    const outputs = await host.outputs();
    expect(outputs.namespace).toBeUndefined();
    expect(outputs.command).toEqual(["ip", "-br", "link"]);
  });

  test("container: c3 shares c1's namespace, so c1's listener answers c3 on 127.0.0.1", async () => {
    await container.up();
    const outputs = await container.outputs();
    expect(outputs.c3Namespace).toBe(outputs.c1Namespace);
    expect(outputs.address).toMatch(/^10\.0\.5\.\d+$/);
    await ctx.sandbox.serve(outputs.c1Namespace as string, "tcp", 7000);
    expect(await ctx.sandbox.ask(outputs.c3Namespace as string, "tcp", "127.0.0.1", 7000)).toBe("127.0.0.1");
    expect(await ctx.sandbox.run(["ip", "-br", "addr", "show", "eth0"], { netns: outputs.c3Namespace as string })).toContain(`${outputs.address}/24`);
  });

  test("destroy of all three leaves the sandbox as it was", async () => {
    await none.destroy();
    await host.destroy();
    await container.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});

// examples/router (scenario 5) runs in none-and-router.test.ts, with its drift and in-place move.
describeAsRoot("examples/two-networks (isolation)", () => {
  const ctx = useSandbox();
  const two = usePulumiProject(ctx, "example-two", example("two-networks"));

  test("two networks: neighbours reach each other and their gateway, never the other network", async () => {
    await two.up();
    const { addresses } = (await two.outputs()) as { addresses: Record<string, string> };
    expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", addresses.red2!], { netns: "red1" })).toBe(true);
    expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", "10.2.0.1"], { netns: "blue1" })).toBe(true);
    expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W1", addresses.blue1!], { netns: "red1" })).toBe(false);
  });

  test("destroy leaves the sandbox as it was", async () => {
    await two.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
