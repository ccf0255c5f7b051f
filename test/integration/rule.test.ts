// RoutingRule provider against the real kernel with real packets: traffic from one source
// leaves by one uplink (table 100), from another source by the other (table 200).
import { findOrphans, removeOrphans } from "../../provider/housekeeping/gc";
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

describeAsRoot("routing rule provider on the kernel", () => {
  const ctx = useSandbox();
  const providers = () => makeProviders(ctx.sandbox.runner);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  /** Whether `to` answers a ping sent from the sandbox's host with source `from`. */
  const reaches = (from: string, to: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "1", "-I", from, to]);
  const rules = async (family = "-4") => JSON.parse(await ip("-N", family, "-j", "rule", "show")) as Array<Record<string, unknown>>;

  beforeAll(async () => {
    // Two "outside" namespaces, each behind its own uplink, each with an address on lo that
    // only it has: which one answers tells which way the packet went.
    for (const [side, net] of [["a", 1], ["b", 2]] as const) {
      await ip("netns", "add", `out-${side}`);
      await ip("link", "add", `up-${side}`, "type", "veth", "peer", "name", "eth0", "netns", `out-${side}`);
      await ip("addr", "add", `10.50.${net}.1/30`, "dev", `up-${side}`);
      await ip("link", "set", `up-${side}`, "up");
      await ip("-n", `out-${side}`, "addr", "add", `10.50.${net}.2/30`, "dev", "eth0");
      await ip("-n", `out-${side}`, "link", "set", "eth0", "up");
      await ip("-n", `out-${side}`, "link", "set", "lo", "up");
      await ip("-n", `out-${side}`, "addr", "add", `198.51.100.${net}/32`, "dev", "lo");
      await ip("-n", `out-${side}`, "route", "add", "10.60.0.0/24", "via", `10.50.${net}.1`);
      await ip("route", "add", "default", "via", `10.50.${net}.2`, "table", String(net * 100));
    }
    await ip("addr", "add", "10.60.0.1/32", "dev", "lo");
    await ip("addr", "add", "10.60.0.2/32", "dev", "lo");
  });

  test("source-based paths: from .1 by table 100, from .2 by table 200; action and table updated in place; drift repaired", async () => {
    const { rule } = providers();
    // Without rules neither outside is reachable: the main table has no default route.
    expect(await reaches("10.60.0.1", "198.51.100.1")).toBe(false);
    const viaA = (await rule.check!({}, { from: "10.60.0.1", table: 100, priority: 1000 })).inputs!;
    expect(viaA).toMatchObject({ from: "10.60.0.1/32", table: "100", family: "ipv4", action: "lookup" });
    const viaB = (await rule.check!({}, { from: "10.60.0.2/32", table: "200", priority: 1001 })).inputs!;
    const a = await rule.create(viaA);
    const b = await rule.create(viaB);
    expect(a.id).toBe("rule/-/ipv4/from,10.60.0.1/32,priority,1000");
    expect(a.outs).toMatchObject({ tableId: "100", protocol: "212" });
    expect(await ip("rule", "show", "priority", "1000")).toContain("from 10.60.0.1 lookup 100 proto 212");

    expect(await reaches("10.60.0.1", "198.51.100.1")).toBe(true);
    expect(await reaches("10.60.0.1", "198.51.100.2")).toBe(false);
    expect(await reaches("10.60.0.2", "198.51.100.2")).toBe(true);
    expect(await reaches("10.60.0.2", "198.51.100.1")).toBe(false);

    // In place: .1 now looks up table 200 (the other path), then is made unreachable.
    const swapped = { ...viaA, table: "200" };
    expect(await rule.diff!(a.id, a.outs, swapped)).toMatchObject({ changes: true, replaces: [] });
    const u1 = await rule.update!(a.id, a.outs, swapped);
    expect(await reaches("10.60.0.1", "198.51.100.2")).toBe(true);
    expect(await reaches("10.60.0.1", "198.51.100.1")).toBe(false);
    const closed = (await rule.check!({}, { from: "10.60.0.1", action: "unreachable", priority: 1000 })).inputs!;
    const u2 = await rule.update!(a.id, u1.outs!, closed);
    expect(await ip("rule", "show", "priority", "1000")).toMatch(/^1000:\s+from 10\.60\.0\.1 unreachable proto 212\s*$/);
    const u3 = await rule.update!(a.id, u2.outs!, viaA);
    expect(await reaches("10.60.0.1", "198.51.100.1")).toBe(true);

    // Drift: someone points our rule at table 200 by hand; read shows it, update repairs it.
    await ip("rule", "del", "from", "10.60.0.1", "priority", "1000", "protocol", "212");
    await ip("rule", "add", "from", "10.60.0.1", "lookup", "200", "priority", "1000", "protocol", "212");
    const drifted = await rule.read!(a.id, u3.outs!);
    expect(drifted.props).toMatchObject({ table: "200", tableId: "200" });
    expect((await rule.diff!(a.id, drifted.props!, viaA)).changes).toBe(true);
    const repaired = await rule.update!(a.id, drifted.props!, viaA);
    expect(await reaches("10.60.0.1", "198.51.100.1")).toBe(true);
    expect((await rules()).filter((r) => r.priority === 1000)).toHaveLength(1);
    expect((await rule.diff!(a.id, (await rule.read!(a.id, repaired.outs!)).props!, viaA)).changes).toBe(false);

    // A new source or priority is another rule: replaced, the new one made first.
    expect(await rule.diff!(a.id, repaired.outs!, { ...viaA, from: "10.60.0.3/32" })).toMatchObject({ replaces: ["from"], deleteBeforeReplace: false });

    await rule.delete!(a.id, repaired.outs!);
    await rule.delete!(b.id, b.outs);
    expect(await reaches("10.60.0.1", "198.51.100.1")).toBe(false);
    await rule.delete!(a.id, repaired.outs!); // already gone is success
    expect((await rule.read!(a.id, repaired.outs!)).id).toBe("");
  });

  test("fwmark with mask, iif, IPv6, table by name; read back without drift", async () => {
    const { rule } = providers();
    const marked = (await rule.check!({}, { fwmark: 16, fwmask: 255, iif: "lo", table: 100, priority: 1200 })).inputs!;
    const six = (await rule.check!({}, { from: "fd00:60::/64", to: "fd00:70::/64", table: "main", priority: 1300 })).inputs!;
    expect(six).toMatchObject({ family: "ipv6", to: "fd00:70::/64" });
    const m = await rule.create(marked);
    const s = await rule.create(six);
    expect(await ip("rule", "show", "priority", "1200")).toContain("from all fwmark 0x10/0xff iif lo lookup 100 proto 212");
    expect(await ip("-6", "rule", "show", "priority", "1300")).toContain("from fd00:60::/64 to fd00:70::/64 lookup main proto 212");
    expect(s.outs).toMatchObject({ table: "main", tableId: "254" });
    for (const [c, inputs] of [[m, marked], [s, six]] as const) {
      const read = await rule.read!(c.id, c.outs);
      expect(read.id).toBe(c.id);
      expect((await rule.diff!(c.id, read.props!, inputs)).changes).toBe(false);
      await rule.delete!(c.id, c.outs);
    }
    expect((await rules("-6")).some((r) => r.priority === 1300)).toBe(false);
  });

  test("a rule not ours with the same selector and priority is refused and never touched; an unknown table name fails with ip's words", async () => {
    const { rule } = providers();
    await ip("rule", "add", "from", "10.60.0.3", "lookup", "100", "priority", "3000");
    const inputs = (await rule.check!({}, { from: "10.60.0.3", table: 100, priority: 3000 })).inputs!;
    await expect(rule.create(inputs)).rejects.toThrow(/rule from 10\.60\.0\.3\/32 priority 3000 \(ipv4\) in the host netns already exists \(proto unspec\) and was not created by pulumi-hostnet/);
    // Deleting "ours" (never made) leaves theirs: delete matches protocol 212 only.
    await rule.delete!("rule/x", { ...inputs, tableId: "100", protocol: "212" });
    expect(await ip("rule", "show", "priority", "3000")).toContain("from 10.60.0.3 lookup 100");
    await ip("rule", "del", "from", "10.60.0.3", "lookup", "100", "priority", "3000");

    const named = (await rule.check!({}, { from: "10.60.0.4", table: "no-such-table", priority: 3001 })).inputs!;
    await expect(rule.create(named)).rejects.toThrow(/lookup no-such-table protocol 212: .*invalid table ID/);
  });

  test("blackhole, unreachable and prohibit rules (printed by iproute2 as numbers 6, 7, 8) read back without drift, and gc lists them as ours", async () => {
    const { rule } = providers();
    // A netns tagged as a stack's own (its lo's alias), as a Namespace resource leaves it.
    await ip("netns", "add", "rules-ns");
    await ip("-n", "rules-ns", "link", "set", "lo", "alias", "hostnet:rules-it/test/rules-ns");
    const made = [];
    for (const [i, action] of (["blackhole", "unreachable", "prohibit"] as const).entries()) {
      for (const from of [`10.61.${i}.0/24`, `fd00:61:${i + 1}::/64`]) {
        const inputs = (await rule.check!({}, { namespace: "rules-ns", from, action, priority: 4000 + i })).inputs!;
        made.push({ inputs, created: await rule.create(inputs) });
      }
    }
    // What iproute2 prints for them with -N: the action's number, which read must take as its name.
    const printed = JSON.parse(await ip("-n", "rules-ns", "-N", "-4", "-j", "rule", "show", "priority", "4000")) as Array<Record<string, unknown>>;
    expect(printed[0]).toMatchObject({ action: "6", protocol: "212" });
    for (const { inputs, created } of made) {
      const read = await rule.read!(created.id, created.outs);
      expect(read.props).toMatchObject({ action: inputs.action });
      expect((await rule.diff!(created.id, read.props!, inputs)).changes).toBe(false);
    }
    // With the netns's resource gone from the state, gc names each rule (and the netns) as an orphan.
    const { orphans } = await findOrphans(ctx.sandbox.runner, { tagPrefix: "hostnet:rules-it/test/", held: { tags: new Set(), ids: new Set(), resources: 0 } });
    const rulesFound = orphans.filter((o) => o.kind === "rule").map((o) => o.what).sort();
    expect(rulesFound).toEqual([
      "rule ipv4 from 10.61.0.0/24 priority 4000 blackhole (netns rules-ns)",
      "rule ipv4 from 10.61.1.0/24 priority 4001 unreachable (netns rules-ns)",
      "rule ipv4 from 10.61.2.0/24 priority 4002 prohibit (netns rules-ns)",
      "rule ipv6 from fd00:61:1::/64 priority 4000 blackhole (netns rules-ns)",
      "rule ipv6 from fd00:61:2::/64 priority 4001 unreachable (netns rules-ns)",
      "rule ipv6 from fd00:61:3::/64 priority 4002 prohibit (netns rules-ns)",
    ].sort());
    expect(await removeOrphans(orphans.filter((o) => o.kind === "rule"), () => undefined)).toEqual([]);
    expect((await ip("-n", "rules-ns", "rule", "show")).match(/proto 212/g)).toBeNull();
    await ip("netns", "delete", "rules-ns");
  });

  test("the sandbox is left as it was once the test's own uplinks are gone", async () => {
    for (const side of ["a", "b"]) {
      await ip("netns", "delete", `out-${side}`);
    }
    await ip("addr", "del", "10.60.0.1/32", "dev", "lo");
    await ip("addr", "del", "10.60.0.2/32", "dev", "lo");
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
