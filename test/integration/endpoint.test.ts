// The BridgeEndpoint provider and the merged ip batches against the real kernel, inside a
// sandbox, without the engine.
import type * as pulumi from "@pulumi/pulumi";
import type { Command, CommandResult, Runner } from "../../provider/exec";
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/ep";

class CountingRunner implements Runner {
  readonly argvs: string[] = [];
  constructor(private readonly inner: Runner) {}
  run(command: Command): Promise<CommandResult> {
    this.argvs.push(command.argv.join(" "));
    return this.inner.run(command);
  }
}

describeAsRoot("bridge endpoint provider on the kernel", () => {
  const ctx = useSandbox();
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  const exists = (...args: string[]) => ctx.sandbox.succeeds(["ip", ...args]);
  let bridgeMade = false;

  async function withBridge(): Promise<void> {
    if (bridgeMade) return;
    await ip("link", "add", "br-ep", "type", "bridge");
    await ip("addr", "add", "10.77.0.1/24", "dev", "br-ep");
    await ip("link", "set", "br-ep", "up");
    bridgeMade = true;
  }

  async function checked(provider: pulumi.dynamic.ResourceProvider, news: Record<string, unknown>): Promise<Record<string, unknown>> {
    const result = await provider.check!({}, news);
    expect(result.failures ?? []).toEqual([]);
    return result.inputs!;
  }

  const declared = (n: number, extra: Record<string, unknown> = {}) => ({ namespace: `ep${n}`, bridge: "br-ep", hostInterface: `vh-ep${n}`, address: `10.77.0.${n + 10}/24`, gateway: "10.77.0.1", tag: `${TAG}${n}`, ...extra });

  test("create makes the netns, the pair on the bridge, the address, lo and the default route; packets flow", async () => {
    await withBridge();
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const created = await endpoint.create(await checked(endpoint, declared(1)));
    expect(created.id).toBe("endpoint/-/vh-ep1");
    expect(created.outs).toMatchObject({ namespace: "ep1", address: "10.77.0.11/24", hostUp: true, containerUp: true, loopbackUp: true, strayAddresses: [], path: "/run/netns/ep1" });
    expect(await ip("-d", "link", "show", "vh-ep1")).toMatch(/master br-ep[\s\S]*alias hostnet:itest\/dev\/ep1/);
    expect(await ip("-n", "ep1", "route", "show", "default")).toContain("default via 10.77.0.1 dev eth0 proto 212");
    expect(await ip("-n", "ep1", "-d", "link", "show", "lo")).toContain("alias hostnet:itest/dev/ep1");
    expect(await ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", "10.77.0.1"], { netns: "ep1" })).toBe(true);

    // Refresh sees what is there; the declared state shows no change.
    const read = await endpoint.read!(created.id, created.outs);
    expect(read.id).toBe(created.id);
    expect((await endpoint.diff!(created.id, read.props!, await checked(endpoint, declared(1)))).changes).toBe(false);
  });

  test("drift by hand is seen by read and repaired by update; address and gateway change in place", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const inputs = await checked(endpoint, declared(1));
    await ip("-n", "ep1", "link", "set", "eth0", "down");
    await ip("-n", "ep1", "addr", "add", "10.77.0.99/24", "dev", "eth0");
    await ip("link", "set", "vh-ep1", "nomaster");
    const read = await endpoint.read!("endpoint/-/vh-ep1", { ...inputs, path: "/run/netns/ep1" });
    expect(read.props).toMatchObject({ bridge: "", containerUp: false, strayAddresses: ["10.77.0.99/24"] });
    expect((await endpoint.diff!("endpoint/-/vh-ep1", read.props!, inputs)).changes).toBe(true);
    await endpoint.update!("endpoint/-/vh-ep1", read.props!, inputs);
    expect(await ip("-n", "ep1", "addr", "show", "eth0")).not.toContain("10.77.0.99");
    expect(await ip("link", "show", "vh-ep1")).toContain("master br-ep");

    const moved = await checked(endpoint, declared(1, { address: "10.77.0.21/24", gateway: undefined }));
    const diff = await endpoint.diff!("endpoint/-/vh-ep1", read.props!, moved);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    await endpoint.update!("endpoint/-/vh-ep1", read.props!, moved);
    expect(await ip("-n", "ep1", "addr", "show", "eth0")).toContain("10.77.0.21/24");
    expect(await ip("-n", "ep1", "route", "show", "default")).toBe("");
    // Names change by replacement.
    expect((await endpoint.diff!("endpoint/-/vh-ep1", read.props!, { ...moved, namespace: "ep9" })).replaces).toEqual(["namespace"]);
  });

  test("a leftover of its own is taken over; someone else's namespace or link is refused, then adopted on request", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    // The engine lost track of ep1 (killed mid-create): the next create converges on it.
    const again = await endpoint.create(await checked(endpoint, declared(1)));
    expect(again.outs).toMatchObject({ address: "10.77.0.11/24", hostUp: true });

    await ip("netns", "add", "ep2");
    await expect(endpoint.create(await checked(endpoint, declared(2)))).rejects.toThrow(/network namespace ep2 already exists and it was not created by pulumi-hostnet.*adopt: true/);
    expect(await exists("link", "show", "vh-ep2")).toBe(false);
    const adopted = await endpoint.create(await checked(endpoint, declared(2, { adopt: true })));
    expect(await ip("-n", "ep2", "addr", "show", "eth0")).toContain("10.77.0.12/24");

    await ip("link", "add", "vh-ep3", "type", "bridge");
    await expect(endpoint.create(await checked(endpoint, declared(3)))).rejects.toThrow(/link vh-ep3 in the host netns already exists and it was not created by pulumi-hostnet/);
    // The namespace it made before it found the link taken is gone again.
    expect(await exists("netns", "pids", "ep3")).toBe(false);
    expect(await ip("netns", "list")).not.toContain("ep3");
    await ip("link", "delete", "vh-ep3");

    await endpoint.delete!(adopted.id, adopted.outs);
    expect(await ip("netns", "list")).not.toContain("ep2");
  });

  test("a failure half-way through create removes what it made and names the failing command", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    await expect(endpoint.create(await checked(endpoint, declared(4, { bridge: "br-nope" })))).rejects.toThrow(/ip link set dev vh-ep4 master br-nope .*: .*(Cannot find device|does not exist)/);
    expect(await exists("link", "show", "vh-ep4")).toBe(false);
    expect(await ip("netns", "list")).not.toContain("ep4");
  });

  test("twenty concurrent creates share the host's batches: fewer processes than endpoints, all correct", async () => {
    const runner = new CountingRunner(ctx.sandbox.runner);
    const { endpoint } = makeProviders(runner);
    const many = Array.from({ length: 20 }, (_, i) => 30 + i);
    const inputs = await Promise.all(many.map((n) => checked(endpoint, declared(n))));
    const created = await Promise.all(inputs.map((i) => endpoint.create(i)));
    const hostBatches = runner.argvs.filter((a) => a.startsWith("ip -json -details -batch")).length;
    const inside = runner.argvs.filter((a) => a.includes(" -n ep")).length;
    // One batch per container netns, and the host's work for 20 endpoints in a few processes.
    expect(inside).toBe(20);
    expect(hostBatches).toBeLessThanOrEqual(4);
    for (const n of many) expect(await ip("-n", `ep${n}`, "addr", "show", "eth0")).toContain(`10.77.0.${n + 10}/24`);
    await Promise.all(created.map((c) => endpoint.delete!(c.id, c.outs)));
    expect(await ip("netns", "list")).not.toMatch(/ep3\d|ep4\d/);
  });

  test("port forwards: rules under the endpoint's tag; flushed ones and a netns deleted by hand are repaired by update; delete removes them", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const rules = async () => ((await ctx.sandbox.run(["nft", "list", "ruleset"])).match(/hostnet:itest\/dev\/ep6/g) ?? []).length;
    const inputs = await checked(endpoint, declared(6, { ports: [{ hostPort: 8086, targetPort: 80 }, { protocol: "udp", hostPort: "9000-9001" }] }));
    const created = await endpoint.create(inputs);
    // Per port: prerouting and output DNAT, masquerade of 127.0.0.0/8 and of the subnet (hairpin), forward accept.
    expect(created.outs).toMatchObject({ backend: "nftables", ruleCount: 10 });
    expect(await rules()).toBe(10);
    expect(await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).toMatch(/ip saddr 10\.77\.0\.0\/24 ip daddr 10\.77\.0\.16 tcp dport 80 .*masquerade/);

    await ctx.sandbox.run(["nft", "flush", "table", "ip", "hostnet"]);
    const flushed = await endpoint.read!(created.id, created.outs);
    expect(flushed.props).toMatchObject({ ruleCount: 0, present: true });
    expect((await endpoint.diff!(created.id, flushed.props!, inputs)).changes).toBe(true);
    const repaired = await endpoint.update!(created.id, flushed.props!, inputs);
    expect(await rules()).toBe(10);

    // The netns deleted by hand takes the pair with it; the rules stay, so the endpoint stays.
    await ip("netns", "delete", "ep6");
    const orphaned = await endpoint.read!(created.id, repaired.outs!);
    expect(orphaned.id).toBe(created.id);
    expect(orphaned.props).toMatchObject({ present: false, ruleCount: 10 });
    expect((await endpoint.diff!(created.id, orphaned.props!, inputs)).changes).toBe(true);
    const remade = await endpoint.update!(created.id, orphaned.props!, inputs);
    expect(await ip("-n", "ep6", "addr", "show", "eth0")).toContain("10.77.0.16/24");

    // Ports changed in place.
    const fewer = await checked(endpoint, declared(6, { ports: [{ hostPort: 8087 }] }));
    expect((await endpoint.diff!(created.id, remade.outs!, fewer)).replaces).toEqual([]);
    const moved = await endpoint.update!(created.id, remade.outs!, fewer);
    expect(await rules()).toBe(5);
    expect(await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).not.toContain("8086");

    // The netns deleted by hand again, and the forwards dropped from the program in the same up.
    await ip("netns", "delete", "ep6");
    const orphanedAgain = await endpoint.read!(created.id, moved.outs!);
    const none = await checked(endpoint, declared(6));
    const remadeBare = await endpoint.update!(created.id, orphanedAgain.props!, none);
    expect(await rules()).toBe(0);
    expect(await ip("-n", "ep6", "addr", "show", "eth0")).toContain("10.77.0.16/24");

    await endpoint.delete!(created.id, remadeBare.outs!);
    expect(await rules()).toBe(0);
    expect(await ip("netns", "list")).not.toContain("ep6");
  });

  test("port forwards through the iptables backend: our chains, the endpoint's tag, removed on delete", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const saved = async () => ((await ctx.sandbox.run(["iptables-save", "-t", "nat"])).match(/hostnet:itest\/dev\/ep7/g) ?? []).length;
    // A host that uses iptables has its nat and filter tables already; this sandbox gets them
    // here and loses them at the end (iptables makes them on first use and never removes them).
    await ctx.sandbox.run(["iptables-restore"], { stdin: "*nat\nCOMMIT\n*filter\nCOMMIT\n" });
    const created = await endpoint.create(await checked(endpoint, declared(7, { ports: [{ hostPort: 8087, targetPort: 80 }], firewallBackend: "iptables" })));
    expect(created.outs).toMatchObject({ backend: "iptables", ruleCount: 5 });
    // prerouting and output DNAT, two masquerades; the forward accept is in the filter table.
    expect(await saved()).toBe(4);
    expect((await endpoint.read!(created.id, created.outs)).props).toMatchObject({ ruleCount: 5, present: true });
    await endpoint.delete!(created.id, created.outs);
    expect(await saved()).toBe(0);
    expect(await ip("netns", "list")).not.toContain("ep7");
    // Only the empty tables the test brought are left: our chains went with the delete.
    expect(await ctx.sandbox.run(["iptables-save"])).not.toContain("HOSTNET");
    await ctx.sandbox.run(["nft", "delete", "table", "ip", "nat"]);
    await ctx.sandbox.run(["nft", "delete", "table", "ip", "filter"]);
  });

  test("delete is safe: gone is success, and what lost our mark stays", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const created = await endpoint.create(await checked(endpoint, declared(5)));
    await endpoint.delete!(created.id, created.outs);
    await endpoint.delete!(created.id, created.outs);
    const remade = await endpoint.create(await checked(endpoint, declared(5)));
    await ip("link", "set", "vh-ep5", "alias", "someone-else");
    await ip("-n", "ep5", "link", "set", "lo", "alias", "someone-else");
    await endpoint.delete!(remade.id, remade.outs);
    expect(await exists("link", "show", "vh-ep5")).toBe(true);
    expect(await ip("netns", "list")).toContain("ep5");
    await ip("netns", "delete", "ep5");

    const one = await endpoint.read!("endpoint/-/vh-ep1", (await endpoint.create(await checked(endpoint, declared(1)))).outs);
    await endpoint.delete!("endpoint/-/vh-ep1", one.props!);
    if (bridgeMade) await ip("link", "delete", "br-ep");
    expect(await ip("netns", "list")).toBe("");
  });
});
