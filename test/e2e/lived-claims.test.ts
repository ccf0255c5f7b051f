// Issue 20 parts 2 and 3 through the real pulumi CLI, on a host that is lived in: an uplink with
// its addresses (both families), a default route and a static route, a docker0-like bridge with
// 172.17.0.1/16, and a second stack's network, overlay and container. A network on a subnet the
// host or the other stack holds, or on the other stack's bridge name, VNI, netns or host
// interface, is refused at preview, naming the holder, without a stack trace and without
// touching anything, adopt or not. Our own network re-ups without a word.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("a lived-in host: subnets and names that are taken", () => {
  const ctx = useSandbox();
  const other = usePulumiProject(ctx, "claims-b");
  const project = usePulumiProject(ctx, "claims-a");
  const held: { host?: string; withOther?: string } = {};

  beforeAll(async () => {
    ctx.addTeardown(async () => {
      for (const link of ["up0", "docker0"]) await ctx.sandbox.run(["ip", "link", "del", link]).catch(() => undefined);
    });
    const run = (argv: string[]) => ctx.sandbox.run(argv);
    // The uplink (both ends here: only its addresses and routes matter), without IPv6 link-local
    // addresses, whose settling would read as a change in the snapshot.
    await run(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
    for (const end of ["up0", "up1"]) await run(["ip", "link", "set", end, "addrgenmode", "none"]);
    await run(["ip", "addr", "add", "192.168.1.5/24", "dev", "up0"]);
    await run(["ip", "addr", "add", "fd00:1::5/64", "dev", "up0", "nodad"]);
    for (const end of ["up0", "up1"]) await run(["ip", "link", "set", end, "up"]);
    await run(["ip", "route", "add", "default", "via", "192.168.1.1"]);
    await run(["ip", "route", "add", "10.20.0.0/16", "via", "192.168.1.254"]);
    // Docker's bridge, as docker0 is.
    await run(["ip", "link", "add", "docker0", "type", "bridge"]);
    await run(["ip", "link", "set", "docker0", "addrgenmode", "none"]);
    await run(["ip", "addr", "add", "172.17.0.1/16", "dev", "docker0"]);
    await run(["ip", "link", "set", "docker0", "up"]);
    held.host = await ctx.sandbox.snapshot();
  });

  /** Waits until no IPv6 address (the kernel's link-local ones) is tentative: settling DAD is no change of ours. */
  async function settled(namespaces: string[]): Promise<void> {
    for (const netns of [undefined, ...namespaces]) {
      for (let i = 0; i < 100 && (await ctx.sandbox.run(["ip", "-6", "addr", "show", "tentative"], { netns })).trim() !== ""; i++) await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A preview of `code` that must fail with `message`: no stack trace, nothing changed. */
  async function refused(code: string, message: RegExp, before: string): Promise<void> {
    project.writeProgram(code);
    const preview = await project.preview();
    expect(preview.code).not.toBe(0);
    expect(preview.output).toMatch(message);
    expect(preview.output).not.toMatch(/unhandled exception|^\s+at /im);
    expect(await ctx.sandbox.snapshot()).toEqual(before);
  }

  test.each([
    ["docker0's subnet", `new hostnet.BridgeNetwork("web", { subnet: "172.17.0.0/16" });`, /subnet 172\.17\.0\.0\/16 of network "web" overlaps 172\.17\.0\.1\/16 on docker0 in the host netns; choose a subnet that is free there/],
    ["a subnet inside docker0's", `new hostnet.BridgeNetwork("web", { subnet: "172.17.5.0/24" });`, /subnet 172\.17\.5\.0\/24 of network "web" overlaps 172\.17\.0\.1\/16 on docker0/],
    ["the uplink's subnet", `new hostnet.BridgeNetwork("web", { subnet: "192.168.1.0/24" });`, /subnet 192\.168\.1\.0\/24 of network "web" overlaps 192\.168\.1\.5\/24 on up0/],
    ["a static route's", `new hostnet.BridgeNetwork("web", { subnet: "10.20.3.0/24" });`, /subnet 10\.20\.3\.0\/24 of network "web" overlaps route 10\.20\.0\.0\/16 via 192\.168\.1\.254 dev up0/],
    ["the uplink's IPv6 subnet", `new hostnet.BridgeNetwork("web", { subnet: "10.0.3.0/24", ipv6Subnet: "fd00:1::/64" });`, /subnet fd00:1::\/64 of network "web" overlaps fd00:1::5\/64 on up0/],
    ["an overlay on docker0's subnet", `new hostnet.OverlayNetwork("ov", { subnet: "172.17.9.0/24", vni: 7, machines: [{ address: "192.168.1.5" }] });`, /subnet 172\.17\.9\.0\/24 of network "ov" overlaps 172\.17\.0\.1\/16 on docker0/],
  ])("preview refuses a network on %s, naming the holder", async (_what, code, message) => {
    await refused(code, message, held.host!);
  });

  test("a second stack's network, overlay and container block an overlapping subnet and their names, adopt or not", async () => {
    other.writeProgram(`
const net = new hostnet.BridgeNetwork("other", { subnet: "10.0.9.0/24", ipv6Subnet: "fd00:9::/64" });
new hostnet.ContainerNetwork("cb", { mode: "bridge", network: net });
new hostnet.OverlayNetwork("ovb", { subnet: "10.0.10.0/24", vni: 42, machines: [{ address: "192.168.1.5" }] });
`);
    await other.up();
    await settled(["cb"]);
    held.withOther = await ctx.sandbox.snapshot();
    const before = held.withOther;
    await refused(`new hostnet.BridgeNetwork("web", { subnet: "10.0.9.128/25" });`, /subnet 10\.0\.9\.128\/25 of network "web" overlaps 10\.0\.9\.1\/24 on br-other, another stack's network \(alias "hostnet:claims-b\/test\/other-bridge"\)/, before);
    await refused(`new hostnet.BridgeNetwork("web", { subnet: "10.0.3.0/24", ipv6Subnet: "fd00:9::/64" });`, /subnet fd00:9::\/64 of network "web" overlaps fd00:9::1\/64 on br-other, another stack's network/, before);
    await refused(
      `new hostnet.BridgeNetwork("web", { subnet: "10.0.3.0/24", bridgeName: "br-other", adopt: true });`,
      /link br-other in the host netns already exists and belongs to another stack \(alias "hostnet:claims-b\/test\/other-bridge"\); it is never taken over, not even with `adopt: true`/,
      before,
    );
    // What once merged two overlays at layer 2: adopting the other's bridge for another VNI.
    await refused(
      `new hostnet.OverlayNetwork("ova", { subnet: "10.0.11.0/24", vni: 43, bridgeName: "br-ovb", adopt: true, machines: [{ address: "192.168.1.5" }] });`,
      /link br-ovb in the host netns already exists and belongs to another stack \(alias "hostnet:claims-b\/test\/ovb-local-bridge"\)/,
      before,
    );
    await refused(
      `new hostnet.OverlayNetwork("ova", { subnet: "10.0.11.0/24", vni: 42, machines: [{ address: "192.168.1.5" }] });`,
      /VNI 42 on UDP port 4789 is already used by VXLAN link vx-ovb, which belongs to another stack \(alias "hostnet:claims-b\/test\/ovb-local-vxlan"\)/,
      before,
    );
    await refused(
      `new hostnet.ContainerNetwork("x", { mode: "none", namespaceName: "cb", adopt: true });`,
      /network namespace cb already exists and belongs to another stack \(alias "hostnet:claims-b\/test\/cb-endpoint"\)/,
      before,
    );
    await refused(
      `const n = new hostnet.BridgeNetwork("web", { subnet: "10.0.3.0/24" });\nnew hostnet.ContainerNetwork("x", { mode: "bridge", network: n, hostInterfaceName: "vh-cb", adopt: true });`,
      /link vh-cb in the host netns already exists and belongs to another stack \(alias "hostnet:claims-b\/test\/cb-endpoint"\)/,
      before,
    );
  });

  test("our own network beside them comes up, and a second up and preview find nothing to refuse or change", async () => {
    project.writeProgram(`
const net = new hostnet.BridgeNetwork("web", { subnet: "10.0.3.0/24", ipv6Subnet: "fd00:3::/64" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: net, ports: [{ hostPort: 8080, containerPort: 80 }] });
new hostnet.OverlayNetwork("ova", { subnet: "10.0.11.0/24", vni: 43, machines: [{ address: "192.168.1.5" }] });
`);
    await project.up();
    const again = await project.up();
    expect(again.stdout).not.toMatch(/updated|created|deleted|replaced/);
    const preview = await project.preview();
    expect(preview.code).toBe(0);
  });

  test("destroy of both stacks leaves the lived-in host as it was", async () => {
    await project.destroy();
    await settled(["cb"]);
    expect(await ctx.sandbox.snapshot()).toEqual(held.withOther);
    await other.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(held.host);
  });
});
