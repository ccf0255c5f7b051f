// Macvlan, Tap, RoutingRule and Neighbor in one stack through the real pulumi CLI: up, drift
// made by hand shown by refresh, repaired by up, destroy leaves the sandbox as it was.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const PROGRAM = `
const ns1 = new hostnet.Namespace("k-ns1", { name: "k-ns1" });
const ns2 = new hostnet.Namespace("k-ns2", { name: "k-ns2" });
// The macvlans' parent: one end of a veth pair whose other end is up, so the parent has a carrier.
const parent = new hostnet.VethPair("k-parent", { name: "k-par0", peer: { name: "k-par1" } });
const mv1 = new hostnet.Macvlan("k-mv1", { name: "mv0", namespace: ns1.name, parent: parent.name, addresses: ["10.90.0.2/24"] });
new hostnet.Macvlan("k-mv2", { name: "mv0", namespace: ns2.name, parent: parent.name, addresses: ["10.90.0.3/24"], mtu: 1400 });
const br = new hostnet.Bridge("k-br", { name: "k-br" });
new hostnet.Tap("k-tap", { name: "k-tap0", master: br.name, user: 0, mtu: 1400 });
new hostnet.RoutingRule("k-rule", { from: "10.90.0.0/24", table: 100, priority: 1000 });
// Actions iproute2 6.1 prints as numbers (6, 7, 8) with -N: read back as their names, no drift.
new hostnet.RoutingRule("k-blackhole", { namespace: ns1.name, from: "10.91.0.0/24", action: "blackhole", priority: 1100 });
new hostnet.RoutingRule("k-unreachable", { namespace: ns1.name, from: "fd00:91::/64", action: "unreachable", priority: 1101 });
new hostnet.RoutingRule("k-prohibit", { from: "10.92.0.0/24", action: "prohibit", priority: 1102 });
new hostnet.Neighbor("k-nb", { namespace: ns1.name, device: mv1.name, address: "10.90.0.9", mac: "02:00:00:00:00:09" });
`;

describeAsRoot("macvlan, tap, routing rule and neighbour through pulumi", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "kinds");
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  const ping = (ns: string, target: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", target], { netns: ns });
  const refreshed = (stdout: string) => ({
    updated: [...stdout.matchAll(/~ +pulumi-nodejs:dynamic\/hostnet:\w+ (\S+) +updated/g)].map((m) => m[1]).sort(),
    deleted: [...stdout.matchAll(/- +pulumi-nodejs:dynamic\/hostnet:\w+ (\S+) +deleted/g)].map((m) => m[1]).sort(),
  });

  test.each([
    ["m", "mode", `new hostnet.Macvlan("m", { name: "mv0", parent: "eth0", mode: "source" });`],
    ["t", "user", `new hostnet.Tap("t", { name: "tap0", user: "root;x" });`],
    ["r", "from", `new hostnet.RoutingRule("r", { from: "10.0.0.7/24", table: 100, priority: 10 });`],
    ["n", "mac", `new hostnet.Neighbor("n", { device: "lo", address: "10.0.0.5", mac: "02:00:00:00:00" });`],
  ])("bad input is refused at preview: %s.%s, the kernel untouched", async (resource, field, code) => {
    project.writeProgram(code);
    const preview = await project.preview();
    expect(preview.code).not.toBe(0);
    expect(preview.output).toContain(`resource '${resource}': property ${field} value`);
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });

  test("up makes all four kinds; the macvlans talk", async () => {
    project.writeProgram(PROGRAM);
    const started = Date.now();
    await project.up();
    console.log(`kinds e2e: pulumi up of 10 resources ${Date.now() - started} ms`);
    expect(await ip("-n", "k-ns2", "-d", "link", "show", "mv0")).toMatch(/mtu 1400[\s\S]*macvlan mode bridge[\s\S]*alias hostnet:kinds\/test\/k-mv2/);
    expect(await ping("k-ns1", "10.90.0.3")).toBe(true);
    expect(await ip("-d", "link", "show", "k-tap0")).toMatch(/master k-br[\s\S]*tun type tap[\s\S]*alias hostnet:kinds\/test\/k-tap/);
    expect(await ip("rule", "show", "priority", "1000")).toContain("from 10.90.0.0/24 lookup 100 proto 212");
    expect(await ip("-n", "k-ns1", "neigh", "show", "10.90.0.9", "dev", "mv0")).toContain("lladdr 02:00:00:00:00:09 PERMANENT");
  });

  test("drift made by hand: refresh shows it, up repairs it, the next up changes nothing", async () => {
    await ip("-n", "k-ns2", "link", "set", "mv0", "mtu", "1300", "type", "macvlan", "mode", "private");
    await ip("link", "set", "k-tap0", "nomaster", "mtu", "1300");
    await ip("rule", "del", "from", "10.90.0.0/24", "priority", "1000", "protocol", "212");
    await ip("rule", "add", "from", "10.90.0.0/24", "lookup", "200", "priority", "1000", "protocol", "212");
    await ip("-n", "k-ns1", "neigh", "del", "10.90.0.9", "dev", "mv0");
    expect(await ping("k-ns1", "10.90.0.3")).toBe(false); // private mode

    const refresh = await project.refresh();
    expect(refreshed(refresh.stdout)).toEqual({ updated: ["k-mv2", "k-rule", "k-tap"], deleted: ["k-nb"] });

    await project.up();
    expect(await ip("-n", "k-ns2", "-d", "link", "show", "mv0")).toMatch(/mtu 1400[\s\S]*macvlan mode bridge/);
    expect(await ping("k-ns1", "10.90.0.3")).toBe(true);
    expect(await ip("link", "show", "k-tap0")).toMatch(/mtu 1400 .*master k-br/);
    expect((await ip("rule", "show", "priority", "1000")).trim()).toBe("1000:\tfrom 10.90.0.0/24 lookup 100 proto 212");
    expect(await ip("-n", "k-ns1", "neigh", "show", "10.90.0.9", "dev", "mv0")).toContain("lladdr 02:00:00:00:00:09 PERMANENT");

    const again = await project.up();
    expect(again.stdout).not.toMatch(/\b(updated|created|deleted|replaced)\b/);
    // Refresh finds nothing changed (the blackhole, unreachable and prohibit rules included), and preview agrees.
    expect(refreshed((await project.refresh()).stdout)).toEqual({ updated: [], deleted: [] });
    expect((await project.preview(["--expect-no-changes"])).code).toBe(0);
  });

  test("gc lists the blackhole and unreachable rules of a netns whose resources left the state as orphans of ours, and --delete removes them", async () => {
    const urn = "urn:pulumi:test::kinds::pulumi-nodejs:dynamic/hostnet:Namespace::k-ns1";
    const deleted = await project.cli(["state", "delete", urn, "--target-dependents", "--yes", "--stack", "test"]);
    expect(deleted.code).toBe(0);
    const dry = await project.hostnet(["gc", "--stack", project.qualifiedStack]);
    expect(dry.code).toBe(0);
    const rules = dry.stdout.split("\n").filter((l) => l.startsWith("orphan rule ")).map((l) => l.slice(0, l.indexOf(": "))).sort();
    expect(rules).toEqual(["orphan rule rule ipv4 from 10.91.0.0/24 priority 1100 blackhole (netns k-ns1)", "orphan rule rule ipv6 from fd00:91::/64 priority 1101 unreachable (netns k-ns1)"]);
    expect(dry.stdout).toMatch(/^orphan netns netns k-ns1: /m);
    expect((await project.hostnet(["gc", "--stack", project.qualifiedStack, "--delete"])).code).toBe(0);
    expect(await ip("netns", "list")).not.toContain("k-ns1");
  });

  test("destroy leaves the sandbox as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
