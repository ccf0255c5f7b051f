// Drift repair for every mutable property of every resource, through the real pulumi CLI: one
// stack holds them all; each round changes many of them by hand in the kernel at once, then one
// `pulumi refresh` must show each resource as updated (or deleted when it is gone), and one
// `pulumi up` must put the kernel back as declared.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";

jest.setTimeout(300_000);

const PROGRAM = `
const ns1 = new hostnet.Namespace("d-ns1", { name: "d-ns1" });
const ns2 = new hostnet.Namespace("d-ns2", { name: "d-ns2" });
const ns3 = new hostnet.Namespace("d-ns3", { name: "d-ns3" });
const br0 = new hostnet.Bridge("d-br0", { name: "d-br0", addresses: ["10.61.0.1/24"], mtu: 1500 });
const br1 = new hostnet.Bridge("d-br1", { name: "d-br1" });
new hostnet.VethPair("d-va", { name: "d-va", master: br0.name, mtu: 1500, peer: { name: "eth0", namespace: ns1.name } });
new hostnet.VethPair("d-vb", { name: "d-vb", addresses: ["10.62.0.1/24"], peer: { name: "eth0", namespace: ns2.name, addresses: ["10.62.0.2/24"] } });
const vc = new hostnet.VethPair("d-vc", { name: "d-vc", addresses: ["10.63.0.1/24"], peer: { name: "eth0", namespace: ns3.name, addresses: ["10.63.0.2/24"] } });
new hostnet.Route("d-r-via", { namespace: ns3.name, destination: "10.70.0.0/24", via: "10.63.0.1" }, { dependsOn: [vc] });
new hostnet.Route("d-r-metric", { namespace: ns3.name, destination: "10.71.0.0/24", via: "10.63.0.1", metric: 100 }, { dependsOn: [vc] });
new hostnet.Route("d-r-dev", { namespace: ns3.name, destination: "10.72.0.0/24", device: "eth0" }, { dependsOn: [vc] });
new hostnet.Sysctl("d-forwarding", { key: "net.ipv4.ip_forward", value: "1" });
new hostnet.NatRule("d-masq", { type: "masquerade", source: "10.62.0.0/24" });
new hostnet.PortForward("d-web", { protocol: "tcp", hostPort: 8080, target: "10.63.0.2", targetPort: 80 }, { dependsOn: [vc] });
`;

/** Every mutable property of every resource kind (README's "changes in place" column), and what covers it here. */
const MUTABLE = [
  "Bridge.addresses",
  "Bridge.mtu",
  "Bridge.up",
  "VethPair.addresses",
  "VethPair.master",
  "VethPair.mtu",
  "VethPair.up",
  "VethPair.peer.addresses",
  "VethPair.peer.up",
  "Namespace.loopbackUp",
  "Route.via",
  "Route.metric",
  "Route.device",
  "Sysctl.value",
  "NatRule.rules",
  "PortForward.rules",
] as const;
type Mutable = (typeof MUTABLE)[number];

describeAsRoot("drift repair through pulumi", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "drift");
  const covered = new Set<Mutable>();
  const run = (argv: string[], netns?: string) => ctx.sandbox.run(argv, { netns });
  const ip = (...args: string[]) => run(["ip", ...args]);
  /** Rules carrying a resource's tag in our nft table, with their handles. */
  const rulesOf = async (resource: string) => {
    const listing = await run(["nft", "-a", "list", "table", "ip", "hostnet"]);
    let chain = "";
    const rules: { chain: string; handle: string; text: string }[] = [];
    for (const line of listing.split("\n")) {
      chain = /^\s*chain (\S+) \{/.exec(line)?.[1] ?? chain;
      const handle = / # handle (\d+)$/.exec(line)?.[1];
      if (handle && line.includes(`comment "hostnet:drift/test/${resource}"`)) rules.push({ chain, handle, text: line.trim() });
    }
    return rules;
  };
  const deleteRules = async (rules: { chain: string; handle: string }[]) => {
    for (const rule of rules) await run(["nft", "delete", "rule", "ip", "hostnet", rule.chain, "handle", rule.handle]);
  };
  /** The resources a refresh reported as updated and as deleted. */
  const refreshed = (stdout: string) => ({
    updated: [...stdout.matchAll(/~ +pulumi-nodejs:dynamic\/hostnet:\w+ (\S+) +updated/g)].map((m) => m[1]).sort(),
    deleted: [...stdout.matchAll(/- +pulumi-nodejs:dynamic\/hostnet:\w+ (\S+) +deleted/g)].map((m) => m[1]).sort(),
  });
  const ruleCounts: Record<string, number> = {};

  afterAll(() => {
    console.log(`drift repair: ${covered.size}/${MUTABLE.length} mutable properties`);
  });

  test("up builds the stack; the port forward carries packets", async () => {
    project.writeProgram(PROGRAM);
    await project.up();
    ruleCounts["d-masq"] = (await rulesOf("d-masq")).length;
    ruleCounts["d-web"] = (await rulesOf("d-web")).length;
    expect(ruleCounts).toEqual({ "d-masq": 3, "d-web": 5 });
    await ctx.sandbox.serve("d-ns3", "tcp", 80);
    // From the host to one of its own addresses: the output-chain DNAT sends it to d-ns3.
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
  });

  test("round 1: every mutable property changed by hand shows in refresh and up repairs it", async () => {
    // Namespace
    await ip("-n", "d-ns1", "link", "set", "lo", "down");
    // Bridge: another address, a smaller MTU, down
    await ip("addr", "del", "10.61.0.1/24", "dev", "d-br0");
    await ip("addr", "add", "10.61.0.9/24", "dev", "d-br0");
    await ip("link", "set", "d-br0", "mtu", "1400", "down");
    // VethPair d-va: moved to another bridge, a smaller MTU, down
    await ip("link", "set", "d-va", "master", "d-br1", "mtu", "1400", "down");
    // VethPair d-vb: another address on the first end, an extra one on the peer, peer down
    await ip("addr", "del", "10.62.0.1/24", "dev", "d-vb");
    await ip("addr", "add", "10.62.0.7/24", "dev", "d-vb");
    await ip("-n", "d-ns2", "addr", "add", "10.62.0.8/24", "dev", "eth0");
    await ip("-n", "d-ns2", "link", "set", "eth0", "down");
    // Routes: another gateway, another metric (the old key is gone), another device
    await ip("-n", "d-ns3", "route", "replace", "10.70.0.0/24", "via", "10.63.0.5");
    await ip("-n", "d-ns3", "route", "del", "10.71.0.0/24", "metric", "100");
    await ip("-n", "d-ns3", "route", "add", "10.71.0.0/24", "via", "10.63.0.1", "metric", "50");
    await ip("-n", "d-ns3", "route", "replace", "10.72.0.0/24", "dev", "lo");
    // Sysctl
    await run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
    // NatRule and PortForward: one rule each deleted (for the forward, the one the host's own connections use)
    await deleteRules((await rulesOf("d-masq")).slice(0, 1));
    await deleteRules((await rulesOf("d-web")).filter((r) => r.chain === "output"));
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBeUndefined();

    const refresh = await project.refresh();
    expect(refreshed(refresh.stdout)).toEqual({
      updated: ["d-br0", "d-forwarding", "d-masq", "d-ns1", "d-r-dev", "d-r-via", "d-va", "d-vb", "d-web"],
      deleted: ["d-r-metric"],
    });

    await project.up();
    // Namespace
    expect(await ip("-n", "d-ns1", "link", "show", "lo")).toMatch(/<LOOPBACK,UP/);
    covered.add("Namespace.loopbackUp");
    // Bridge
    const br0 = await ip("addr", "show", "d-br0");
    expect(br0).toContain("inet 10.61.0.1/24");
    expect(br0).not.toContain("10.61.0.9");
    covered.add("Bridge.addresses");
    expect(br0).toContain("mtu 1500");
    covered.add("Bridge.mtu");
    expect(br0).toMatch(/<BROADCAST,MULTICAST,UP/);
    covered.add("Bridge.up");
    // VethPair d-va
    const va = await ip("link", "show", "d-va");
    expect(va).toContain("master d-br0");
    covered.add("VethPair.master");
    expect(va).toContain("mtu 1500");
    covered.add("VethPair.mtu");
    expect(va).toMatch(/<BROADCAST,MULTICAST,UP/);
    covered.add("VethPair.up");
    // VethPair d-vb
    const vb = await ip("addr", "show", "d-vb");
    expect(vb).toContain("inet 10.62.0.1/24");
    expect(vb).not.toContain("10.62.0.7");
    covered.add("VethPair.addresses");
    const peer = await ip("-n", "d-ns2", "addr", "show", "eth0");
    expect(peer).toContain("inet 10.62.0.2/24");
    expect(peer).not.toContain("10.62.0.8");
    covered.add("VethPair.peer.addresses");
    expect(peer).toMatch(/<BROADCAST,MULTICAST,UP/);
    covered.add("VethPair.peer.up");
    // Routes
    expect(await ip("-n", "d-ns3", "route", "show", "10.70.0.0/24")).toMatch(/^10\.70\.0\.0\/24 via 10\.63\.0\.1 dev eth0 proto 212/);
    covered.add("Route.via");
    expect(await ip("-n", "d-ns3", "route", "show", "10.71.0.0/24")).toMatch(/^10\.71\.0\.0\/24 via 10\.63\.0\.1 dev eth0 proto 212 metric 100/m);
    covered.add("Route.metric");
    expect(await ip("-n", "d-ns3", "route", "show", "10.72.0.0/24")).toMatch(/^10\.72\.0\.0\/24 dev eth0 proto 212/);
    covered.add("Route.device");
    // Sysctl
    expect((await run(["sysctl", "-n", "net.ipv4.ip_forward"])).trim()).toBe("1");
    covered.add("Sysctl.value");
    // Firewall: every rule back, and the packets flow again
    expect((await rulesOf("d-masq")).length).toBe(ruleCounts["d-masq"]);
    covered.add("NatRule.rules");
    expect((await rulesOf("d-web")).length).toBe(ruleCounts["d-web"]);
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
    covered.add("PortForward.rules");
    // The route with the metric set by hand is not ours: it stays, and we remove it ourselves.
    await ip("-n", "d-ns3", "route", "del", "10.71.0.0/24", "metric", "50");
  });

  test("round 2: objects and rules gone entirely show as deleted in refresh and up makes them again", async () => {
    await deleteRules(await rulesOf("d-masq"));
    await deleteRules(await rulesOf("d-web"));
    await ip("link", "delete", "d-br1");
    // The namespace takes its veth pair with it.
    await ip("netns", "delete", "d-ns1");
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBeUndefined();

    const refresh = await project.refresh();
    expect(refreshed(refresh.stdout)).toEqual({ updated: [], deleted: ["d-br1", "d-masq", "d-ns1", "d-va", "d-web"] });

    await project.up();
    expect((await rulesOf("d-masq")).length).toBe(ruleCounts["d-masq"]);
    expect((await rulesOf("d-web")).length).toBe(ruleCounts["d-web"]);
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
    expect(await ip("-d", "link", "show", "d-br1")).toContain("bridge");
    expect(await ip("link", "show", "d-va")).toContain("master d-br0");
    expect(await ip("-n", "d-ns1", "link", "show", "eth0")).toMatch(/<BROADCAST,MULTICAST,UP/);

    // Repaired means converged: the next up changes nothing.
    const again = await project.up();
    expect(again.stdout).not.toMatch(/\b(updated|created|deleted|replaced)\b/);
  });

  test("destroy leaves the sandbox as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
