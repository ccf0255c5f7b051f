// Macvlan, Tap, RoutingRule and Neighbor without a kernel: argv, parsing, check and diff.
import { CommandError, FakeRunner } from "../../provider/exec";
import { addMacvlanWords, addTapWords, neighborReplaceArgv, parseRules, ruleArgv, showNeighbor } from "../../provider/kernel";
import { makeProviders, UNKNOWN } from "../../provider/resources";

const TAG = "hostnet:p/s/r";
const providers = () => makeProviders(new FakeRunner());

describe("argv of the new kinds", () => {
  test("macvlan: made in its parent's namespace, netns and mtu before type", () => {
    expect(addMacvlanWords({ name: "mv0", parent: "eth0", mode: "bridge", netns: "web", mtu: 1400 }).join(" ")).toBe("link add name mv0 link eth0 mtu 1400 netns web type macvlan mode bridge");
    expect(addMacvlanWords({ name: "mv0", parent: "eth0", mode: "passthru" }).join(" ")).toBe("link add name mv0 link eth0 type macvlan mode passthru");
  });

  test("tap: owner, group and queues only when asked", () => {
    expect(addTapWords({ name: "tap0", user: "1000", group: "kvm", multiQueue: true }).join(" ")).toBe("tuntap add dev tap0 mode tap user 1000 group kvm multi_queue");
    expect(addTapWords({ name: "tap0" }).join(" ")).toBe("tuntap add dev tap0 mode tap");
  });

  test("rule: family flag, full selector, our protocol; del names the same rule", () => {
    const spec = { family: "ipv4", priority: 100, from: "10.0.0.0/24", to: "10.9.0.0/16", iif: "br0", fwmark: 16, fwmask: 255, action: "lookup", table: "7" } as const;
    expect(ruleArgv("add", spec).join(" ")).toBe("-4 rule add from 10.0.0.0/24 to 10.9.0.0/16 iif br0 fwmark 0x10/0xff priority 100 lookup 7 protocol 212");
    expect(ruleArgv("del", { family: "ipv6", priority: 5, oif: "wg0", fwmark: 1, fwmask: 0xffffffff, action: "blackhole" }).join(" ")).toBe("-6 rule del from all oif wg0 fwmark 0x1 priority 5 blackhole protocol 212");
  });

  test("rule: ip -N -json output parsed into canonical selectors", () => {
    const out = JSON.stringify([
      { priority: 0, src: "all", table: "255" },
      { priority: 100, src: "10.0.0.7", table: "100", protocol: "212" },
      { priority: 101, src: "all", dst: "10.5.0.0", dstlen: 16, fwmark: "0x10", fwmask: "0xff", action: "unreachable", protocol: "212" },
    ]);
    const [local, host, closed] = parseRules(out, "ipv4");
    expect(local).toMatchObject({ priority: 0, from: undefined, tableId: "255", protocol: "unspec", ours: false });
    expect(host).toMatchObject({ from: "10.0.0.7/32", tableId: "100", action: "lookup", ours: true });
    expect(closed).toMatchObject({ to: "10.5.0.0/16", fwmark: 16, fwmask: 255, action: "unreachable", tableId: undefined });
  });

  test("neighbour: a permanent entry with a family flag; a missing device reads as none", async () => {
    expect(neighborReplaceArgv({ address: "fd00::5", mac: "02:00:00:00:00:05", device: "br0", family: "ipv6" }).join(" ")).toBe("-6 neigh replace fd00::5 lladdr 02:00:00:00:00:05 dev br0 nud permanent");
    const runner = new FakeRunner().on(["ip"], new CommandError(["ip"], 1, 'Cannot find device "br9"'));
    expect(await showNeighbor(runner, undefined, { address: "10.0.0.5", device: "br9", family: "ipv4" })).toBeUndefined();
  });
});

describe("check refuses bad input of the new kinds, naming the field", () => {
  test.each([
    ["macvlan", { name: "mv0", parent: "eth0", mode: "source", tag: TAG }, "mode", /bridge|private|vepa|passthru/],
    ["macvlan", { name: "mv0", tag: TAG }, "parent", /./],
    ["macvlan", { name: "mv0", parent: "eth 0", tag: TAG }, "parent", /letters, digits/],
    ["macvlan", { name: "macvlan-too-long", parent: "eth0", tag: TAG }, "name", /at most 15/],
    ["macvlan", { name: "mv0", parent: "eth0", addresses: ["10.0.0.0/24"], tag: TAG }, "addresses[0]", /network address/],
    ["tap", { name: "tap0", user: "root;x", tag: TAG }, "user", /name .* or a numeric id/],
    ["tap", { name: "tap0", group: -1, tag: TAG }, "group", /./],
    ["tap", { name: "tap0", mtu: 65536, tag: TAG }, "mtu", /at most 65535/],
    ["tap", { name: "tap0", master: "../br", tag: TAG }, "master", /letters, digits/],
    ["rule", { from: "10.0.0.0/24", table: 7 }, "priority", /./],
    ["rule", { priority: 0, table: 7 }, "priority", /at least 1/],
    ["rule", { priority: 10, from: "10.0.0.7/24" }, "from", /host bits set/],
    ["rule", { priority: 10, from: "10.0.0.0/24", to: "fd00::/64" }, "to", /ipv6 but the rule is ipv4/],
    ["rule", { priority: 10, family: "ipv6", from: "10.0.0.1" }, "from", /ipv4 but the rule is ipv6/],
    ["rule", { priority: 10, table: 0 }, "table", /./],
    ["rule", { priority: 10, table: "main table" }, "table", /rt_tables/],
    ["rule", { priority: 10, action: "blackhole", table: 7 }, "table", /looks up no table/],
    ["rule", { priority: 10, fwmask: 255 }, "fwmask", /needs fwmark/],
    ["rule", { priority: 10, fwmark: 2 ** 32 }, "fwmark", /32 bits/],
    ["rule", { priority: 10, action: "nat" }, "action", /./],
    ["rule", { priority: 10, adopt: true }, "adopt", /never adopted/],
    ["neighbor", { device: "br0", address: "10.0.0.5", mac: "02:00:00:00:00" }, "mac", /six hex bytes/],
    ["neighbor", { device: "br0", address: "10.0.0.5/24", mac: "02:00:00:00:00:05" }, "address", /address/],
    ["neighbor", { device: "br0", address: "10.0.5", mac: "02:00:00:00:00:05" }, "address", /four decimal parts/],
  ] as const)("%s %j fails on %s", async (kind, news, property, reason) => {
    const result = await providers()[kind].check!({}, news);
    expect(result.inputs).toBeUndefined();
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringMatching(reason) })]));
  });

  test("values unknown at preview are not judged", async () => {
    expect((await providers().macvlan.check!({}, { name: "mv0", parent: UNKNOWN, namespace: UNKNOWN, tag: TAG })).failures ?? []).toEqual([]);
    expect((await providers().rule.check!({}, { priority: 10, from: UNKNOWN, table: 7 })).failures ?? []).toEqual([]);
  });
});

describe("diff of the new kinds", () => {
  test("macvlan: a mode changes in place, except to or from passthru; a new parent replaces", async () => {
    const outs = { name: "mv0", parent: "eth0", mode: "bridge", addresses: [], up: true, adopt: false, tag: TAG };
    const { macvlan } = providers();
    expect(await macvlan.diff!("id", outs, { ...outs, mode: "vepa" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await macvlan.diff!("id", outs, { ...outs, mode: "passthru" })).toEqual({ changes: true, replaces: ["mode"], deleteBeforeReplace: true });
    expect(await macvlan.diff!("id", outs, { ...outs, parent: "eth1" })).toMatchObject({ replaces: ["parent"], deleteBeforeReplace: true });
  });

  test("rule: table and action in place; the selector replaces", async () => {
    const outs = { priority: 10, family: "ipv4", from: "10.0.0.0/24", action: "lookup", table: "7", adopt: false, tableId: "7", protocol: "212" };
    const { rule } = providers();
    expect(await rule.diff!("id", outs, { ...outs, table: "8" })).toMatchObject({ changes: true, replaces: [] });
    expect(await rule.diff!("id", outs, { ...outs, priority: 11 })).toMatchObject({ replaces: ["priority"], deleteBeforeReplace: false });
  });

  test("neighbour: every field replaces; the same address on the same device is deleted first", async () => {
    const outs = { device: "br0", address: "10.0.0.5", mac: "02:00:00:00:00:05", adopt: false, family: "ipv4" };
    expect(await providers().neighbor.diff!("id", outs, { ...outs, mac: "02:00:00:00:00:06" })).toEqual({ changes: true, replaces: ["mac"], deleteBeforeReplace: true });
  });
});
