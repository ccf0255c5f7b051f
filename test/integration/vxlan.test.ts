// The Vxlan provider against the real kernel, inside a sandbox, without the engine: its fixed
// settings, peers as flooding entries changed in place, drift, refusal and adoption, bad input.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/vx";

describeAsRoot("vxlan provider on the kernel", () => {
  const ctx = useSandbox();
  const vxlan = () => makeProviders(ctx.sandbox.runner).vxlan;
  const run = (...argv: string[]) => ctx.sandbox.run(argv);
  const peersOf = async (dev: string) => (await run("bridge", "fdb", "show", "dev", dev)).split("\n").filter((l) => l.startsWith("00:00:00:00:00:00")).map((l) => l.split(" dst ")[1]?.split(" ")[0]).sort();

  beforeAll(async () => {
    await run("ip", "link", "add", "under", "type", "veth", "peer", "name", "under-peer");
    await run("ip", "addr", "add", "192.168.50.1/24", "dev", "under");
    await run("ip", "link", "set", "under", "up");
    await run("ip", "link", "add", "br-vx", "type", "bridge");
    ctx.addTeardown(async () => {
      await run("ip", "link", "del", "under");
      await run("ip", "link", "del", "br-vx");
    });
  });

  test("create, peers changed in place, drift read and repaired, delete twice", async () => {
    const provider = vxlan();
    const inputs = (await provider.check!({}, { name: "vx0", vni: 4242, local: "192.168.50.1", device: "under", mtu: 1450, master: "br-vx", peers: ["192.168.50.2", "192.168.50.3"], tag: TAG })).inputs!;
    const created = await provider.create(inputs);
    expect(created.id).toBe("vxlan/-/vx0");
    const shown = await run("ip", "-d", "link", "show", "vx0");
    expect(shown).toMatch(/vxlan id 4242 local 192\.168\.50\.1 dev under .*dstport 4789 nolearning/);
    expect(shown).toContain(`alias ${TAG}`);
    expect(shown).toContain("master br-vx");
    expect(await peersOf("vx0")).toEqual(["192.168.50.2", "192.168.50.3"]);

    const next = { ...inputs, peers: ["192.168.50.3", "192.168.50.4"], mtu: 1400 };
    expect(await provider.diff!(created.id, created.outs, next)).toMatchObject({ changes: true, replaces: [] });
    const updated = await provider.update!(created.id, created.outs, next);
    expect(await peersOf("vx0")).toEqual(["192.168.50.3", "192.168.50.4"]);
    expect(updated.outs).toMatchObject({ mtu: 1400, peers: ["192.168.50.3", "192.168.50.4"] });

    // By hand: one entry gone, a stray one added, MTU changed.
    await run("bridge", "fdb", "del", "00:00:00:00:00:00", "dev", "vx0", "dst", "192.168.50.4");
    await run("bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "192.168.50.9");
    await run("ip", "link", "set", "vx0", "mtu", "1300");
    const read = await provider.read!(created.id, updated.outs!);
    expect(read.props).toMatchObject({ mtu: 1300, peers: ["192.168.50.3", "192.168.50.9"] });
    expect((await provider.diff!(created.id, read.props!, next)).changes).toBe(true);
    await provider.update!(created.id, read.props!, next);
    expect(await peersOf("vx0")).toEqual(["192.168.50.3", "192.168.50.4"]);
    expect(await run("ip", "link", "show", "vx0")).toContain("mtu 1400");

    // The fixed settings cannot change in place.
    expect(await provider.diff!(created.id, updated.outs!, { ...next, vni: 7 })).toMatchObject({ replaces: ["vni"], deleteBeforeReplace: true });

    await provider.delete!(created.id, updated.outs!);
    await expect(run("ip", "link", "show", "vx0")).rejects.toThrow(/does not exist/);
    await provider.delete!(created.id, updated.outs!);
    expect((await provider.read!(created.id, updated.outs!)).id).toBe("");
  });

  test("refuses a VXLAN link it did not make; adopts it when asked and its settings match", async () => {
    const provider = vxlan();
    await run("ip", "link", "add", "vx-foreign", "type", "vxlan", "id", "9", "dstport", "4789", "nolearning");
    const inputs = (await provider.check!({}, { name: "vx-foreign", vni: 9, tag: TAG })).inputs!;
    await expect(provider.create(inputs)).rejects.toThrow(/already exists and it was not created by pulumi-hostnet.*adopt: true/);
    await expect(provider.create({ ...inputs, vni: 10, adopt: true })).rejects.toThrow(/exists with vni 9; the kernel cannot change these in place/);
    const adopted = await provider.create({ ...inputs, adopt: true });
    expect(await run("ip", "-d", "link", "show", "vx-foreign")).toContain(`alias ${TAG}`);
    await provider.delete!(adopted.id, adopted.outs);
    await expect(run("ip", "link", "show", "vx-foreign")).rejects.toThrow(/does not exist/);
  });

  test("bad input fails in check, naming the field and the value", async () => {
    const provider = vxlan();
    const failures = async (news: Record<string, unknown>) => (await provider.check!({}, { name: "vx1", vni: 1, tag: TAG, ...news })).failures ?? [];
    expect(await failures({ vni: 0 })).toEqual([expect.objectContaining({ property: "vni", reason: expect.stringMatching(/1-16777215/) })]);
    expect(await failures({ vni: 16_777_216 })).toEqual([expect.objectContaining({ property: "vni" })]);
    expect(await failures({ local: "10.0.0.1", peers: ["fd00::1"] })).toEqual([expect.objectContaining({ property: "peers[0]", reason: expect.stringMatching(/not of the family/) })]);
    expect(await failures({ local: "10.0.0.1", peers: ["10.0.0.1"] })).toEqual([expect.objectContaining({ property: "peers[0]", reason: expect.stringMatching(/own local address/) })]);
    expect(await failures({ peers: ["10.0.0.2", "10.0.0.2"] })).toEqual([expect.objectContaining({ property: "peers" })]);
    expect(await failures({ port: 70000 })).toEqual([expect.objectContaining({ property: "port" })]);
  });
});
