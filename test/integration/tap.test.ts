// Tap provider against the real kernel, inside a sandbox, without the engine.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/tap";

describeAsRoot("tap provider on the kernel", () => {
  const ctx = useSandbox();
  const providers = () => makeProviders(ctx.sandbox.runner);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  const tunInfo = async (netns: string | undefined, name: string) => {
    const [link] = JSON.parse(await ip(...(netns ? ["-n", netns] : []), "-d", "-j", "link", "show", name)) as [{ linkinfo: { info_kind: string; info_data: Record<string, unknown> }; master?: string; mtu: number }];
    return link;
  };

  test("in a namespace, on a bridge, with owner, group and queues; drift read and repaired; deleted twice", async () => {
    const { tap, bridge } = providers();
    await ip("netns", "add", "tapns");
    const br = await bridge.create((await bridge.check!({}, { name: "br-tap", namespace: "tapns", tag: TAG })).inputs!);
    // uid 0 is shown by name ("root") and group 65534 too on most machines: both spellings must read as declared.
    const inputs = (await tap.check!({}, { name: "tap0", namespace: "tapns", user: 0, group: "65534", multiQueue: true, master: "br-tap", mtu: 1400, tag: TAG })).inputs!;
    expect(inputs).toMatchObject({ user: "0", group: "65534", multiQueue: true, up: true });
    const created = await tap.create(inputs);
    expect(created.id).toBe("tap/tapns/tap0");
    expect(created.outs).toMatchObject({ master: "br-tap", mtu: 1400, up: true, user: "0", group: "65534", multiQueue: true });
    const link = await tunInfo("tapns", "tap0");
    expect(link.linkinfo.info_kind).toBe("tun");
    expect(link.linkinfo.info_data).toMatchObject({ type: "tap", multi_queue: true, persist: true });
    expect(link.master).toBe("br-tap");
    expect(await ip("-n", "tapns", "-d", "link", "show", "tap0")).toContain(`alias ${TAG}`);

    const read = await tap.read!(created.id, created.outs);
    expect(read.props).toMatchObject({ user: "0", group: "65534", multiQueue: true, mtu: 1400 });
    expect((await tap.diff!(created.id, read.props!, inputs)).changes).toBe(false);

    // Drift: off the bridge, another MTU, down, by hand.
    await ip("-n", "tapns", "link", "set", "tap0", "nomaster", "mtu", "1300", "down");
    const drifted = await tap.read!(created.id, created.outs);
    expect(drifted.props).toMatchObject({ mtu: 1300, up: false });
    expect((drifted.props as { master?: string }).master).toBeUndefined();
    expect(await tap.diff!(created.id, drifted.props!, inputs)).toMatchObject({ changes: true, replaces: [] });
    const repaired = await tap.update!(created.id, drifted.props!, inputs);
    expect(repaired.outs).toMatchObject({ master: "br-tap", mtu: 1400, up: true });
    expect((await tunInfo("tapns", "tap0")).master).toBe("br-tap");

    // Owner, group and queues cannot change on a tap: they replace it, deleting first (same name).
    expect(await tap.diff!(created.id, repaired.outs!, { ...inputs, user: "1" })).toMatchObject({ replaces: ["user"], deleteBeforeReplace: true });
    expect(await tap.diff!(created.id, repaired.outs!, { ...inputs, multiQueue: false })).toMatchObject({ replaces: ["multiQueue"] });

    await tap.delete!(created.id, repaired.outs!);
    await expect(ip("-n", "tapns", "link", "show", "tap0")).rejects.toThrow(/does not exist/);
    await tap.delete!(created.id, repaired.outs!);
    expect((await tap.read!(created.id, repaired.outs!)).id).toBe("");
    await bridge.delete!(br.id, br.outs);
    await ip("netns", "delete", "tapns");
  });

  test("a foreign tap is refused, then adopted only when its fixed settings match; a tun of that name is refused", async () => {
    const { tap } = providers();
    await ip("tuntap", "add", "dev", "tapf", "mode", "tap", "user", "0");
    const inputs = (await tap.check!({}, { name: "tapf", user: "0", tag: TAG })).inputs!;
    await expect(tap.create(inputs)).rejects.toThrow(/link tapf in the host netns already exists and it was not created by pulumi-hostnet.*adopt: true/);
    await expect(tap.create({ ...inputs, multiQueue: true, adopt: true })).rejects.toThrow(/exists with multiQueue false, not true; ip cannot change it/);
    const adopted = await tap.create({ ...inputs, adopt: true });
    expect(adopted.outs).toMatchObject({ user: "0", up: true });
    expect(await ip("-d", "link", "show", "tapf")).toContain(`alias ${TAG}`);
    // Ours now: an interrupted run's second create takes it over.
    expect((await tap.create(inputs)).id).toBe("tap/-/tapf");
    await tap.delete!(adopted.id, adopted.outs);
    await expect(ip("link", "show", "tapf")).rejects.toThrow(/does not exist/);

    await ip("tuntap", "add", "dev", "tunf", "mode", "tun");
    await expect(tap.create({ ...(await tap.check!({}, { name: "tunf", tag: TAG })).inputs!, adopt: true })).rejects.toThrow(/is a tun link, not a tap/);
    await ip("link", "delete", "tunf");
  });

  test("a master that does not exist fails with the kernel's words and leaves no tap", async () => {
    const { tap } = providers();
    const inputs = (await tap.check!({}, { name: "tapm", master: "no-such-br", tag: TAG })).inputs!;
    await expect(tap.create(inputs)).rejects.toThrow(/master no-such-br/);
    await expect(ip("link", "show", "tapm")).rejects.toThrow(/does not exist/);
  });

  test("the sandbox is left as it was", async () => {
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
