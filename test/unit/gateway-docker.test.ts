// Issue 20 parts 4 and 5, rendered for both backends without a kernel: the NAT gateway mode's
// drop of direct routing, and the rules a network keeps in Docker's DOCKER-USER chain.
import { firewall } from "../../provider/kernel";
import { isolationRules, makeProviders } from "../../provider/resources";
import { CommandError, FakeRunner } from "../../provider/exec";

const TAG = "hostnet:p/s/net";

function render(set: firewall.TaggedRules) {
  return {
    nft: set.rules.map((r) => `${r.chain}: ${firewall.nftRuleExpression(set.family, r, set.tag)}`),
    iptables: set.rules.map((r) => `${r.chain}: ${firewall.iptablesRuleArgs(set.family, r, set.tag).join(" ")}`),
  };
}

const noChain = new CommandError(["iptables"], 1, "iptables: No chain/target/match by that name.");

describe("NAT gateway mode", () => {
  test("nat: new, not destination-NATed connections from any other interface meet the network's stage two", () => {
    const set = isolationRules({ bridge: "br-b", allowFrom: ["br-a"], gatewayMode: "nat", firewallBackend: "auto", tag: TAG });
    expect(render(set)).toEqual({
      nft: [
        'isolation: iifname "br-b" oifname != "br-b" ct status ! dnat ct state ! established,related jump isolation_targets comment "hostnet:p/s/net"',
        'isolation: iifname != "br-b" oifname "br-b" ct status ! dnat ct state ! established,related jump isolation_targets comment "hostnet:p/s/net"',
        'isolation_targets: iifname "br-a" oifname "br-b" return comment "hostnet:p/s/net"',
        'isolation_targets: oifname "br-b" drop comment "hostnet:p/s/net"',
      ],
      iptables: [
        'isolation: -i br-b ! -o br-b -m conntrack ! --ctstate DNAT -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "hostnet:p/s/net" -j HOSTNET-ISOLATION-TARGETS',
        'isolation: ! -i br-b -o br-b -m conntrack ! --ctstate DNAT -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "hostnet:p/s/net" -j HOSTNET-ISOLATION-TARGETS',
        'isolation_targets: -i br-a -o br-b -m comment --comment "hostnet:p/s/net" -j RETURN',
        'isolation_targets: -o br-b -m comment --comment "hostnet:p/s/net" -j DROP',
      ],
    });
  });

  test("routed (and unset, an isolation made before gateway modes) has no such rule; nat without isolate keeps only it", () => {
    const routed = isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: "routed", firewallBackend: "auto", tag: TAG });
    const unset = isolationRules({ bridge: "br-b", allowFrom: [], firewallBackend: "auto", tag: TAG });
    expect(routed.rules).toEqual(unset.rules);
    expect(render(routed).nft.some((r) => r.includes('iifname != "br-b"'))).toBe(false);
    const natOnly = isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: "nat", isolate: false, firewallBackend: "auto", tag: TAG });
    expect(render(natOnly).nft).toEqual([
      'isolation: iifname != "br-b" oifname "br-b" ct status ! dnat ct state ! established,related jump isolation_targets comment "hostnet:p/s/net"',
      'isolation_targets: oifname "br-b" drop comment "hostnet:p/s/net"',
    ]);
  });

  test("IPv6 renders the same rules in the ip6 table", () => {
    const set = isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: "nat", family: "ipv6", firewallBackend: "auto", tag: TAG });
    expect(set.family).toBe("ipv6");
    expect(render(set).nft[1]).toBe('isolation: iifname != "br-b" oifname "br-b" ct status ! dnat ct state ! established,related jump isolation_targets comment "hostnet:p/s/net"');
  });
});

describe("Docker's DOCKER-USER", () => {
  const dockerUser = (backend: "nftables" | "iptables", mode: "nat" | "routed") =>
    isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: mode, firewallBackend: "auto", tag: TAG, dockerUser: { backend, rules: [] } }).rules.filter((r) => r.chain === "docker_user");

  test("nftables: accepts replies and published ports into the bridge, everything out of it; routed: everything in", () => {
    const args = (rules: firewall.FirewallRule[]) => rules.map((r) => firewall.iptablesRuleArgs("ipv4", r, TAG).join(" "));
    expect(args(dockerUser("nftables", "nat"))).toEqual([
      '-o br-b -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      '-o br-b -m conntrack --ctstate DNAT -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      '-i br-b -m comment --comment "hostnet:p/s/net" -j ACCEPT',
    ]);
    expect(args(dockerUser("nftables", "routed"))[1]).toBe('-o br-b -m comment --comment "hostnet:p/s/net" -j ACCEPT');
  });

  test("iptables: our isolation runs before the accepts, wherever Docker's restart put its jumps", () => {
    const args = dockerUser("iptables", "nat").map((r) => firewall.iptablesRuleArgs("ipv4", r, TAG).join(" "));
    expect(args.slice(0, 2)).toEqual(['-o br-b -m comment --comment "hostnet:p/s/net" -j HOSTNET-ISOLATION', '-i br-b -m comment --comment "hostnet:p/s/net" -j HOSTNET-ISOLATION']);
    expect(args).toHaveLength(5);
  });

  test("the script deletes only this tag's lines and inserts the new ones at the top, in order", () => {
    const existing = [
      '-A DOCKER-USER -i br-b -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      '-A DOCKER-USER -i br-x -m comment --comment "hostnet:p/s/other" -j ACCEPT',
      "-A DOCKER-USER -s 192.0.2.0/24 -j DROP",
      "-A DOCKER-USER -j RETURN",
    ];
    const set = isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: "nat", firewallBackend: "auto", tag: TAG, dockerUser: { backend: "nftables", rules: [] } });
    expect(firewall.dockerUserScript(existing, [set])).toEqual([
      "*filter",
      '-D DOCKER-USER -i br-b -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      '-I DOCKER-USER 1 -o br-b -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      '-I DOCKER-USER 2 -o br-b -m conntrack --ctstate DNAT -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      '-I DOCKER-USER 3 -i br-b -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      "COMMIT",
    ]);
    expect(firewall.dockerUserScript(existing.slice(1), [{ tag: TAG, family: "ipv4", rules: [] }])).toEqual([]);
  });

  test("the nftables backend writes its own table, then DOCKER-USER; removing them all reads DOCKER-USER only when told to", async () => {
    const runner = new FakeRunner().on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    const set = isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: "nat", firewallBackend: "auto", tag: TAG, dockerUser: { backend: "nftables", rules: [] } });
    await new firewall.NftBackend(runner).replace("h", set);
    expect(runner.lines.map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual(["[h] nft -j", "[h] nft -f", "[h] iptables -w", "[h] iptables-restore -w"]);
    expect(runner.calls[3]?.argv).toEqual(["iptables-restore", "-w", "--noflush"]);
    expect(runner.calls[3]?.stdin?.match(/^-I DOCKER-USER/gm)).toHaveLength(3);
    expect(runner.calls[1]?.stdin).not.toContain("docker_user");
    const plain = new FakeRunner().on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    await new firewall.NftBackend(plain).replace("h", { tag: TAG, family: "ipv4", rules: [] });
    expect(plain.lines.some((l) => l.includes("iptables"))).toBe(false);
  });

  test("the iptables backend inserts into DOCKER-USER in the filter table's transaction and never makes or removes that chain", async () => {
    const runner = new FakeRunner()
      .on(["iptables", "-w", "-t", "filter", "-C"], new CommandError(["iptables"], 1, "iptables: Bad rule (does a matching rule exist in that chain?)."))
      .on(["iptables", "-w", "-t", "nat", "-C"], new CommandError(["iptables"], 1, "iptables: Bad rule (does a matching rule exist in that chain?)."));
    const set = isolationRules({ bridge: "br-b", allowFrom: [], gatewayMode: "nat", firewallBackend: "auto", tag: TAG, dockerUser: { backend: "iptables", rules: [] } });
    await new firewall.IptablesBackend(runner).replace(undefined, set);
    expect(runner.lines.some((l) => / -[NX] DOCKER-USER/.test(l))).toBe(false);
    const filter = runner.calls.find((c) => c.stdin?.startsWith("*filter"))?.stdin ?? "";
    expect(filter).toContain('-I DOCKER-USER 1 -o br-b -m comment --comment "hostnet:p/s/net" -j HOSTNET-ISOLATION');
    expect(filter.indexOf("-A HOSTNET-ISOLATION ")).toBeLessThan(filter.indexOf("-I DOCKER-USER 1"));
  });

  test("check: Docker's chain present shows the rules to be added; absent, nothing", async () => {
    const withDocker = await makeProviders(new FakeRunner().on(["iptables", "-w", "-t", "filter", "-S", "DOCKER-USER"], { stdout: "-N DOCKER-USER\n", stderr: "" })).isolation.check!({}, { bridge: "br-b", gatewayMode: "nat", tag: TAG });
    expect(withDocker.failures).toBeUndefined();
    expect(withDocker.inputs?.dockerUser).toEqual({
      backend: "nftables",
      rules: [
        '-I DOCKER-USER -o br-b -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "hostnet:p/s/net" -j ACCEPT',
        '-I DOCKER-USER -o br-b -m conntrack --ctstate DNAT -m comment --comment "hostnet:p/s/net" -j ACCEPT',
        '-I DOCKER-USER -i br-b -m comment --comment "hostnet:p/s/net" -j ACCEPT',
      ],
    });
    const without = await makeProviders(new FakeRunner().on(["iptables", "-w", "-t", "filter", "-S", "DOCKER-USER"], noChain)).isolation.check!({}, { bridge: "br-b", gatewayMode: "nat", tag: TAG });
    expect(without.failures).toBeUndefined();
    expect(without.inputs?.dockerUser).toBeUndefined();
  });

  test("check: FORWARD policy DROP without Docker is refused for the nftables backend, named; the iptables backend passes", async () => {
    const host = () =>
      new FakeRunner()
        .on(["iptables", "-w", "-t", "filter", "-S", "DOCKER-USER"], noChain)
        .on(["iptables", "-w", "-t", "filter", "-S", "FORWARD"], { stdout: "-P FORWARD DROP\n", stderr: "" });
    const nft = await makeProviders(host()).isolation.check!({}, { bridge: "br-b", gatewayMode: "nat", firewallBackend: "nftables", tag: TAG });
    expect(nft.failures).toEqual([{ property: "bridge", reason: expect.stringMatching(/FORWARD policy is DROP .*no DOCKER-USER chain.*bridge br-b.*firewallBackend: "iptables"/) }]);
    const ipt = await makeProviders(host()).isolation.check!({}, { bridge: "br-b", gatewayMode: "nat", firewallBackend: "iptables", tag: TAG });
    expect(ipt.failures).toBeUndefined();
  });
});
