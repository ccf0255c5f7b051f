// Neighbor provider against the real kernel, inside a sandbox, without the engine.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

describeAsRoot("neighbor provider on the kernel", () => {
  const ctx = useSandbox();
  const providers = () => makeProviders(ctx.sandbox.runner);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  const entry = async (family: "-4" | "-6", address: string, netns?: string) =>
    (JSON.parse(await ip(...(netns ? ["-n", netns] : []), family, "-j", "neigh", "show", "to", address, "dev", "nb0")) as Array<{ lladdr?: string; state: string[] }>)[0];

  beforeAll(async () => {
    await ip("netns", "add", "nbns");
    await ip("-n", "nbns", "link", "add", "nb0", "type", "veth", "peer", "name", "nb1");
    await ip("-n", "nbns", "link", "set", "nb0", "up");
    await ip("-n", "nbns", "addr", "add", "10.80.0.1/24", "dev", "nb0");
    await ip("link", "add", "nb0", "type", "veth", "peer", "name", "nb1");
  });

  test("IPv4 and IPv6 static entries: made permanent, read, drift, deleted only while still ours", async () => {
    const { neighbor } = providers();
    const v4 = (await neighbor.check!({}, { namespace: "nbns", device: "nb0", address: "10.80.0.5", mac: "02:00:00:00:00:AA" })).inputs!;
    const v6 = (await neighbor.check!({}, { namespace: "nbns", device: "nb0", address: "fd00:80:0::5", mac: "02:00:00:00:00:bb" })).inputs!;
    expect(v4).toMatchObject({ mac: "02:00:00:00:00:aa", adopt: false });
    expect(v6).toMatchObject({ address: "fd00:80::5" });
    const c4 = await neighbor.create(v4);
    const c6 = await neighbor.create(v6);
    expect(c4.id).toBe("neigh/nbns/nb0/10.80.0.5/02:00:00:00:00:aa");
    expect(c6.outs).toMatchObject({ family: "ipv6" });
    expect(await entry("-4", "10.80.0.5", "nbns")).toEqual({ dst: "10.80.0.5", lladdr: "02:00:00:00:00:aa", state: ["PERMANENT"] });
    expect(await entry("-6", "fd00:80::5", "nbns")).toMatchObject({ lladdr: "02:00:00:00:00:bb", state: ["PERMANENT"] });
    expect((await neighbor.diff!(c4.id, (await neighbor.read!(c4.id, c4.outs)).props!, v4)).changes).toBe(false);

    // A MAC changed by hand is drift, and no longer what we set: destroy leaves it alone.
    await ip("-n", "nbns", "neigh", "replace", "10.80.0.5", "lladdr", "02:00:00:00:00:cc", "dev", "nb0", "nud", "permanent");
    const drifted = await neighbor.read!(c4.id, c4.outs);
    expect(drifted.props).toMatchObject({ mac: "02:00:00:00:00:cc" });
    expect(await neighbor.diff!(c4.id, drifted.props!, v4)).toMatchObject({ changes: true, replaces: ["mac"], deleteBeforeReplace: true });
    await neighbor.delete!(c4.id, drifted.props!);
    expect(await entry("-4", "10.80.0.5", "nbns")).toMatchObject({ lladdr: "02:00:00:00:00:cc", state: ["PERMANENT"] });
    // Made dynamic by hand: it is the kernel's cache now, so ours is gone; a create takes the address again.
    await ip("-n", "nbns", "neigh", "replace", "10.80.0.5", "lladdr", "02:00:00:00:00:cc", "dev", "nb0", "nud", "stale");
    expect((await neighbor.read!(c4.id, c4.outs)).id).toBe("");
    const again = await neighbor.create(v4);
    expect(await entry("-4", "10.80.0.5", "nbns")).toMatchObject({ lladdr: "02:00:00:00:00:aa", state: ["PERMANENT"] });

    await neighbor.delete!(again.id, again.outs);
    await neighbor.delete!(c6.id, c6.outs);
    expect(await entry("-4", "10.80.0.5", "nbns")).toBeUndefined();
    expect(await entry("-6", "fd00:80::5", "nbns")).toBeUndefined();
    await neighbor.delete!(c6.id, c6.outs); // already gone is success
    expect((await neighbor.read!(c6.id, c6.outs)).id).toBe("");
  });

  test("a permanent entry not set by us is refused, then adopted on request; an identical one is taken as is", async () => {
    const { neighbor } = providers();
    await ip("neigh", "replace", "10.81.0.7", "lladdr", "02:00:00:00:00:07", "dev", "nb0", "nud", "permanent");
    const inputs = (await neighbor.check!({}, { device: "nb0", address: "10.81.0.7", mac: "02:00:00:00:00:08" })).inputs!;
    await expect(neighbor.create(inputs)).rejects.toThrow(/neighbour 10\.81\.0\.7 on nb0 in the host netns already exists as a permanent entry with MAC 02:00:00:00:00:07.*adopt: true/);
    expect(await entry("-4", "10.81.0.7")).toMatchObject({ lladdr: "02:00:00:00:00:07" });
    const adopted = await neighbor.create({ ...inputs, adopt: true });
    expect(await entry("-4", "10.81.0.7")).toMatchObject({ lladdr: "02:00:00:00:00:08", state: ["PERMANENT"] });
    const same = await neighbor.create(inputs); // identical: an interrupted run of ours converges
    expect(same.id).toBe(adopted.id);
    await neighbor.delete!(adopted.id, adopted.outs);
    expect(await entry("-4", "10.81.0.7")).toBeUndefined();

    // A device that does not exist: the kernel's words, nothing made.
    const lost = (await neighbor.check!({}, { device: "nosuch0", address: "10.81.0.9", mac: "02:00:00:00:00:09" })).inputs!;
    await expect(neighbor.create(lost)).rejects.toThrow(/Cannot find device "nosuch0"/);
    await neighbor.delete!("neigh/-/nosuch0/10.81.0.9/02:00:00:00:00:09", lost); // its device is gone: success
  });

  test("the sandbox is left as it was once the test's own links are gone", async () => {
    await ip("netns", "delete", "nbns");
    await ip("link", "delete", "nb0");
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
