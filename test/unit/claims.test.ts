// Issue 20 parts 2 and 3 without a kernel: the program's registry of subnets, names and VNIs;
// what a check makes of a host's addresses and routes (fake runner); and which existing
// objects a create may take (never another owner's, adopt or not).
import * as pulumi from "@pulumi/pulumi";
import { CommandError, FakeRunner } from "../../provider/exec";
import type { LinkState, Occupancy } from "../../provider/kernel";
import { prefixesOverlap } from "../../provider/kernel";
import { makeProviders } from "../../provider/resources";
import { subnetClashes, vniClash } from "../../provider/resources/claims";
import { takeOver } from "../../provider/resources/common";
import { claimInterface, claimNamespace, claimSubnet, claimVni, forgetClaims, subnetsOverlap } from "../../sdk/network/claims";

pulumi.runtime.setMocks({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) }, "proj", "stack", false);

// Loaded after the mocks, as Pulumi's own docs do.
import * as hostnet from "../../sdk";

const TAG = "hostnet:proj/stack/web-bridge";

function link(name: string, addresses: string[], alias?: string, extra: Partial<LinkState> = {}): LinkState {
  return { name, ifindex: 1, mtu: 1500, up: true, mac: undefined, alias, master: undefined, kind: "bridge", addresses, ...extra };
}

/** A lived-in host: an uplink with a default and a static route, docker0, another stack's network, and ours. */
const lived: Occupancy = {
  links: [
    link("lo", []),
    link("eth0", ["192.168.1.5/24", "fd00:1::5/64"], undefined, { kind: undefined }),
    link("docker0", ["172.17.0.1/16"]),
    link("br-other", ["10.0.9.1/24"], "hostnet:proj/prod/other-bridge"),
    link("br-old", ["10.0.8.1/24"], "hostnet:proj/stack/old-bridge"),
    link("br-web", ["10.0.3.1/24"], TAG),
  ],
  routes: [
    { dst: "default", gateway: "192.168.1.1", dev: "eth0", flags: [] },
    { dst: "192.168.1.0/24", dev: "eth0", protocol: "kernel", flags: [] },
    { dst: "10.20.0.0/16", gateway: "192.168.1.254", dev: "eth0", flags: [] },
    { dst: "172.17.0.0/16", dev: "docker0", protocol: "kernel", flags: [] },
    { dst: "10.0.3.0/24", dev: "br-web", protocol: "kernel", flags: [] },
    { dst: "10.0.9.0/24", dev: "br-other", protocol: "kernel", flags: [] },
    { dst: "10.66.0.0/16", type: "blackhole", table: "7", flags: [] },
    { dst: "192.168.1.5", type: "local", dev: "eth0", table: "local", flags: [] },
    { dst: "fd00:1::/64", dev: "eth0", flags: [] },
    { dst: "default", dev: "eth0", gateway: "fe80::1", flags: [] },
  ],
};

const self = { name: "br-web", tags: [TAG], adopt: false };
const clashes = (subnets: string[]) => subnetClashes("web", subnets, lived, self, "in the host netns on machine m1");

describe("a network's subnets against what the host holds", () => {
  test("docker0's subnet, the uplink's, a static route and a blackhole in another table are named", () => {
    expect(clashes(["172.17.0.0/16"])).toEqual(['subnet 172.17.0.0/16 of network "web" overlaps 172.17.0.1/16 on docker0 in the host netns on machine m1; choose a subnet that is free there']);
    expect(clashes(["192.168.1.0/25"])[0]).toMatch(/overlaps 192\.168\.1\.5\/24 on eth0 in/);
    expect(clashes(["10.20.5.0/24"])[0]).toMatch(/overlaps route 10\.20\.0\.0\/16 via 192\.168\.1\.254 dev eth0 in/);
    expect(clashes(["10.66.1.0/24"])[0]).toMatch(/overlaps blackhole route 10\.66\.0\.0\/16 table 7/);
    expect(clashes(["fd00:1::/64"])[0]).toMatch(/subnet fd00:1::\/64 of network "web" overlaps fd00:1::5\/64 on eth0/);
  });

  test("a larger subnet that holds what is there clashes too", () => {
    expect(clashes(["172.16.0.0/12"])[0]).toMatch(/overlaps 172\.17\.0\.1\/16 on docker0/);
  });

  test("another stack's network is named by its tag", () => {
    expect(clashes(["10.0.9.0/24"])).toEqual([`subnet 10.0.9.0/24 of network "web" overlaps 10.0.9.1/24 on br-other, another stack's network (alias "hostnet:proj/prod/other-bridge") in the host netns on machine m1; choose a subnet that is free there`]);
  });

  test("our own bridge (re-up, refresh), this stack's other networks, default routes and free subnets pass", () => {
    expect(clashes(["10.0.3.0/24"])).toEqual([]);
    expect(clashes(["10.0.8.0/24"])).toEqual([]);
    expect(clashes(["10.50.0.0/24", "fd00:2::/64"])).toEqual([]);
    // The stack renamed: the bridge still carries the tag stored before.
    expect(subnetClashes("web", ["10.0.3.0/24"], lived, { name: "br-web", tags: ["hostnet:proj/stack2/web-bridge", TAG], adopt: false }, "x")).toEqual([]);
  });

  test("an untagged bridge of our name counts as ours only when adopted", () => {
    const host: Occupancy = { links: [link("br-adv", ["10.0.7.1/24"])], routes: [] };
    expect(subnetClashes("n", ["10.0.7.0/24"], host, { name: "br-adv", tags: [TAG], adopt: false }, "here")[0]).toMatch(/overlaps 10\.0\.7\.1\/24 on br-adv here/);
    expect(subnetClashes("n", ["10.0.7.0/24"], host, { name: "br-adv", tags: [TAG], adopt: true }, "here")).toEqual([]);
  });

  test("prefixes overlap when one holds the other, in one family only", () => {
    expect(prefixesOverlap("10.0.0.0/8", "10.1.2.0/24")).toBe(true);
    expect(prefixesOverlap("10.1.2.0/24", "10.0.0.0/8")).toBe(true);
    expect(prefixesOverlap("10.1.2.0/24", "10.1.3.0/24")).toBe(false);
    expect(prefixesOverlap("10.1.2.0/24", "fd00::/8")).toBe(false);
    expect(subnetsOverlap("fd00:3::/64", "fd00::/16")).toBe(true);
  });
});

describe("a VNI on a port", () => {
  const vx = (name: string, id: number, port: number, alias?: string) => link(name, [], alias, { kind: "vxlan", info: { id, port } });
  const host: Occupancy = { links: [vx("vx-a", 42, 4789, "hostnet:p/s1/a-vxlan"), vx("vx-hand", 50, 4789)], routes: [] };
  const me = { name: "vx-b", tags: ["hostnet:p/s2/b-vxlan"], adopt: true };

  test("another stack's VXLAN link or one made by hand on that VNI and port is named, adopt or not", () => {
    expect(vniClash(host, 42, 4789, me)).toBe('VNI 42 on UDP port 4789 is already used by VXLAN link vx-a, which belongs to another stack (alias "hostnet:p/s1/a-vxlan")');
    expect(vniClash(host, 50, 4789, me)).toMatch(/vx-hand, which belongs to no stack/);
  });

  test("another port, another VNI, or our own link pass", () => {
    expect(vniClash(host, 42, 4790, me)).toBeUndefined();
    expect(vniClash(host, 43, 4789, me)).toBeUndefined();
    expect(vniClash(host, 42, 4789, { name: "vx-a", tags: ["hostnet:p/s1/a-vxlan"], adopt: false })).toBeUndefined();
  });
});

describe("what a create may take", () => {
  test("its own leftover, and an untagged object with adopt", () => {
    expect(takeOver("link x", TAG, TAG, false)).toBe("ours");
    expect(takeOver("link x", undefined, TAG, true)).toBe("foreign");
  });

  test("an untagged object without adopt: refused with the advice to adopt", () => {
    expect(() => takeOver("link x", undefined, TAG, false)).toThrow(/link x already exists and it was not created by pulumi-hostnet; to manage it, set `adopt: true`/);
  });

  test("another stack's or another resource's object: refused even with adopt, and no advice to adopt", () => {
    for (const adopt of [false, true]) {
      expect(() => takeOver("link br-ov", "hostnet:p/s1/ov-bridge", "hostnet:p/s2/ov-bridge", adopt)).toThrow('link br-ov already exists and belongs to another stack (alias "hostnet:p/s1/ov-bridge"); it is never taken over, not even with `adopt: true`');
      expect(() => takeOver("link br-ov", "hostnet:p/s1/other-bridge", "hostnet:p/s1/ov-bridge", adopt)).toThrow(/belongs to another resource of this stack \(alias "hostnet:p\/s1\/other-bridge"\)/);
    }
  });
});

describe("an Address already on a link", () => {
  const onLink = (alias: string | undefined) =>
    new FakeRunner()
      .on(["ip", "addr", "add"], (c) => new CommandError(c.argv, 2, "Error: ipv4: Address already assigned."))
      .on(["ip", "-json", "-details", "addr", "show", "dev", "d0"], { stdout: JSON.stringify([{ ifindex: 2, ifname: "d0", flags: ["UP"], mtu: 1500, ...(alias ? { ifalias: alias } : {}), addr_info: [{ family: "inet", local: "10.9.0.1", prefixlen: 24 }] }]), stderr: "" });
  const inputs = (adopt: boolean) => ({ device: "d0", address: "10.9.0.1/24", adopt, tag: "hostnet:proj/stack/a" });

  test("on another stack's link: never taken, adopt or not", async () => {
    for (const adopt of [false, true]) {
      await expect(makeProviders(onLink("hostnet:proj/prod/d0")).address.create(inputs(adopt))).rejects.toThrow('address 10.9.0.1/24 on d0 in the host netns already exists and belongs to another stack (alias "hostnet:proj/prod/d0")');
    }
  });

  test("on this stack's link it is taken; on an untagged one only with adopt", async () => {
    await expect(makeProviders(onLink("hostnet:proj/stack/br")).address.create(inputs(false))).resolves.toMatchObject({ id: "addr/-/d0/10.9.0.1/24" });
    await expect(makeProviders(onLink(undefined)).address.create(inputs(false))).rejects.toThrow(/was not made by pulumi-hostnet; to manage it from this resource, set `adopt: true`/);
    await expect(makeProviders(onLink(undefined)).address.create(inputs(true))).resolves.toMatchObject({ id: "addr/-/d0/10.9.0.1/24" });
  });
});

describe("a Bridge's check reads the host through the runner", () => {
  const addr = JSON.stringify([
    { ifindex: 1, ifname: "lo", flags: ["UP"], mtu: 65536, addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }] },
    { ifindex: 2, ifname: "docker0", flags: ["UP"], mtu: 1500, linkinfo: { info_kind: "bridge" }, addr_info: [{ family: "inet", local: "172.17.0.1", prefixlen: 16, scope: "global" }] },
    { ifindex: 3, ifname: "br-web", flags: ["UP"], mtu: 1500, ifalias: "hostnet:proj/prod/web-bridge", linkinfo: { info_kind: "bridge" }, addr_info: [] },
  ]);
  // The two reads run side by side, so they go as one `ip -batch` (one process): one line each.
  const kernel = () =>
    new FakeRunner().on(["ip", "-json", "-details", "-batch", "-"], (c) => ({ stdout: `${(c.stdin ?? "").split("\n").filter(Boolean).map((line) => (line.startsWith("addr") ? addr : "[]")).join("\n")}\n`, stderr: "" }));

  test("docker0's subnet is refused, naming the holder", async () => {
    const result = await makeProviders(kernel()).bridge.check!({}, { name: "br-x", addresses: ["172.17.0.1/16"], up: true, adopt: false, existing: false, network: { name: "x", subnets: ["172.17.0.0/16"] }, tag: "hostnet:proj/stack/x-bridge" });
    expect(result.failures).toEqual([{ property: "addresses", reason: expect.stringContaining('subnet 172.17.0.0/16 of network "x" overlaps 172.17.0.1/16 on docker0 in the host netns') }]);
  });

  test("a bridge name another stack holds is refused naming its tag; the two reads serve every check of a moment", async () => {
    const runner = kernel();
    const providers = makeProviders(runner);
    const result = await providers.bridge.check!({}, { name: "br-web", addresses: [], up: true, adopt: true, existing: false, tag: "hostnet:proj/stack/web-bridge" });
    expect(result.failures).toEqual([{ property: "name", reason: expect.stringMatching(/^link br-web in the host netns already exists and belongs to another stack \(alias "hostnet:proj\/prod\/web-bridge"\); it is never taken over, not even with `adopt: true`/) }]);
    await providers.bridge.check!({}, { name: "br-y", addresses: [], up: true, adopt: false, existing: false, tag: "hostnet:proj/stack/y-bridge" });
    expect(runner.calls.filter((c) => c.stdin?.includes("addr show") && c.stdin.includes("route show table all"))).toHaveLength(1);
    expect(runner.calls).toHaveLength(1);
  });

  test("a plain bridge, or a network on a free subnet, passes", async () => {
    const result = await makeProviders(kernel()).bridge.check!({}, { name: "br-z", addresses: ["10.0.3.1/24"], up: true, adopt: false, existing: false, network: { name: "z", subnets: ["10.0.3.0/24"] }, tag: "hostnet:proj/stack/z-bridge" });
    expect(result.failures).toBeUndefined();
  });
});

describe("the program's registry", () => {
  beforeEach(() => forgetClaims());

  test("overlapping subnets on one machine's host are refused naming both networks; other machines and hosts are separate", () => {
    claimSubnet(undefined, undefined, 'network "a"', "10.0.3.0/24");
    expect(() => claimSubnet(undefined, undefined, 'network "b"', "10.0.3.128/25")).toThrow('subnet 10.0.3.128/25 of network "b" overlaps 10.0.3.0/24 of network "a" on the local machine; give each network a subnet of its own');
    const m1 = new hostnet.Machine("m1", { host: "192.168.77.1" });
    claimSubnet(m1, undefined, 'network "c"', "10.0.3.0/24");
    claimSubnet(undefined, "hostB", 'network "d"', "10.0.3.0/24");
    claimSubnet(undefined, undefined, 'network "e"', "fd00:3::/64");
    expect(() => claimSubnet(undefined, undefined, 'network "f"', "fd00::/16")).toThrow(/subnet fd00::\/16 of network "f" overlaps fd00:3::\/64 of network "e"/);
  });

  test("names and VNIs: one owner each per machine (and netns)", () => {
    claimInterface(undefined, undefined, 'the bridge of network "a"', "br-x");
    expect(() => claimInterface(undefined, undefined, 'container "c1"', "br-x")).toThrow('interface name br-x of container "c1" is already taken by the bridge of network "a" on the local machine');
    claimInterface(undefined, "other", 'container "c1"', "br-x");
    claimNamespace(undefined, 'container "c1"', "web");
    expect(() => claimNamespace(undefined, 'Namespace "n"', "web")).toThrow('network namespace web of Namespace "n" is already taken by container "c1" on the local machine');
    claimVni(undefined, undefined, 'network "ov1"', 42, 4789);
    claimVni(undefined, undefined, 'network "ov2"', 42, 4790);
    expect(() => claimVni(undefined, undefined, 'network "ov3"', 42, 4789)).toThrow('VNI 42 on UDP port 4789 of network "ov3" is already used by network "ov1" on the local machine');
  });

  test("components: overlapping networks, one bridge name, one netns, one host interface, one VNI", () => {
    const m1 = new hostnet.Machine("m1", { host: "192.168.77.1" });
    const a = new hostnet.BridgeNetwork("a", { subnet: "10.70.0.0/16", ipv6Subnet: "fd00:70::/64" });
    expect(() => new hostnet.BridgeNetwork("b", { subnet: "10.70.3.0/24" })).toThrow('BridgeNetwork b: subnet 10.70.3.0/24 of network "b" overlaps 10.70.0.0/16 of network "a" on the local machine');
    expect(() => new hostnet.BridgeNetwork("b6", { subnet: "10.71.0.0/24", ipv6Subnet: "fd00:70:0::/48" })).toThrow(/subnet fd00:70::\/48 of network "b6" overlaps fd00:70::\/64 of network "a"/);
    expect(() => new hostnet.BridgeNetwork("c", { subnet: "10.72.0.0/24", bridgeName: "br-a" })).toThrow('BridgeNetwork c: interface name br-a of the bridge of network "c" is already taken by the bridge of network "a" on the local machine');
    new hostnet.BridgeNetwork("a-m1", { subnet: "10.70.0.0/16", machine: m1 });
    new hostnet.ContainerNetwork("c1", { mode: "bridge", network: a, namespaceName: "web" });
    expect(() => new hostnet.ContainerNetwork("c2", { mode: "none", namespaceName: "web" })).toThrow('ContainerNetwork c2: network namespace web of container "c2" is already taken by container "c1" on the local machine');
    expect(() => new hostnet.ContainerNetwork("c3", { mode: "bridge", network: a, hostInterfaceName: "vh-c1" })).toThrow('ContainerNetwork c3: interface name vh-c1 of container "c3" is already taken by container "c1" on the local machine');
    expect(() => new hostnet.Namespace("ns", { name: "web" })).toThrow('Namespace ns: network namespace web of Namespace "ns" is already taken by container "c1" on the local machine');
    expect(() => new hostnet.BridgeEndpoint("ep", { namespace: "ep", bridge: "br-a", hostInterface: "vh-c1", address: "10.70.0.9/16" })).toThrow('BridgeEndpoint ep: interface name vh-c1 of BridgeEndpoint "ep" is already taken by container "c1" on the local machine');
    new hostnet.OverlayNetwork("ov1", { subnet: "10.80.0.0/24", vni: 42, machines: [{ machine: m1, address: "192.168.77.1" }] });
    expect(() => new hostnet.OverlayNetwork("ov2", { subnet: "10.81.0.0/24", vni: 42, machines: [{ machine: m1, address: "192.168.77.1" }] })).toThrow('OverlayNetwork ov2: VNI 42 on UDP port 4789 of network "ov2" is already used by network "ov1" on machine m1');
    expect(() => new hostnet.Vxlan("vx", { name: "vx-x", vni: 42, machine: m1 })).toThrow('Vxlan vx: VNI 42 on UDP port 4789 of Vxlan "vx" is already used by network "ov1" on machine m1');
    expect(() => new hostnet.Bridge("b", { name: "br-ov1", machine: m1 })).toThrow('Bridge b: interface name br-ov1 of Bridge "b" is already taken by the bridge of network "ov1" on machine m1');
  });
});
