// Namespaces and bridges someone else made, on the real kernel in a sandbox: a "container" is a
// process started with `unshare --net`; the provider joins its netns by PID, path or name and
// destroy leaves it alive with nothing of ours in it.
import type * as pulumi from "@pulumi/pulumi";
import { makeProviders } from "../../provider/resources";
import { foreignNamespaceName } from "../../provider/resources/endpoint-inputs";
import { ForeignContainer } from "../support/container";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/foreign";

describeAsRoot("existing namespaces and bridges on the kernel", () => {
  const ctx = useSandbox();
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  const containers: ForeignContainer[] = [];

  beforeAll(async () => {
    // The containers die before the sandbox is checked, even when a test failed.
    ctx.addTeardown(async () => {
      for (const c of containers) await c.kill();
      await ctx.sandbox.run(["ip", "link", "del", "br-fx"]).catch(() => undefined);
    });
    await ip("link", "add", "br-fx", "type", "bridge");
    await ip("addr", "add", "10.78.0.1/24", "dev", "br-fx");
    await ip("link", "set", "br-fx", "up");
  });

  async function container(): Promise<ForeignContainer> {
    const c = await ForeignContainer.start(ctx.sandbox);
    containers.push(c);
    return c;
  }

  async function checked(provider: pulumi.dynamic.ResourceProvider, news: Record<string, unknown>): Promise<Record<string, unknown>> {
    const result = await provider.check!({}, news);
    expect(result.failures ?? []).toEqual([]);
    return result.inputs!;
  }

  const declared = (n: number, existingNamespace: Record<string, unknown>) => ({ existingNamespace, bridge: "br-fx", hostInterface: `vh-fx${n}`, address: `10.78.0.${n + 10}/24`, gateway: "10.78.0.1", tag: `${TAG}${n}` });
  const linksInside = async (c: ForeignContainer) => (await ctx.sandbox.run(c.inside(["ip", "-o", "link", "show"]))).split("\n").filter(Boolean).map((l) => l.split(":")[1]?.trim());

  test.each([
    ["pid", (c: ForeignContainer) => ({ pid: c.pid })],
    ["path", (c: ForeignContainer) => ({ path: `/proc/${c.pid}/ns/net` })],
  ])("by %s: the pair, address and route go into the container's netns; delete leaves it alive and as it was", async (_how, existing) => {
    const c = await container();
    const n = containers.length;
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const inputs = await checked(endpoint, declared(n, existing(c)));
    const ours = foreignNamespaceName(`${TAG}${n}`);
    expect(inputs.namespace).toBe(ours);
    const created = await endpoint.create(inputs);
    expect(created.outs).toMatchObject({ namespace: ours, hostUp: true, containerUp: true });
    expect(await ctx.sandbox.succeeds(c.inside(["ping", "-c", "1", "-W", "2", "10.78.0.1"]))).toBe(true);
    expect(await ctx.sandbox.run(c.inside(["ip", "route", "show", "default"]))).toContain("via 10.78.0.1 dev eth0");
    // Their lo is theirs: not marked, not raised.
    expect(await ctx.sandbox.run(c.inside(["ip", "-d", "link", "show", "lo"]))).not.toContain("alias");
    // Refresh shows no change.
    const read = await endpoint.read!(created.id, created.outs);
    expect((await endpoint.diff!(created.id, read.props!, inputs)).changes).toBe(false);

    await endpoint.delete!(created.id, read.props!);
    expect(c.alive).toBe(true);
    expect(await linksInside(c)).toEqual(["lo"]);
    expect(await ip("netns", "list")).not.toContain(ours);
    expect(await ctx.sandbox.succeeds(["ip", "link", "show", `vh-fx${n}`])).toBe(false);
    // Twice is fine.
    await endpoint.delete!(created.id, read.props!);
  });

  test("by name: the netns is used and never deleted; a container that exited is success on delete", async () => {
    const c = await container();
    await ip("netns", "attach", "theirs", String(c.pid)); // what pipework or a runtime does
    try {
      const { endpoint } = makeProviders(ctx.sandbox.runner);
      const inputs = await checked(endpoint, declared(7, { name: "theirs" }));
      const created = await endpoint.create(inputs);
      expect(await ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", "10.78.0.1"], { netns: "theirs" })).toBe(true);
      await endpoint.delete!(created.id, created.outs);
      expect(await ip("netns", "list")).toContain("theirs");
      expect(await linksInside(c)).toEqual(["lo"]);

      // A PID's container that exits after create: delete removes the pair and our name.
      const gone = await container();
      const second = await endpoint.create(await checked(endpoint, declared(8, { pid: gone.pid })));
      await gone.kill();
      await endpoint.delete!(second.id, second.outs);
      expect(await ip("netns", "list")).not.toContain(foreignNamespaceName(`${TAG}8`));
      expect(await ctx.sandbox.succeeds(["ip", "link", "show", "vh-fx8"])).toBe(false);
    } finally {
      await ip("netns", "delete", "theirs");
    }
  });

  test("bad input: a dead PID, a path that is no netns, a missing name fail check; create leaves nothing", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    // Names only: the bridge's carrier still settles after the last test's port left.
    const objects = async () => `${await ip("netns", "list")}|${(await ip("-o", "link", "show")).split("\n").map((l) => l.split(":")[1]).join(" ")}`;
    const before = await objects();
    const failures = async (existing: Record<string, unknown>) => (await endpoint.check!({}, declared(9, existing))).failures ?? [];
    expect(await failures({ pid: 4194304 })).toEqual([{ property: "existingNamespace.pid", reason: expect.stringMatching(/no process 4194304/) }]);
    expect(await failures({ path: "/etc/passwd" })).toEqual([{ property: "existingNamespace.path", reason: expect.stringMatching(/not a namespace file/) }]);
    expect(await failures({ name: "nosuch" })).toEqual([{ property: "existingNamespace.name", reason: expect.stringMatching(/does not exist/) }]);
    // Create says the same when check was skipped (the PID went away in between).
    const inputs = { ...declared(9, { pid: 4194304 }), namespace: foreignNamespaceName(`${TAG}9`), interfaceName: "eth0", ports: [], firewallBackend: "auto", adopt: false };
    await expect(endpoint.create(inputs)).rejects.toThrow(/no process 4194304/);
    expect(await objects()).toEqual(before);
  });

  test("an existing bridge is used as it is and left with its address on delete; a missing one fails check", async () => {
    const { bridge } = makeProviders(ctx.sandbox.runner);
    const missing = await bridge.check!({}, { name: "br-nope", addresses: ["10.78.0.1/24"], existing: true, tag: `${TAG}-br` });
    expect(missing.failures).toEqual([{ property: "name", reason: expect.stringMatching(/bridge br-nope does not exist/) }]);
    const inputs = await checked(bridge, { name: "br-fx", addresses: ["10.78.0.1/24"], existing: true, tag: `${TAG}-br` });
    const before = await ip("-o", "addr", "show", "br-fx");
    const created = await bridge.create(inputs);
    await bridge.delete!(created.id, created.outs);
    expect(await ip("-o", "addr", "show", "br-fx")).toBe(before);
    expect(await ip("-d", "link", "show", "br-fx")).not.toContain("alias");
  });
});
