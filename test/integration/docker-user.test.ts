// Issue 20 part 5 on the kernel, without the CLI: beside Docker 28's ruleset
// (test/support/lived-in.ts), a network's NetworkIsolation plans its DOCKER-USER rules at
// check, inserts them above Docker's (and the admin's) at create, counts them at refresh, and
// its delete leaves Docker's rules byte for byte as they were, with either backend.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";
import { makeLivedInHost, type LivedInHost } from "../support/lived-in";

describeAsRoot("a network's rules in Docker's DOCKER-USER, on the kernel", () => {
  const ctx = useSandbox();
  let host: LivedInHost;

  beforeAll(async () => {
    host = await makeLivedInHost(ctx);
    // An administrator's own rule there stays below ours and untouched.
    await ctx.sandbox.run(["iptables", "-w", "-A", "DOCKER-USER", "-s", "192.0.2.0/24", "-j", "DROP"]);
  });

  test.each(["nftables", "iptables"] as const)("%s: planned at check, inserted on top at create, counted at refresh, gone at delete", async (backend) => {
    const before = await host.dockerRules();
    const { isolation } = makeProviders(ctx.sandbox.runner);
    const tag = `hostnet:p/s/n-${backend}`;
    const checked = await isolation.check!({}, { bridge: "br-n", gatewayMode: "nat", firewallBackend: backend, tag });
    expect(checked.failures).toBeUndefined();
    const plan = (checked.inputs as { dockerUser?: { backend: string; rules: string[] } }).dockerUser;
    expect(plan?.backend).toBe(backend);
    expect(plan?.rules).toHaveLength(backend === "nftables" ? 3 : 5);
    const created = await isolation.create(checked.inputs!);
    const lines = (await ctx.sandbox.run(["iptables", "-w", "-S", "DOCKER-USER"])).trim().split("\n");
    // -N, then ours in order, then the admin's.
    expect(lines.slice(1, -1).map((l) => l.replace(/^-A /, "-I "))).toEqual(plan?.rules);
    expect(lines.at(-1)).toBe("-A DOCKER-USER -s 192.0.2.0/24 -j DROP");
    const read = await isolation.read!(created.id, created.outs);
    expect(read.props?.ruleCount).toBe(created.outs.ruleCount);
    await isolation.delete!(created.id, created.outs);
    expect(await host.dockerRules()).toBe(before);
    if (backend === "nftables") expect(await ctx.sandbox.succeeds(["nft", "list", "table", "ip", "hostnet"])).toBe(false);
  });

  test("no Docker but FORWARD policy DROP (an administrator, firewalld's iptables backend): refused at check for nftables, named; iptables passes", async () => {
    await ctx.sandbox.run(["nft", "flush", "ruleset"]);
    await ctx.sandbox.run(["iptables-restore"], { stdin: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" });
    const { isolation } = makeProviders(ctx.sandbox.runner);
    const nft = await isolation.check!({}, { bridge: "br-n", gatewayMode: "nat", firewallBackend: "nftables", tag: "hostnet:p/s/n" });
    expect(nft.failures).toEqual([{ property: "bridge", reason: expect.stringMatching(/^the iptables filter FORWARD policy is DROP on this host and there is no DOCKER-USER chain \(no Docker\): the forwarded traffic of bridge br-n would be dropped/) }]);
    expect(nft.failures?.[0]?.reason).not.toMatch(/\n\s+at /);
    const ipt = await isolation.check!({}, { bridge: "br-n", gatewayMode: "nat", firewallBackend: "iptables", tag: "hostnet:p/s/n" });
    expect(ipt.failures).toBeUndefined();
    expect((ipt.inputs as { dockerUser?: unknown }).dockerUser).toBeUndefined();
  });
});
