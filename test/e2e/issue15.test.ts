// Defects of issue 15 through the real pulumi CLI: host ports two stacks both forward (2),
// adoption that keeps what it does not declare (4), IPv6 hairpin of a standalone forward (8),
// a bridge MAC that stays when its lowest port leaves (9), and no records left behind (10).
import { stableMac } from "../../provider/resources/bridge";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("issue 15 through pulumi", () => {
  const ctx = useSandbox();
  const a = usePulumiProject(ctx, "i15-a");
  const b = usePulumiProject(ctx, "i15-b");
  const records = async () => (await ctx.sandbox.run(["find", "/run/pulumi-hostnet", "-mindepth", "1"])).trim();

  describe("two stacks cannot forward one host port (2)", () => {
    test("stack A holds tcp/18080 (nftables) and udp/7000-7010 (iptables)", async () => {
      // iptables-nft leaves its tables' built-in chains when our last chain goes: let them exist
      // before, as on a host that has used iptables, and take them away at the end.
      await ctx.sandbox.run(["iptables-restore"], { stdin: "*nat\nCOMMIT\n*filter\nCOMMIT\n" });
      a.writeProgram(`
new hostnet.PortForward("web", { protocol: "tcp", hostPort: 18080, target: "10.0.3.2", targetPort: 80, firewallBackend: "nftables" });
new hostnet.PortForward("dns", { protocol: "udp", hostPort: "7000-7010", target: "10.0.3.2", firewallBackend: "iptables" });`);
      await a.up();
    });

    test.each([
      ["the same port, nftables", "hostPort", "hostnet:i15-a/test/web", "tcp/18080", `new hostnet.PortForward("web", { protocol: "tcp", hostPort: 18080, target: "10.0.4.2", firewallBackend: "nftables" });`],
      ["an overlapping range, iptables", "hostPort", "hostnet:i15-a/test/dns", "udp/7005-7020", `new hostnet.PortForward("dns", { protocol: "udp", hostPort: "7005-7020", target: "10.0.4.2", firewallBackend: "iptables" });`],
      ["a port of A's iptables rule, from nftables", "hostPort", "hostnet:i15-a/test/dns", "udp/7010", `new hostnet.PortForward("dns", { protocol: "udp", hostPort: 7010, target: "10.0.4.2", firewallBackend: "nftables" });`],
      ["a BridgeEndpoint's port range", "ports[0].hostPort", "hostnet:i15-a/test/web", "tcp/18070-18090",
        `new hostnet.BridgeEndpoint("c", { namespace: "i15c", bridge: "br-none", hostInterface: "vh-i15c", address: "10.0.4.2/24", ports: [{ hostPort: "18070-18090" }] });`],
    ])("stack B forwarding %s fails at preview and at up, naming A's resource and the port", async (_what, field, holder, port, code) => {
      b.writeProgram(code);
      const preview = await b.preview();
      expect(preview.code).not.toBe(0);
      expect(preview.output).toContain(`property ${field} value`);
      expect(preview.output).toContain(`host port ${port} is already forwarded by ${holder}`);
      const up = await b.cli(["up", "--yes", "--skip-preview", "--stack", "test"]);
      expect(up.code).not.toBe(0);
      expect(up.output).toContain(`is already forwarded by ${holder}`);
    });

    test("A's rules are the only ones on those ports; B forwards another protocol freely; A updates its own forward", async () => {
      const nft = await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"]);
      expect(nft.match(/dport 18080 dnat/g)).toHaveLength(2); // A's prerouting and output
      expect(nft).not.toContain("i15-b");
      b.writeProgram(`new hostnet.PortForward("web", { protocol: "udp", hostPort: 18080, target: "10.0.4.2" });`);
      await b.up();
      a.writeProgram(`
new hostnet.PortForward("web", { protocol: "tcp", hostPort: 18080, target: "10.0.3.2", targetPort: 81, firewallBackend: "nftables" });
new hostnet.PortForward("dns", { protocol: "udp", hostPort: "7000-7010", target: "10.0.3.2", firewallBackend: "iptables" });`);
      await a.up();
      expect(await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).toContain("dnat to 10.0.3.2:81");
      await b.destroy();
      await a.destroy();
      expect(await ctx.sandbox.succeeds(["nft", "list", "table", "ip", "hostnet"])).toBe(false);
      expect(await ctx.sandbox.run(["iptables-save", "-t", "nat"])).not.toContain("HOSTNET");
      await ctx.sandbox.run(["nft", "flush", "ruleset"]);
    });
  });

  describe("adoption keeps the addresses it does not declare (4)", () => {
    const addresses = async () => (await ctx.sandbox.run(["ip", "-o", "-4", "addr", "show", "dev", "br-adopt"])).split("\n").map((l) => / inet (\S+)/.exec(l)?.[1]).filter(Boolean).sort();

    test("the hand-made address stays through adoption, a no-op preview, and a change of the declared one", async () => {
      await ctx.sandbox.run(["ip", "link", "add", "br-adopt", "type", "bridge"]);
      await ctx.sandbox.run(["ip", "addr", "add", "172.31.0.1/24", "dev", "br-adopt"]);
      const program = (address: string) => `
const br = new hostnet.Bridge("adopted", { name: "br-adopt", addresses: ["${address}"], adopt: true });
exports.kept = br.keptAddresses;`;
      a.writeProgram(program("10.31.0.1/24"));
      await a.up();
      expect(await addresses()).toEqual(["10.31.0.1/24", "172.31.0.1/24"]);
      expect((await a.outputs()).kept).toEqual(["172.31.0.1/24"]);
      const preview = await a.preview(["--expect-no-changes"]);
      expect(preview.code).toBe(0);
      a.writeProgram(program("10.32.0.1/24"));
      await a.up();
      expect(await addresses()).toEqual(["10.32.0.1/24", "172.31.0.1/24"]);
      // Adopted means ours now: destroy removes the bridge (retainOnDelete keeps it).
      await a.destroy();
      expect(await ctx.sandbox.succeeds(["ip", "link", "show", "br-adopt"])).toBe(false);
    });
  });

  describe("IPv6 hairpin, standalone PortForward and BridgeEndpoint alike (8)", () => {
    /** DAD of the addresses pulumi made (the test's own use nodad): wait until none is tentative. */
    const settled = async (netns?: string) => {
      for (let i = 0; i < 50; i++) {
        if ((await ctx.sandbox.run(["ip", "-6", "addr", "show", "tentative"], { netns })).trim() === "") return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`addresses still tentative in ${netns ?? "the host"}`);
    };

    test("a neighbour on the target's subnet reaches it through the host's address, masqueraded", async () => {
      a.writeProgram(`
const br = new hostnet.Bridge("br6", { name: "br6", addresses: ["fd00:6::1/64"] });
new hostnet.Sysctl("fwd6", { key: "net.ipv6.conf.all.forwarding", value: "1" });
new hostnet.PortForward("t1", { protocol: "tcp", hostPort: 18080, target: "fd00:6::2", targetPort: 80 }, { dependsOn: [br] });
new hostnet.BridgeEndpoint("e6", { namespace: "e6", bridge: br.name, hostInterface: "vh-e6", address: "fd00:6::3/64", gateway: "fd00:6::1",
                                   ports: [{ hostPort: 18443, targetPort: 80 }] });`);
      await a.up();
      // The target and its neighbour, made by hand on the same bridge.
      for (const [ns, address] of [["t1", "fd00:6::2/64"], ["n1", "fd00:6::4/64"]] as const) {
        await ctx.sandbox.run(["ip", "netns", "add", ns]);
        await ctx.sandbox.run(["ip", "link", "add", `vh-${ns}`, "type", "veth", "peer", "name", "eth0", "netns", ns]);
        await ctx.sandbox.run(["ip", "link", "set", `vh-${ns}`, "master", "br6", "up"]);
        await ctx.sandbox.run(["ip", "-n", ns, "link", "set", "lo", "up"]);
        await ctx.sandbox.run(["ip", "-n", ns, "link", "set", "eth0", "up"]);
        await ctx.sandbox.run(["ip", "-n", ns, "addr", "add", address, "dev", "eth0", "nodad"]);
        await ctx.sandbox.run(["ip", "-n", ns, "-6", "route", "add", "default", "via", "fd00:6::1"]);
      }
      await settled();
      await settled("e6");
      await ctx.sandbox.serve("t1", "tcp", 80);
      await ctx.sandbox.serve("e6", "tcp", 80);
      expect(await ctx.sandbox.ask("n1", "tcp", "fd00:6::1", 18080)).toBe("fd00:6::1");
      expect(await ctx.sandbox.ask("n1", "tcp", "fd00:6::1", 18443)).toBe("fd00:6::1");
      expect(await ctx.sandbox.ask("t1", "tcp", "fd00:6::1", 18443)).toBe("fd00:6::1");
      const nft = await ctx.sandbox.run(["nft", "list", "table", "ip6", "hostnet"]);
      expect(nft).toMatch(/ip6 saddr fd00:6::\/64 ip6 daddr fd00:6::2 tcp dport 80 ct status dnat masquerade comment "hostnet:i15-a\/test\/t1"/);
      // The servers keep t1's namespace alive after its name goes: delete the test's links first.
      for (const ns of ["t1", "n1"]) {
        await ctx.sandbox.run(["ip", "link", "delete", `vh-${ns}`]);
        await ctx.sandbox.run(["ip", "netns", "delete", ns]);
      }
      await a.destroy();
    });
  });

  describe("a bridge's MAC stays when its lowest port leaves (9), and destroy leaves no records (10)", () => {
    const containers = ["m1", "m2", "m3"];
    const program = (members: readonly string[], mac = "") => `
const net = new hostnet.BridgeNetwork("mnet", { bridgeName: "br-mac", subnet: "10.0.9.0/24"${mac ? `, mac: "${mac}"` : ""} });
for (const [i, name] of ${JSON.stringify(containers)}.entries()) {
  if (${JSON.stringify(members)}.includes(name)) new hostnet.ContainerNetwork(name, { mode: "bridge", network: net, address: "10.0.9." + (i + 2), hostInterfaceName: "vh-" + name });
}`;
    const macOf = async (link: string) => JSON.parse(await ctx.sandbox.run(["ip", "-j", "link", "show", link]))[0].address as string;
    const ping = (ns: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "1", "10.0.9.1"], { netns: ns });
    let remaining: string[] = [];

    test("the bridge has its stable MAC from creation and keeps it when the container with the lowest MAC leaves", async () => {
      a.writeProgram(program(containers));
      await a.up();
      const bridgeMac = await macOf("br-mac");
      for (const name of containers) expect(await ping(name)).toBe(true); // every neighbour cache holds the gateway
      const byMac = await Promise.all(containers.map(async (name) => ({ name, mac: await macOf(`vh-${name}`) })));
      const lowest = byMac.sort((x, y) => x.mac.localeCompare(y.mac))[0]!.name;
      remaining = containers.filter((n) => n !== lowest);
      a.writeProgram(program(remaining));
      await a.up();
      // At once, with their cached gateway MAC: a MAC that moved would leave these unanswered.
      for (const name of remaining) expect(await ping(name)).toBe(true);
      expect(await macOf("br-mac")).toBe(bridgeMac);
      expect(bridgeMac).toBe(stableMac("hostnet:i15-a/test/mnet-bridge"));
      expect(parseInt(bridgeMac.slice(0, 2), 16) & 3).toBe(2); // locally administered, unicast
    });

    test("a MAC changed by hand shows at refresh and up puts it back; a declared MAC is set in place", async () => {
      const bridgeMac = await macOf("br-mac");
      await ctx.sandbox.run(["ip", "link", "set", "br-mac", "address", "02:00:00:00:00:09"]);
      const refresh = await a.refresh();
      expect(refresh.stdout).toMatch(/~ +pulumi-nodejs:dynamic\/hostnet:Bridge mnet-bridge +updated/);
      await a.up();
      expect(await macOf("br-mac")).toBe(bridgeMac);
      a.writeProgram(program(remaining, "02:42:0a:00:09:01"));
      await a.up();
      expect(await macOf("br-mac")).toBe("02:42:0a:00:09:01");
    });

    test("destroy leaves no sysctl records or their directories behind", async () => {
      expect(await records()).not.toBe("");
      await a.destroy();
      expect(await records()).toBe("");
    });
  });
});
