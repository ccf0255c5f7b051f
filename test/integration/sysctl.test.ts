// The Sysctl provider against the kernel: record, set, drift, restore (or leave alone).
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

describeAsRoot("sysctl provider on the kernel", () => {
  const ctx = useSandbox();
  const read = async (key: string, netns?: string) => (await ctx.sandbox.run(["sysctl", "-n", key], { netns })).trim();

  test("sets a value, sees drift, restores the value it found on delete", async () => {
    const { sysctl } = makeProviders(ctx.sandbox.runner);
    const inputs = (await sysctl.check!({}, { key: "net.ipv4.ip_forward", value: 1 })).inputs!;
    expect(inputs.value).toBe("1");
    const created = await sysctl.create(inputs);
    expect(created).toMatchObject({ id: "sysctl/-/net.ipv4.ip_forward", outs: { value: "1", previous: "0" } });
    expect(await read("net.ipv4.ip_forward")).toBe("1");

    await ctx.sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
    const drifted = await sysctl.read!(created.id, created.outs);
    expect(drifted.props).toMatchObject({ value: "0" });
    expect(await sysctl.diff!(created.id, drifted.props!, inputs)).toMatchObject({ changes: true, replaces: [] });
    await sysctl.update!(created.id, drifted.props!, inputs);
    expect(await read("net.ipv4.ip_forward")).toBe("1");

    await sysctl.delete!(created.id, created.outs);
    expect(await read("net.ipv4.ip_forward")).toBe("0");
  });

  test("leaves a value that someone else changed since", async () => {
    const { sysctl } = makeProviders(ctx.sandbox.runner);
    const created = await sysctl.create((await sysctl.check!({}, { key: "net.ipv4.conf.all.route_localnet", value: "1" })).inputs!);
    await ctx.sandbox.run(["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=0"]);
    await ctx.sandbox.run(["sysctl", "-qw", "net.ipv4.conf.lo.route_localnet=1"]);
    await sysctl.delete!(created.id, created.outs);
    expect(await read("net.ipv4.conf.all.route_localnet")).toBe("0");
    await ctx.sandbox.run(["sysctl", "-qw", "net.ipv4.conf.lo.route_localnet=0"]);
  });

  test("two resources on one key: the value stays until the last is deleted, then the original returns", async () => {
    const { sysctl } = makeProviders(ctx.sandbox.runner);
    const a = await sysctl.create((await sysctl.check!({}, { key: "net.ipv4.ip_forward", value: "1", tag: "hostnet:p/s1/fwd" })).inputs!);
    const b = await sysctl.create((await sysctl.check!({}, { key: "net.ipv4.ip_forward", value: "1", tag: "hostnet:p/s2/fwd" })).inputs!);
    expect(b.outs).toMatchObject({ previous: "0" });
    await sysctl.delete!(a.id, a.outs);
    expect(await read("net.ipv4.ip_forward")).toBe("1");
    await sysctl.delete!(b.id, b.outs);
    expect(await read("net.ipv4.ip_forward")).toBe("0");
  });

  test("a run killed before Pulumi saved the resource: the next create still knows the original", async () => {
    const { sysctl } = makeProviders(ctx.sandbox.runner);
    const inputs = (await sysctl.check!({}, { key: "net.ipv4.ip_forward", value: "1", tag: "hostnet:p/s/fwd" })).inputs!;
    await sysctl.create(inputs); // its outputs are lost with the killed run
    const again = await sysctl.create(inputs);
    expect(again.outs).toMatchObject({ previous: "0" });
    await sysctl.delete!(again.id, again.outs);
    expect(await read("net.ipv4.ip_forward")).toBe("0");
  });

  test("in a namespace, and gone with it", async () => {
    const { sysctl } = makeProviders(ctx.sandbox.runner);
    await ctx.sandbox.run(["ip", "netns", "add", "sy"]);
    const created = await sysctl.create((await sysctl.check!({}, { namespace: "sy", key: "net.ipv4.ip_forward", value: "1" })).inputs!);
    expect(await read("net.ipv4.ip_forward", "sy")).toBe("1");
    expect(await read("net.ipv4.ip_forward")).toBe("0");
    await ctx.sandbox.run(["ip", "netns", "delete", "sy"]);
    expect((await sysctl.read!(created.id, created.outs)).id).toBe("");
    await sysctl.delete!(created.id, created.outs);
  });

  test("the last record's removal removes its emptied directories, and only those", async () => {
    const { sysctl } = makeProviders(ctx.sandbox.runner);
    const records = async () => (await ctx.sandbox.run(["find", "/run/pulumi-hostnet", "-mindepth", "1"])).split("\n").filter(Boolean).sort();
    await ctx.sandbox.run(["ip", "netns", "add", "sz"]);
    const make = async (news: Record<string, unknown>) => {
      const made = await sysctl.create((await sysctl.check!({}, news)).inputs!);
      return () => sysctl.delete!(made.id, made.outs);
    };
    const hostFwd = await make({ key: "net.ipv4.ip_forward", value: "1", tag: "hostnet:p/s/a" });
    const nsFwd = await make({ namespace: "sz", key: "net.ipv4.ip_forward", value: "1", tag: "hostnet:p/s/b" });
    const nsLocalnet = await make({ namespace: "sz", key: "net.ipv4.conf.all.route_localnet", value: "1", tag: "hostnet:p/s/c" });
    await nsFwd();
    // Another key's record in the same namespace keeps its directory.
    expect(await records()).toContain("/run/pulumi-hostnet/sysctl/sz/net.ipv4.conf.all.route_localnet");
    expect(await records()).not.toContain("/run/pulumi-hostnet/sysctl/sz/net.ipv4.ip_forward");
    await nsLocalnet();
    expect(await records()).not.toContain("/run/pulumi-hostnet/sysctl/sz");
    expect(await records()).toContain("/run/pulumi-hostnet/sysctl/-");
    await hostFwd();
    expect(await records()).toEqual([]);
    await ctx.sandbox.run(["ip", "netns", "delete", "sz"]);
  });

  test("the sandbox is left as it was", async () => {
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
