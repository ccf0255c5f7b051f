// Namespace, Route and Address providers against the real kernel, inside a sandbox.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/ns";

describeAsRoot("namespace, route and address providers on the kernel", () => {
  const ctx = useSandbox();
  const providers = () => makeProviders(ctx.sandbox.runner);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);

  test("namespace: create with lo up and marked, update lo, refuse foreign, delete twice", async () => {
    const { namespace } = providers();
    const inputs = (await namespace.check!({}, { name: "nt", tag: TAG })).inputs!;
    expect(inputs).toMatchObject({ loopbackUp: true, adopt: false });
    const created = await namespace.create(inputs);
    expect(created).toMatchObject({ id: "netns/nt", outs: { path: "/run/netns/nt", loopbackUp: true } });
    expect(await ip("-n", "nt", "-d", "link", "show", "lo")).toMatch(new RegExp(`UP.*[\\s\\S]*alias ${TAG}`));

    const down = { ...inputs, loopbackUp: false };
    expect(await namespace.diff!(created.id, created.outs, down)).toMatchObject({ changes: true, replaces: [] });
    await namespace.update!(created.id, created.outs, down);
    expect(await ip("-n", "nt", "link", "show", "lo")).not.toMatch(/<[^>]*\bUP\b/);
    expect((await namespace.read!(created.id, created.outs)).props).toMatchObject({ loopbackUp: false });

    expect(await namespace.diff!(created.id, created.outs, { ...inputs, name: "nt2" })).toMatchObject({ replaces: ["name"], deleteBeforeReplace: false });

    await ip("netns", "add", "foreign");
    const foreign = (await namespace.check!({}, { name: "foreign", tag: TAG })).inputs!;
    await expect(namespace.create(foreign)).rejects.toThrow(/network namespace foreign already exists.*adopt: true/);
    await ip("netns", "delete", "foreign");

    await namespace.delete!(created.id, created.outs);
    expect(await ip("netns", "list")).not.toContain("nt");
    await namespace.delete!(created.id, created.outs);
    expect((await namespace.read!(created.id, created.outs)).id).toBe("");
  });

  test("address and route: create, read, update via and metric, delete; foreign route refused", async () => {
    const { namespace, address, route } = providers();
    const ns = await namespace.create((await namespace.check!({}, { name: "rt", tag: TAG })).inputs!);
    await ip("-n", "rt", "link", "add", "d0", "type", "veth", "peer", "name", "d1"); // no dummy module on every kernel
    await ip("-n", "rt", "link", "set", "d0", "up");
    await ip("-n", "rt", "addr", "add", "10.7.0.1/24", "dev", "d0");

    const lo = await address.create((await address.check!({}, { namespace: "rt", device: "lo", address: "10.11.1.1/24" })).inputs!);
    expect(lo.id).toBe("addr/rt/lo/10.11.1.1/24");
    expect(await ip("-n", "rt", "addr", "show", "lo")).toContain("10.11.1.1/24");
    // lo is ours (it carries the namespace's tag), so an address left there is taken over.
    const again = await address.create((await address.check!({}, { namespace: "rt", device: "lo", address: "10.11.1.1/24" })).inputs!);
    expect(again.id).toBe(lo.id);
    const onForeign = (await address.check!({}, { namespace: "rt", device: "d0", address: "10.7.0.1/24" })).inputs!;
    await expect(address.create(onForeign)).rejects.toThrow(/already on d0.*adopt: true/);

    const inputs = (await route.check!({}, { namespace: "rt", destination: "10.12.0.0/16", via: "10.7.0.2" })).inputs!;
    const created = await route.create(inputs);
    expect(created.id).toBe("route/rt/main/10.12.0.0/16/-");
    expect(await ip("-n", "rt", "route", "show", "10.12.0.0/16")).toContain("via 10.7.0.2 dev d0 proto 212");

    const moved = { ...inputs, via: "10.7.0.3" };
    expect(await route.diff!(created.id, created.outs, moved)).toMatchObject({ changes: true, replaces: [] });
    const updated = await route.update!(created.id, created.outs, moved);
    expect(await ip("-n", "rt", "route", "show", "10.12.0.0/16")).toContain("via 10.7.0.3");

    const reMetric = { ...moved, metric: 50 };
    const updated2 = await route.update!(created.id, updated.outs!, reMetric);
    const shown = await ip("-n", "rt", "route", "show", "10.12.0.0/16");
    expect(shown).toContain("metric 50");
    expect(shown.trim().split("\n")).toHaveLength(1);

    // Drift: a route changed by hand shows in read.
    await ip("-n", "rt", "route", "replace", "10.12.0.0/16", "via", "10.7.0.9", "metric", "50", "proto", "212");
    expect((await route.read!(created.id, updated2.outs!)).props).toMatchObject({ via: "10.7.0.9" });

    await ip("-n", "rt", "route", "add", "10.13.0.0/16", "via", "10.7.0.2");
    const foreign = (await route.check!({}, { namespace: "rt", destination: "10.13.0.0/16", via: "10.7.0.2" })).inputs!;
    await expect(route.create(foreign)).rejects.toThrow(/already exists \(proto boot\).*adopt: true/);
    const adopted = await route.create({ ...foreign, adopt: true });
    expect(await ip("-n", "rt", "route", "show", "10.13.0.0/16")).toContain("proto 212");

    await route.delete!(adopted.id, adopted.outs);
    await route.delete!(created.id, updated2.outs!);
    await route.delete!(created.id, updated2.outs!);
    expect((await route.read!(created.id, updated2.outs!)).id).toBe("");
    await address.delete!(lo.id, lo.outs);
    expect(await ip("-n", "rt", "addr", "show", "lo")).not.toContain("10.11.1.1");
    await address.delete!(lo.id, lo.outs);
    await namespace.delete!(ns.id, ns.outs);
    // Once the namespace is gone, deleting what was inside it still succeeds.
    await route.delete!(created.id, updated2.outs!);
    await address.delete!(lo.id, lo.outs);
  });

  test("the sandbox is left as it was", async () => {
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
