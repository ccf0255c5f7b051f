// Bridge and VethPair providers against the real kernel, inside a sandbox, without the engine.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/thing";

describeAsRoot("bridge and veth providers on the kernel", () => {
  const ctx = useSandbox();
  const providers = () => makeProviders(ctx.sandbox.runner);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);

  test("bridge: create, read, update in place, delete, delete again", async () => {
    const { bridge } = providers();
    const inputs = (await bridge.check!({}, { name: "br-it", addresses: ["10.9.0.1/24"], mtu: 1400, tag: TAG })).inputs!;
    const created = await bridge.create(inputs);
    expect(created.id).toBe("bridge/-/br-it");
    expect(created.outs).toMatchObject({ name: "br-it", mtu: 1400, up: true, addresses: ["10.9.0.1/24"] });
    const shown = await ip("-d", "addr", "show", "br-it");
    expect(shown).toContain("bridge");
    expect(shown).toContain("alias hostnet:itest/dev/thing");
    expect(shown).toContain("inet 10.9.0.1/24");

    const next = { ...inputs, addresses: ["10.9.1.1/24"], mtu: 1300, up: false };
    const diff = await bridge.diff!(created.id, created.outs, next);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await bridge.update!(created.id, created.outs, next);
    expect(updated.outs).toMatchObject({ mtu: 1300, up: false, addresses: ["10.9.1.1/24"] });
    const after = await ip("addr", "show", "br-it");
    expect(after).not.toContain("10.9.0.1");
    expect(after).toContain("mtu 1300");

    const read = await bridge.read!(created.id, updated.outs!);
    expect(read.id).toBe(created.id);
    expect(read.props).toMatchObject({ mtu: 1300, addresses: ["10.9.1.1/24"] });

    await bridge.delete!(created.id, updated.outs!);
    await expect(ip("link", "show", "br-it")).rejects.toThrow(/does not exist/);
    await bridge.delete!(created.id, updated.outs!); // already gone is success
    expect((await bridge.read!(created.id, updated.outs!)).id).toBe("");
  });

  test("bridge: refuses a link it did not make, then adopts it on request", async () => {
    const { bridge } = providers();
    await ip("link", "add", "br-foreign", "type", "bridge");
    const inputs = (await bridge.check!({}, { name: "br-foreign", tag: TAG })).inputs!;
    await expect(bridge.create(inputs)).rejects.toThrow(/already exists and it was not created by pulumi-hostnet.*adopt: true/);
    expect(await ip("-d", "link", "show", "br-foreign")).not.toContain("alias");
    const adopted = await bridge.create({ ...inputs, adopt: true });
    expect(await ip("-d", "link", "show", "br-foreign")).toContain(`alias ${TAG}`);
    await bridge.delete!(adopted.id, adopted.outs);
  });

  test("veth: adoption keeps the addresses each end had, adds the declared ones, and is no drift", async () => {
    const { veth } = providers();
    await ip("link", "add", "vh-kept", "type", "veth", "peer", "name", "vp-kept");
    await ip("addr", "add", "172.31.1.1/24", "dev", "vh-kept");
    await ip("addr", "add", "172.31.2.1/24", "dev", "vp-kept");
    const inputs = (await veth.check!({}, { name: "vh-kept", addresses: ["10.9.5.1/24"], peer: { name: "vp-kept", addresses: ["10.9.6.1/24"] }, adopt: true, tag: TAG })).inputs!;
    const adopted = await veth.create(inputs);
    expect(adopted.outs).toMatchObject({ addresses: ["10.9.5.1/24"], keptAddresses: ["172.31.1.1/24"], keptPeerAddresses: ["172.31.2.1/24"], peer: { addresses: ["10.9.6.1/24"] } });
    const read = await veth.read!(adopted.id, adopted.outs);
    expect(await veth.diff!(adopted.id, read.props!, inputs)).toMatchObject({ changes: false });
    const next = { ...inputs, addresses: ["10.9.7.1/24"] };
    const updated = await veth.update!(adopted.id, read.props!, next);
    expect(updated.outs).toMatchObject({ addresses: ["10.9.7.1/24"] });
    const local = await ip("addr", "show", "vh-kept");
    expect(local).toContain("172.31.1.1/24");
    expect(local).not.toContain("10.9.5.1");
    expect(await ip("addr", "show", "vp-kept")).toContain("172.31.2.1/24");
    await veth.delete!(adopted.id, updated.outs!);
  });

  test("bridge: adopts its own leftover from an interrupted run", async () => {
    const { bridge } = providers();
    const inputs = (await bridge.check!({}, { name: "br-again", tag: TAG })).inputs!;
    const first = await bridge.create(inputs);
    // The engine lost track of it (e.g. killed mid-create): the next create converges.
    const second = await bridge.create(inputs);
    expect(second.id).toBe(first.id);
    await expect(bridge.create({ ...inputs, tag: "hostnet:other/dev/x" })).rejects.toThrow(/belongs to another stack/);
    // Not even with adopt: only untagged objects are adopted.
    await expect(bridge.create({ ...inputs, tag: "hostnet:other/dev/x", adopt: true })).rejects.toThrow(/never taken over, not even with `adopt: true`/);
    await bridge.delete!(second.id, second.outs);
  });

  test("veth: peer created inside its namespace, enslaved, addressed; updated; deleted", async () => {
    const { bridge, veth } = providers();
    await ip("netns", "add", "vt");
    const br = await bridge.create((await bridge.check!({}, { name: "br-v", addresses: ["10.9.2.1/24"], tag: TAG })).inputs!);
    const inputs = (await veth.check!({}, { name: "vh-vt", master: "br-v", peer: { name: "eth0", namespace: "vt", addresses: ["10.9.2.2/24"] }, tag: TAG })).inputs!;
    const created = await veth.create(inputs);
    expect(created.id).toBe("veth/-/vh-vt");
    expect(created.outs).toMatchObject({ master: "br-v", up: true, peer: { name: "eth0", namespace: "vt", addresses: ["10.9.2.2/24"], up: true } });
    expect(await ip("-d", "link", "show", "vh-vt")).toContain("master br-v");
    expect(await ip("-n", "vt", "addr", "show", "eth0")).toContain("inet 10.9.2.2/24");
    expect(await ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", "10.9.2.2"])).toBe(true);

    const next = { ...inputs, master: undefined, mtu: 1280, peer: { ...(inputs.peer as object), addresses: ["10.9.2.3/24"] } };
    expect(await veth.diff!(created.id, created.outs, next)).toMatchObject({ changes: true, replaces: [] });
    const updated = await veth.update!(created.id, created.outs, next);
    expect(updated.outs).toMatchObject({ mtu: 1280, peer: { addresses: ["10.9.2.3/24"] } });
    expect(updated.outs!.master).toBeUndefined();
    expect(await ip("-n", "vt", "link", "show", "eth0")).toContain("mtu 1280");

    const renamed = { ...next, peer: { ...next.peer, name: "eth1" } };
    expect(await veth.diff!(created.id, updated.outs!, renamed)).toMatchObject({ replaces: ["peer"], deleteBeforeReplace: true });

    await veth.delete!(created.id, updated.outs!);
    await expect(ip("-n", "vt", "link", "show", "eth0")).rejects.toThrow(/does not exist/);
    await veth.delete!(created.id, updated.outs!);
    await bridge.delete!(br.id, br.outs);
    await ip("netns", "delete", "vt");
  });

  test("veth: a failure half-way through create removes what it made and reports the kernel's words", async () => {
    const { veth } = providers();
    await ip("netns", "add", "vf");
    const inputs = (await veth.check!({}, { name: "vh-vf", master: "no-such-br", peer: { name: "eth0", namespace: "vf" }, tag: TAG })).inputs!;
    await expect(veth.create(inputs)).rejects.toThrow(/master no-such-br.*(Cannot find device|does not exist)/);
    await expect(ip("link", "show", "vh-vf")).rejects.toThrow(/does not exist/);
    await expect(ip("-n", "vf", "link", "show", "eth0")).rejects.toThrow(/does not exist/);
    await ip("netns", "delete", "vf");
  });

  test("the sandbox is left as it was", async () => {
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
