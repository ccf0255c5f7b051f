// Issue 20 part 6 (b): refresh compares the rules' contents, not their count, with both
// backends on the real kernel: every rule kind we write reads back equal to its plan, and a
// rule edited by hand (same count) is drift that `update` repairs.
import type * as pulumi from "@pulumi/pulumi";
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

const TAG = "hostnet:itest/dev/rc";

describeAsRoot("refresh compares firewall rules by content", () => {
  const ctx = useSandbox();

  async function checked(provider: pulumi.dynamic.ResourceProvider, news: Record<string, unknown>): Promise<Record<string, unknown>> {
    const result = await provider.check!({}, news);
    expect(result.failures ?? []).toEqual([]);
    return result.inputs!;
  }

  /** Every rule kind the providers write: NAT rules and port forwards, both families, ranges and addresses. */
  const nat = [
    { type: "masquerade", source: "10.61.0.0/24", excludeDestination: "10.61.0.0/24", outInterface: "eth9" },
    { type: "snat", source: "fd61::/64", toSource: "fd61::1", protocol: "udp", destinationPort: "5000-5010" },
    { type: "dnat", destination: "10.61.1.1", inInterface: "eth9", protocol: "tcp", destinationPort: 8443, toDestination: "10.61.0.5", toPort: 443 },
  ];
  const forwards = [
    { protocol: "tcp", hostPort: 18080, target: "10.61.0.2", targetPort: 80 },
    { protocol: "udp", hostPort: "19000-19002", hostAddress: "10.61.1.1", target: "10.61.0.3" },
    // Spelled unlike the kernel prints it: compared in one spelling.
    { protocol: "tcp", hostPort: 18443, target: "fd61:0:0::2", targetPort: 443 },
  ];

  for (const backend of ["nftables", "iptables"] as const) {
    test(`${backend}: every rule reads back equal to its plan; an edited port is drift, and update repairs it`, async () => {
      if (backend === "iptables") await ctx.sandbox.run(["iptables-restore"], { stdin: "*nat\nCOMMIT\n*filter\nCOMMIT\n" });
      if (backend === "iptables") await ctx.sandbox.run(["ip6tables-restore"], { stdin: "*nat\nCOMMIT\n*filter\nCOMMIT\n" });
      const providers = makeProviders(ctx.sandbox.runner);
      const made: { kind: "natrule" | "portforward"; id: string; outs: Record<string, unknown> }[] = [];
      for (const [i, n] of nat.entries()) {
        const created = await providers.natrule.create(await checked(providers.natrule, { ...n, firewallBackend: backend, tag: `${TAG}/nat${i}` }));
        made.push({ kind: "natrule", id: created.id, outs: created.outs });
      }
      for (const [i, f] of forwards.entries()) {
        const created = await providers.portforward.create(await checked(providers.portforward, { ...f, firewallBackend: backend, tag: `${TAG}/fwd${i}` }));
        made.push({ kind: "portforward", id: created.id, outs: created.outs });
      }
      // Refresh right after create: the same rules, no drift, no change to make.
      for (const { kind, id, outs } of made) {
        const read = await providers[kind].read!(id, outs);
        expect({ tag: outs.tag, ruleCount: read.props?.ruleCount, rulesDrifted: read.props?.rulesDrifted }).toEqual({ tag: outs.tag, ruleCount: outs.ruleCount, rulesDrifted: undefined });
        expect((await providers[kind].diff!(id, read.props!, outs)).changes).toBe(false);
      }

      // A NAT rule's stored inputs that the kernel's rules do not match (the dnat's toPort and
      // its forward accept) read as drift: NatRule plans from its inputs too.
      const dnat = made.find((m) => m.kind === "natrule" && m.outs.type === "dnat")!;
      expect((await providers.natrule.read!(dnat.id, { ...dnat.outs, toPort: 444 })).props?.rulesDrifted).toBe(4);

      // The first forward's prerouting DNAT edited by hand: another host port, same count.
      const first = made.find((m) => m.kind === "portforward")!;
      if (backend === "nftables") {
        const listing = await ctx.sandbox.run(["nft", "-a", "list", "chain", "ip", "hostnet", "prerouting"]);
        const handle = /tcp dport 18080 dnat to 10\.61\.0\.2:80 comment "[^"]+" # handle (\d+)/.exec(listing)?.[1];
        expect(handle).toBeDefined();
        await ctx.sandbox.run(["nft", "replace", "rule", "ip", "hostnet", "prerouting", "handle", handle!, "fib", "daddr", "type", "local", "tcp", "dport", "18081", "dnat", "to", "10.61.0.2:80", "comment", `"${String(first.outs.tag)}"`]);
      } else {
        const lines = (await ctx.sandbox.run(["iptables", "-w", "-t", "nat", "-S", "HOSTNET-PREROUTING"])).split("\n");
        const index = lines.filter((l) => l.startsWith("-A ")).findIndex((l) => l.includes("--dport 18080"));
        expect(index).toBeGreaterThanOrEqual(0);
        await ctx.sandbox.run(["iptables", "-w", "-t", "nat", "-R", "HOSTNET-PREROUTING", String(index + 1), "-p", "tcp", "-m", "tcp", "--dport", "18081", "-m", "addrtype", "--dst-type", "LOCAL", "-m", "comment", "--comment", String(first.outs.tag), "-j", "DNAT", "--to-destination", "10.61.0.2:80"]);
      }
      const drifted = await providers.portforward.read!(first.id, first.outs);
      // One rule missing (18080) and one not planned (18081): the count alone would not see it.
      expect(drifted.props).toMatchObject({ ruleCount: first.outs.ruleCount, rulesDrifted: 2 });
      expect((await providers.portforward.diff!(first.id, drifted.props!, first.outs)).changes).toBe(true);
      const repaired = await providers.portforward.update!(first.id, drifted.props!, first.outs);
      const again = await providers.portforward.read!(first.id, repaired.outs!);
      expect(again.props?.rulesDrifted).toBeUndefined();
      expect((await providers.portforward.diff!(first.id, again.props!, first.outs)).changes).toBe(false);
      const listed = backend === "nftables" ? await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"]) : await ctx.sandbox.run(["iptables-save", "-t", "nat"]);
      expect(listed).toContain(backend === "nftables" ? "dport 18080" : "--dport 18080");
      expect(listed).not.toContain("18081");

      for (const { kind, id, outs } of made.reverse()) await providers[kind].delete!(id, kind === "portforward" && id === first.id ? repaired.outs! : outs);
      if (backend === "iptables") {
        expect(await ctx.sandbox.run(["iptables-save"])).not.toContain("HOSTNET");
        for (const family of ["ip", "ip6"]) for (const table of ["nat", "filter"]) await ctx.sandbox.run(["nft", "delete", "table", family, table]);
      }
      expect(await ctx.sandbox.run(["nft", "list", "ruleset"])).not.toContain("hostnet");
    });
  }
});
