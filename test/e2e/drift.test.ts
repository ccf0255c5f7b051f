// Drift repair for every mutable property of every resource, through the real pulumi CLI: one
// stack holds them all; each round changes many of them by hand in the kernel at once, then one
// `pulumi refresh` must show each resource as updated (or deleted when it is gone), and one
// `pulumi up` must put the kernel back as declared.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const PROGRAM = `
const ns1 = new hostnet.Namespace("d-ns1", { name: "d-ns1" });
const ns2 = new hostnet.Namespace("d-ns2", { name: "d-ns2" });
const ns3 = new hostnet.Namespace("d-ns3", { name: "d-ns3" });
const br0 = new hostnet.Bridge("d-br0", { name: "d-br0", addresses: ["10.61.0.1/24"], mtu: 1500 });
const br1 = new hostnet.Bridge("d-br1", { name: "d-br1" });
new hostnet.VethPair("d-va", { name: "d-va", master: br0.name, mtu: 1500, peer: { name: "eth0", namespace: ns1.name } });
new hostnet.VethPair("d-vb", { name: "d-vb", addresses: ["10.62.0.1/24"], peer: { name: "eth0", namespace: ns2.name, addresses: ["10.62.0.2/24"] } });
const vc = new hostnet.VethPair("d-vc", { name: "d-vc", addresses: ["10.63.0.1/24"], mtu: 1500, peer: { name: "eth0", namespace: ns3.name, addresses: ["10.63.0.2/24"] } });
new hostnet.Route("d-r-via", { namespace: ns3.name, destination: "10.70.0.0/24", via: "10.63.0.1" }, { dependsOn: [vc] });
new hostnet.Route("d-r-metric", { namespace: ns3.name, destination: "10.71.0.0/24", via: "10.63.0.1", metric: 100 }, { dependsOn: [vc] });
new hostnet.Route("d-r-dev", { namespace: ns3.name, destination: "10.72.0.0/24", device: "eth0" }, { dependsOn: [vc] });
new hostnet.Route("d-r-src", { namespace: ns3.name, destination: "10.73.0.0/24", via: "10.63.0.1", source: "10.63.0.2" }, { dependsOn: [vc] });
new hostnet.Sysctl("d-forwarding", { key: "net.ipv4.ip_forward", value: "1" });
new hostnet.NatRule("d-masq", { type: "masquerade", source: "10.62.0.0/24" });
new hostnet.PortForward("d-web", { protocol: "tcp", hostPort: 8080, target: "10.63.0.2", targetPort: 80 }, { dependsOn: [vc] });
const br2 = new hostnet.Bridge("d-br2", { name: "d-br2", addresses: ["10.64.0.1/24"] });
new hostnet.BridgeEndpoint("d-ep1", { namespace: "d-ep1", bridge: br2.name, hostInterface: "d-vep1", address: "10.64.0.2/24", gateway: "10.64.0.1", mtu: 1500, ports: [{ hostPort: 8081, targetPort: 80 }] });
new hostnet.BridgeEndpoint("d-ep2", { namespace: "d-ep2", bridge: br2.name, hostInterface: "d-vep2", address: "10.64.0.3/24", gateway: "10.64.0.1" });
`;

/** Every mutable property of every resource kind (README's "changes in place" column; a veth's MTU is both ends'). */
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
  "VethPair.mtu (peer end)",
  "Namespace.loopbackUp",
  "Route.via",
  "Route.metric",
  "Route.device",
  "Route.source",
  "Sysctl.value",
  "NatRule.rules",
  "PortForward.rules",
  "BridgeEndpoint.bridge",
  "BridgeEndpoint.mtu",
  "BridgeEndpoint.up",
  "BridgeEndpoint.ports",
  "BridgeEndpoint.address",
  "BridgeEndpoint.gateway",
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
    ruleCounts["d-ep1"] = (await rulesOf("d-ep1")).length;
    expect(ruleCounts).toEqual({ "d-masq": 3, "d-web": 5, "d-ep1": 5 });
    await ctx.sandbox.serve("d-ns3", "tcp", 80);
    // From the host to one of its own addresses: the output-chain DNAT sends it to d-ns3.
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
  });

  test("round 1: every mutable property changed by hand shows in refresh and up repairs it", async () => {
    // Each property: the resource that holds it, the change by hand, and how the kernel must look after `up`.
    const drifts: { property: Mutable; resource: string; change: () => Promise<unknown>; repaired: () => Promise<void> }[] = [
      {
        property: "Namespace.loopbackUp",
        resource: "d-ns1",
        change: () => ip("-n", "d-ns1", "link", "set", "lo", "down"),
        repaired: async () => expect(await ip("-n", "d-ns1", "link", "show", "lo")).toMatch(/<LOOPBACK,UP/),
      },
      {
        property: "Bridge.addresses",
        resource: "d-br0",
        change: async () => {
          await ip("addr", "del", "10.61.0.1/24", "dev", "d-br0");
          await ip("addr", "add", "10.61.0.9/24", "dev", "d-br0");
        },
        repaired: async () => {
          const br0 = await ip("addr", "show", "d-br0");
          expect(br0).toContain("inet 10.61.0.1/24");
          expect(br0).not.toContain("10.61.0.9");
        },
      },
      { property: "Bridge.mtu", resource: "d-br0", change: () => ip("link", "set", "d-br0", "mtu", "1400"), repaired: async () => expect(await ip("link", "show", "d-br0")).toContain("mtu 1500") },
      { property: "Bridge.up", resource: "d-br0", change: () => ip("link", "set", "d-br0", "down"), repaired: async () => expect(await ip("link", "show", "d-br0")).toMatch(/<BROADCAST,MULTICAST,UP/) },
      { property: "VethPair.master", resource: "d-va", change: () => ip("link", "set", "d-va", "master", "d-br1"), repaired: async () => expect(await ip("link", "show", "d-va")).toContain("master d-br0") },
      { property: "VethPair.mtu", resource: "d-va", change: () => ip("link", "set", "d-va", "mtu", "1400"), repaired: async () => expect(await ip("link", "show", "d-va")).toContain("mtu 1500") },
      { property: "VethPair.up", resource: "d-va", change: () => ip("link", "set", "d-va", "down"), repaired: async () => expect(await ip("link", "show", "d-va")).toMatch(/<BROADCAST,MULTICAST,UP/) },
      {
        property: "VethPair.addresses",
        resource: "d-vb",
        change: async () => {
          await ip("addr", "del", "10.62.0.1/24", "dev", "d-vb");
          await ip("addr", "add", "10.62.0.7/24", "dev", "d-vb");
        },
        repaired: async () => {
          const vb = await ip("addr", "show", "d-vb");
          expect(vb).toContain("inet 10.62.0.1/24");
          expect(vb).not.toContain("10.62.0.7");
        },
      },
      {
        property: "VethPair.peer.addresses",
        resource: "d-vb",
        change: () => ip("-n", "d-ns2", "addr", "add", "10.62.0.8/24", "dev", "eth0"),
        repaired: async () => {
          const peer = await ip("-n", "d-ns2", "addr", "show", "eth0");
          expect(peer).toContain("inet 10.62.0.2/24");
          expect(peer).not.toContain("10.62.0.8");
        },
      },
      { property: "VethPair.peer.up", resource: "d-vb", change: () => ip("-n", "d-ns2", "link", "set", "eth0", "down"), repaired: async () => expect(await ip("-n", "d-ns2", "link", "show", "eth0")).toMatch(/<BROADCAST,MULTICAST,UP/) },
      // The declared MTU is both ends': the peer's alone changed by hand is drift of d-vc (nothing else about it changes).
      { property: "VethPair.mtu (peer end)", resource: "d-vc", change: () => ip("-n", "d-ns3", "link", "set", "eth0", "mtu", "1400"), repaired: async () => expect(await ip("-n", "d-ns3", "link", "show", "eth0")).toContain("mtu 1500") },
      {
        property: "Route.via",
        resource: "d-r-via",
        change: () => ip("-n", "d-ns3", "route", "replace", "10.70.0.0/24", "via", "10.63.0.5"),
        repaired: async () => expect(await ip("-n", "d-ns3", "route", "show", "10.70.0.0/24")).toMatch(/^10\.70\.0\.0\/24 via 10\.63\.0\.1 dev eth0 proto 212/),
      },
      {
        // The metric is part of a route's key: the route with the old one is gone.
        property: "Route.metric",
        resource: "d-r-metric",
        change: async () => {
          await ip("-n", "d-ns3", "route", "del", "10.71.0.0/24", "metric", "100");
          await ip("-n", "d-ns3", "route", "add", "10.71.0.0/24", "via", "10.63.0.1", "metric", "50");
        },
        repaired: async () => expect(await ip("-n", "d-ns3", "route", "show", "10.71.0.0/24")).toMatch(/^10\.71\.0\.0\/24 via 10\.63\.0\.1 dev eth0 proto 212 metric 100/m),
      },
      {
        property: "Route.device",
        resource: "d-r-dev",
        change: () => ip("-n", "d-ns3", "route", "replace", "10.72.0.0/24", "dev", "lo"),
        repaired: async () => expect(await ip("-n", "d-ns3", "route", "show", "10.72.0.0/24")).toMatch(/^10\.72\.0\.0\/24 dev eth0 proto 212/),
      },
      {
        property: "Route.source",
        resource: "d-r-src",
        change: () => ip("-n", "d-ns3", "route", "replace", "10.73.0.0/24", "via", "10.63.0.1"),
        repaired: async () => expect(await ip("-n", "d-ns3", "route", "show", "10.73.0.0/24")).toMatch(/^10\.73\.0\.0\/24 via 10\.63\.0\.1 dev eth0 proto 212 src 10\.63\.0\.2/),
      },
      {
        property: "Sysctl.value",
        resource: "d-forwarding",
        change: () => run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]),
        repaired: async () => expect((await run(["sysctl", "-n", "net.ipv4.ip_forward"])).trim()).toBe("1"),
      },
      {
        property: "NatRule.rules",
        resource: "d-masq",
        change: async () => deleteRules((await rulesOf("d-masq")).slice(0, 1)),
        repaired: async () => expect((await rulesOf("d-masq")).length).toBe(ruleCounts["d-masq"]),
      },
      {
        // The rule the host's own connections go through: packets prove it is back.
        property: "PortForward.rules",
        resource: "d-web",
        change: async () => {
          await deleteRules((await rulesOf("d-web")).filter((r) => r.chain === "output"));
          expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBeUndefined();
        },
        repaired: async () => {
          expect((await rulesOf("d-web")).length).toBe(ruleCounts["d-web"]);
          expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
        },
      },
      { property: "BridgeEndpoint.bridge", resource: "d-ep1", change: () => ip("link", "set", "d-vep1", "nomaster"), repaired: async () => expect(await ip("link", "show", "d-vep1")).toContain("master d-br2") },
      { property: "BridgeEndpoint.mtu", resource: "d-ep1", change: () => ip("link", "set", "d-vep1", "mtu", "1400"), repaired: async () => expect(await ip("link", "show", "d-vep1")).toContain("mtu 1500") },
      { property: "BridgeEndpoint.up", resource: "d-ep1", change: () => ip("-n", "d-ep1", "link", "set", "eth0", "down"), repaired: async () => expect(await ip("-n", "d-ep1", "link", "show", "eth0")).toMatch(/<BROADCAST,MULTICAST,UP/) },
      {
        property: "BridgeEndpoint.ports",
        resource: "d-ep1",
        change: async () => deleteRules((await rulesOf("d-ep1")).filter((r) => r.chain === "prerouting")),
        repaired: async () => expect((await rulesOf("d-ep1")).length).toBe(ruleCounts["d-ep1"]),
      },
      {
        // Removing the address takes the default route through it along.
        property: "BridgeEndpoint.address",
        resource: "d-ep2",
        change: async () => {
          await ip("-n", "d-ep2", "addr", "del", "10.64.0.3/24", "dev", "eth0");
          await ip("-n", "d-ep2", "addr", "add", "10.64.0.9/24", "dev", "eth0");
        },
        repaired: async () => {
          const eth0 = await ip("-n", "d-ep2", "addr", "show", "eth0");
          expect(eth0).toContain("inet 10.64.0.3/24");
          expect(eth0).not.toContain("10.64.0.9");
        },
      },
      {
        property: "BridgeEndpoint.gateway",
        resource: "d-ep2",
        change: () => ip("-n", "d-ep2", "route", "replace", "default", "via", "10.64.0.9"),
        repaired: async () => expect(await ip("-n", "d-ep2", "route", "show", "default")).toMatch(/^default via 10\.64\.0\.1 dev eth0 proto 212/),
      },
    ];
    expect(drifts.map((d) => d.property).sort()).toEqual([...MUTABLE].sort());
    for (const drift of drifts) await drift.change();

    const seen = refreshed((await project.refresh()).stdout);
    await project.up();

    // Every property is checked before the test fails, so the figure counts each one.
    const missed: string[] = [];
    for (const { property, resource, repaired } of drifts) {
      const shown = seen.updated.includes(resource) || seen.deleted.includes(resource);
      const fixed = await repaired().then(
        () => "",
        (err: unknown) => (err as Error).message.split("\n").slice(0, 3).join(" "),
      );
      if (shown && !fixed) covered.add(property);
      else missed.push(`${property} (${resource}): ${shown ? "" : "not shown by refresh; "}${fixed || "repaired"}`);
    }
    // The route with the metric set by hand is not ours: it stays, and we remove it ourselves.
    await ip("-n", "d-ns3", "route", "del", "10.71.0.0/24", "metric", "50");
    expect(missed).toEqual([]);
    // Only what changed shows: the metric's route is gone, everything else was updated.
    expect(seen).toEqual({
      updated: ["d-br0", "d-ep1", "d-ep2", "d-forwarding", "d-masq", "d-ns1", "d-r-dev", "d-r-src", "d-r-via", "d-va", "d-vb", "d-vc", "d-web"],
      deleted: ["d-r-metric"],
    });
  });

  test("round 2: objects and rules gone entirely show as deleted in refresh and up makes them again", async () => {
    await deleteRules(await rulesOf("d-masq"));
    await deleteRules(await rulesOf("d-web"));
    await ip("link", "delete", "d-br1");
    // The namespace takes its veth pair with it.
    await ip("netns", "delete", "d-ns1");
    // An endpoint's namespace too; its forward rules stay on the host, so it is not dropped.
    await ip("netns", "delete", "d-ep1");
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBeUndefined();

    const refresh = await project.refresh();
    expect(refreshed(refresh.stdout)).toEqual({ updated: ["d-ep1"], deleted: ["d-br1", "d-masq", "d-ns1", "d-va", "d-web"] });

    await project.up();
    expect((await rulesOf("d-masq")).length).toBe(ruleCounts["d-masq"]);
    expect((await rulesOf("d-web")).length).toBe(ruleCounts["d-web"]);
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
    expect(await ip("-d", "link", "show", "d-br1")).toContain("bridge");
    expect(await ip("link", "show", "d-va")).toContain("master d-br0");
    expect(await ip("-n", "d-ns1", "link", "show", "eth0")).toMatch(/<BROADCAST,MULTICAST,UP/);
    expect(await ip("-n", "d-ep1", "addr", "show", "eth0")).toContain("inet 10.64.0.2/24");
    expect((await rulesOf("d-ep1")).length).toBe(ruleCounts["d-ep1"]);

    // Repaired means converged: the next up changes nothing.
    const again = await project.up();
    expect(again.stdout).not.toMatch(/\b(updated|created|deleted|replaced)\b/);
  });

  test("round 3 (issue 20): rules edited by hand, their count unchanged, show in refresh and up rewrites them", async () => {
    // d-web's DNAT from outside goes to another port; d-ep1's hairpin masquerade to another subnet.
    const replace = async (resource: string, chain: string, from: RegExp, to: string) => {
      const rule = (await rulesOf(resource)).find((r) => r.chain === chain && from.test(r.text));
      expect(rule).toBeDefined();
      const text = rule!.text.replace(/ # handle \d+$/, "").replace(from, to);
      await run(["nft", "replace", "rule", "ip", "hostnet", chain, "handle", rule!.handle, ...text.split(" ")]);
    };
    await replace("d-web", "prerouting", /dport 8080/, "dport 8090");
    await replace("d-ep1", "postrouting", /ip saddr 10\.64\.0\.0\/24/, "ip saddr 10.65.0.0/24");
    expect((await rulesOf("d-web")).length).toBe(ruleCounts["d-web"]);
    expect((await rulesOf("d-ep1")).length).toBe(ruleCounts["d-ep1"]);

    const refresh = await project.refresh();
    expect(refreshed(refresh.stdout)).toEqual({ updated: ["d-ep1", "d-web"], deleted: [] });
    await project.up();
    const web = (await rulesOf("d-web")).map((r) => r.text).join("\n");
    expect(web).toContain("dport 8080");
    expect(web).not.toContain("8090");
    expect((await rulesOf("d-ep1")).map((r) => r.text).join("\n")).not.toContain("10.65.0.0");
    expect(await ctx.sandbox.ask(undefined, "tcp", "10.63.0.1", 8080)).toBe("10.63.0.1");
    const again = await project.up();
    expect(again.stdout).not.toMatch(/\b(updated|created|deleted|replaced)\b/);
  });

  test("destroy leaves the sandbox as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
