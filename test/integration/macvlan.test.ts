// Macvlan provider against the real kernel, inside a sandbox, without the engine.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/mv";

describeAsRoot("macvlan provider on the kernel", () => {
  const ctx = useSandbox();
  const providers = () => makeProviders(ctx.sandbox.runner);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  const ping = (netns: string | undefined, to: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "1", to], { netns });

  beforeAll(async () => {
    // The parent: one end of a veth made here, its peer up so the parent has a carrier.
    await ip("link", "add", "mvp0", "type", "veth", "peer", "name", "mvp1");
    await ip("link", "set", "mvp1", "up");
    await ip("link", "set", "mvp0", "up");
    await ip("addr", "add", "10.40.0.1/24", "dev", "mvp0");
    await ip("netns", "add", "mva");
    await ip("netns", "add", "mvb");
  });

  test("two macvlans made inside their namespaces: bridge mode talks, private does not, the parent cannot reach them", async () => {
    const { macvlan } = providers();
    const a = (await macvlan.check!({}, { name: "mv0", namespace: "mva", parent: "mvp0", addresses: ["10.40.0.2/24"], tag: TAG })).inputs!;
    const b = (await macvlan.check!({}, { name: "mv0", namespace: "mvb", parent: "mvp0", mode: "private", addresses: ["10.40.0.3/24"], mtu: 1400, tag: TAG })).inputs!;
    expect(a).toMatchObject({ mode: "bridge", up: true });
    const ca = await macvlan.create(a);
    const cb = await macvlan.create(b);
    expect(ca.id).toBe("macvlan/mva/mv0");
    expect(cb.outs).toMatchObject({ mode: "private", mtu: 1400, up: true, addresses: ["10.40.0.3/24"] });
    const shown = await ip("-n", "mvb", "-d", "addr", "show", "mv0");
    expect(shown).toContain("macvlan mode private");
    expect(shown).toContain(`alias ${TAG}`);
    expect(await ip("link", "show")).not.toContain("mv0"); // never in the host netns, not even for a moment we can see

    // A private macvlan talks to no sibling; bridge-mode siblings talk to each other.
    expect(await ping("mva", "10.40.0.3")).toBe(false);
    const next = { ...b, mode: "bridge" };
    expect(await macvlan.diff!(cb.id, cb.outs, next)).toMatchObject({ changes: true, replaces: [] });
    const updated = await macvlan.update!(cb.id, cb.outs, next);
    expect(updated.outs).toMatchObject({ mode: "bridge" });
    expect(await ping("mva", "10.40.0.3")).toBe(true);
    expect(await ping("mvb", "10.40.0.2")).toBe(true);
    // The parent's own address cannot reach its macvlans, nor they it (the kernel's design).
    expect(await ping(undefined, "10.40.0.2")).toBe(false);
    expect(await ping("mva", "10.40.0.1")).toBe(false);

    // Drift: MTU and mode changed by hand show in read; update puts them back.
    await ip("-n", "mvb", "link", "set", "mv0", "mtu", "1300", "type", "macvlan", "mode", "vepa");
    const read = await macvlan.read!(cb.id, updated.outs!);
    expect(read.props).toMatchObject({ mtu: 1300, mode: "vepa", parent: "mvp0" });
    expect((await macvlan.diff!(cb.id, read.props!, next)).changes).toBe(true);
    const repaired = await macvlan.update!(cb.id, read.props!, next);
    expect(repaired.outs).toMatchObject({ mtu: 1400, mode: "bridge" });

    // To or from passthru the kernel cannot change in place.
    expect(await macvlan.diff!(cb.id, repaired.outs!, { ...next, mode: "passthru" })).toMatchObject({ replaces: ["mode"], deleteBeforeReplace: true });

    await macvlan.delete!(ca.id, ca.outs);
    await macvlan.delete!(cb.id, repaired.outs!);
    await expect(ip("-n", "mva", "link", "show", "mv0")).rejects.toThrow(/does not exist/);
    await macvlan.delete!(ca.id, ca.outs); // already gone is success
    expect((await macvlan.read!(ca.id, ca.outs)).id).toBe("");
  });

  test("beside its parent: refuses a foreign macvlan, adopts it on request; a missing parent fails with the kernel's words and leaves nothing", async () => {
    const { macvlan } = providers();
    await ip("link", "add", "mvf", "link", "mvp0", "type", "macvlan", "mode", "vepa");
    const inputs = (await macvlan.check!({}, { name: "mvf", parent: "mvp0", tag: TAG })).inputs!;
    await expect(macvlan.create(inputs)).rejects.toThrow(/link mvf in the host netns already exists and it was not created by pulumi-hostnet.*adopt: true/);
    await expect(macvlan.create({ ...inputs, parent: "mvp1", adopt: true })).rejects.toThrow(/exists on parent mvp0, not mvp1/);
    const adopted = await macvlan.create({ ...inputs, adopt: true });
    expect(adopted.outs).toMatchObject({ mode: "bridge", parent: "mvp0" });
    expect(await ip("-d", "link", "show", "mvf")).toMatch(new RegExp(`macvlan mode bridge[\\s\\S]*alias ${TAG}`));
    // Ours now: a second create (an interrupted run) takes it over.
    expect((await macvlan.create(inputs)).id).toBe("macvlan/-/mvf");
    await macvlan.delete!(adopted.id, adopted.outs);
    await expect(ip("link", "show", "mvf")).rejects.toThrow(/does not exist/);

    const orphan = (await macvlan.check!({}, { name: "mvx", namespace: "mva", parent: "nosuch0", tag: TAG })).inputs!;
    await expect(macvlan.create(orphan)).rejects.toThrow(/ip link add name mvx link nosuch0 netns mva type macvlan mode bridge: Cannot find device "nosuch0"/);
    // An MTU above the parent's is refused by the kernel: nothing is left.
    const refused = (await macvlan.check!({}, { name: "mvy", namespace: "mva", parent: "mvp0", mtu: 9000, tag: TAG })).inputs!;
    await expect(macvlan.create(refused)).rejects.toThrow(/mtu 9000/);
    await expect(ip("-n", "mva", "link", "show", "mvy")).rejects.toThrow(/does not exist/);
  });

  test("the sandbox is left as it was once the test's own parent and namespaces are gone", async () => {
    await ip("netns", "delete", "mva");
    await ip("netns", "delete", "mvb");
    await ip("link", "delete", "mvp0");
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
