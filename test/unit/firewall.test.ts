// The rules each firewall resource stands for, rendered for nft and iptables, and the parser
// of `nft -j` output: no kernel needed.
import { firewall } from "../../provider/kernel";
import { isolationRules, makeProviders, natRules, portForwardRules } from "../../provider/resources";
import { forgetMovedFlows } from "../../provider/resources/portforward";
import { CommandError, FakeRunner } from "../../provider/exec";

const TAG = "hostnet:p/s/web";

function render(set: firewall.TaggedRules) {
  return {
    nft: set.rules.map((r) => `${r.chain}: ${firewall.nftRuleExpression(set.family, r, set.tag)}`),
    iptables: set.rules.map((r) => `${r.chain}: ${firewall.iptablesRuleArgs(set.family, r, set.tag).join(" ")}`),
  };
}

describe("firewall rules", () => {
  test("a port forward: DNAT from outside and from the host, 127.0.0.1 and hairpin masquerade, forward accept", () => {
    const set = portForwardRules(
      { protocol: "tcp", hostPort: 8080, target: "10.0.3.2", targetPort: 80, fromHost: true, hairpin: true, firewallBackend: "auto", tag: TAG },
      "10.0.3.0/24",
    );
    expect(render(set)).toEqual({
      nft: [
        'prerouting: fib daddr type local tcp dport 8080 dnat to 10.0.3.2:80 comment "hostnet:p/s/web"',
        'output: fib daddr type local tcp dport 8080 dnat to 10.0.3.2:80 comment "hostnet:p/s/web"',
        'postrouting: ip saddr 127.0.0.0/8 ip daddr 10.0.3.2 tcp dport 80 ct status dnat masquerade comment "hostnet:p/s/web"',
        'postrouting: ip saddr 10.0.3.0/24 ip daddr 10.0.3.2 tcp dport 80 ct status dnat masquerade comment "hostnet:p/s/web"',
        'forward: ip daddr 10.0.3.2 tcp dport 80 accept comment "hostnet:p/s/web"',
      ],
      iptables: [
        'prerouting: -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "hostnet:p/s/web" -j DNAT --to-destination 10.0.3.2:80',
        'output: -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "hostnet:p/s/web" -j DNAT --to-destination 10.0.3.2:80',
        'postrouting: -s 127.0.0.0/8 -d 10.0.3.2 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "hostnet:p/s/web" -j MASQUERADE',
        'postrouting: -s 10.0.3.0/24 -d 10.0.3.2 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "hostnet:p/s/web" -j MASQUERADE',
        'forward: -d 10.0.3.2 -p tcp -m tcp --dport 80 -m comment --comment "hostnet:p/s/web" -j ACCEPT',
      ],
    });
  });

  test("a forward bound to one address, a port range, no host path and no hairpin", () => {
    const set = portForwardRules(
      { protocol: "udp", hostPort: "6000-6010", hostAddress: "10.200.0.1", target: "10.0.3.2", fromHost: false, hairpin: false, firewallBackend: "auto", tag: TAG },
      "10.0.3.0/24",
    );
    expect(render(set).nft).toEqual([
      'prerouting: ip daddr 10.200.0.1 udp dport 6000-6010 dnat to 10.0.3.2 comment "hostnet:p/s/web"',
      'forward: ip daddr 10.0.3.2 udp dport 6000-6010 accept comment "hostnet:p/s/web"',
    ]);
  });

  test("masquerade, SNAT and DNAT NAT rules", () => {
    const masq = natRules({ type: "masquerade", source: "10.0.3.0/24", outInterface: "eth0", firewallBackend: "auto", tag: TAG });
    expect(render(masq).nft).toEqual([
      'postrouting: oifname "eth0" ip saddr 10.0.3.0/24 masquerade comment "hostnet:p/s/web"',
      'forward: oifname "eth0" ip saddr 10.0.3.0/24 accept comment "hostnet:p/s/web"',
      'forward: ip daddr 10.0.3.0/24 ct state established,related accept comment "hostnet:p/s/web"',
    ]);
    const snat = natRules({ type: "snat", source: "10.0.1.0/24", outInterface: "veth-cli", toSource: "10.0.2.1", firewallBackend: "auto", tag: TAG });
    expect(render(snat).iptables[0]).toBe('postrouting: -s 10.0.1.0/24 -o veth-cli -m comment --comment "hostnet:p/s/web" -j SNAT --to-source 10.0.2.1');
    const dnat = natRules({ type: "dnat", destination: "fd00::1", protocol: "tcp", destinationPort: 443, toDestination: "fd00::2", toPort: 8443, firewallBackend: "auto", tag: TAG });
    expect(dnat.family).toBe("ipv6");
    expect(render(dnat).nft[0]).toBe('prerouting: ip6 daddr fd00::1 tcp dport 443 dnat to [fd00::2]:8443 comment "hostnet:p/s/web"');
  });

  test("a network's isolation: stage one jumps new, not-DNATed traffic leaving its bridge; stage two lets the allowed bridge in, then drops", () => {
    const set = isolationRules({ bridge: "br-b", allowFrom: ["br-a"], firewallBackend: "auto", tag: TAG });
    expect(render(set)).toEqual({
      nft: [
        'isolation: iifname "br-b" oifname != "br-b" ct status ! dnat ct state ! established,related jump isolation_targets comment "hostnet:p/s/web"',
        'isolation_targets: iifname "br-a" oifname "br-b" return comment "hostnet:p/s/web"',
        'isolation_targets: oifname "br-b" drop comment "hostnet:p/s/web"',
      ],
      iptables: [
        'isolation: -i br-b ! -o br-b -m conntrack ! --ctstate DNAT -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "hostnet:p/s/web" -j HOSTNET-ISOLATION-TARGETS',
        'isolation_targets: -i br-a -o br-b -m comment --comment "hostnet:p/s/web" -j RETURN',
        'isolation_targets: -o br-b -m comment --comment "hostnet:p/s/web" -j DROP',
      ],
    });
  });

  test("nft declares the isolation chains before forward's priority, and iptables jumps to them first", async () => {
    const nft = new FakeRunner().on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    await new firewall.NftBackend(nft).replace(undefined, isolationRules({ bridge: "br-b", allowFrom: [], firewallBackend: "auto", tag: TAG }));
    const script = nft.calls[1]?.stdin ?? "";
    expect(script).toContain("chain isolation { type filter hook forward priority filter - 10; policy accept; }");
    expect(script).toContain("chain isolation_targets {  }");
    const ipt = new FakeRunner()
      .on(["iptables", "-w", "-t", "filter", "-C"], new CommandError(["iptables"], 1, "iptables: Bad rule (does a matching rule exist in that chain?)."))
      .on(["iptables", "-w", "-t", "nat", "-C"], new CommandError(["iptables"], 1, "iptables: Bad rule (does a matching rule exist in that chain?)."));
    await new firewall.IptablesBackend(ipt).replace(undefined, isolationRules({ bridge: "br-b", allowFrom: [], firewallBackend: "auto", tag: TAG }));
    expect(ipt.lines).toContain("iptables -w -t filter -I FORWARD 1 -j HOSTNET-ISOLATION");
    expect(ipt.lines).toContain("iptables -w -t filter -A FORWARD -j HOSTNET-FORWARD");
    expect(ipt.lines).not.toContain("iptables -w -t filter -A FORWARD -j HOSTNET-ISOLATION-TARGETS");
    expect(ipt.lines.indexOf("iptables -w -t filter -N HOSTNET-ISOLATION-TARGETS")).toBeLessThan(ipt.lines.indexOf("iptables -w -t filter -N HOSTNET-ISOLATION"));
  });

  test("a network cannot allow itself in", async () => {
    const result = await makeProviders(new FakeRunner()).isolation.check!({}, { bridge: "br-a", allowFrom: ["br-b", "br-a"], tag: TAG });
    expect(result.failures).toEqual([expect.objectContaining({ property: "allowFrom[1]", reason: expect.stringMatching(/own bridge/) })]);
  });

  test("a forward moved or removed deletes the tracked flows of what it no longer forwards, and none deleted is no error", async () => {
    const forward = (target: string, hostPort: number | string, protocol: "tcp" | "udp" = "udp") =>
      portForwardRules({ protocol, hostPort, target, targetPort: typeof hostPort === "number" ? 5353 : undefined, fromHost: true, hairpin: true, firewallBackend: "auto", tag: TAG }, "10.0.3.0/24");
    const runner = new FakeRunner().on(["conntrack"], new CommandError(["conntrack"], 1, "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted."));
    await forgetMovedFlows(runner, "h", forward("10.0.3.2", 15353), forward("10.0.3.3", 15353));
    await forgetMovedFlows(runner, "h", forward("10.0.3.3", 15353), forward("10.0.3.3", 15353));
    await forgetMovedFlows(runner, "h", forward("10.0.3.3", "6000-6010", "tcp"), undefined);
    expect(runner.lines).toEqual([
      "[h] conntrack -D -f ipv4 -p udp --orig-port-dst 15353 --dst-nat 10.0.3.2 --reply-port-src 5353",
      "[h] conntrack -D -f ipv4 -p tcp --dst-nat 10.0.3.3",
    ]);
    const failing = new FakeRunner().on(["conntrack"], new CommandError(["conntrack"], 1, "conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters"));
    await expect(forgetMovedFlows(failing, undefined, forward("10.0.3.2", 15353), undefined)).rejects.toThrow(/invalid parameters/);
  });

  test("nft -j output is parsed into rules with their handles and comments", () => {
    const stdout = JSON.stringify({
      nftables: [
        { metainfo: { version: "1.0.6" } },
        { table: { family: "ip", name: "hostnet", handle: 1 } },
        { chain: { family: "ip", table: "hostnet", name: "prerouting", handle: 1 } },
        { rule: { family: "ip", table: "hostnet", chain: "prerouting", handle: 5, comment: TAG, expr: [] } },
        { rule: { family: "ip", table: "hostnet", chain: "postrouting", handle: 7, expr: [] } },
      ],
    });
    expect(firewall.parseNftRules(stdout)).toEqual([
      { chain: "prerouting", handle: 5, comment: TAG },
      { chain: "postrouting", handle: 7, comment: undefined },
    ]);
  });

  test("nft replace: one transaction that declares the table, deletes our old rules by handle and adds the new", async () => {
    const listing = JSON.stringify({
      nftables: [
        { rule: { family: "ip", table: "hostnet", chain: "prerouting", handle: 5, comment: TAG } },
        { rule: { family: "ip", table: "hostnet", chain: "postrouting", handle: 9, comment: "hostnet:p/s/other" } },
      ],
    });
    const runner = new FakeRunner().on(["nft", "-j"], { stdout: listing, stderr: "" });
    const backend = new firewall.NftBackend(runner);
    await backend.replace(undefined, { tag: TAG, family: "ipv4", rules: [{ chain: "forward", match: { destination: "10.0.3.2" }, action: { kind: "accept" } }] });
    const script = runner.calls[1]?.stdin ?? "";
    expect(runner.calls[1]?.argv).toEqual(["nft", "-f", "-"]);
    expect(script).toContain("table ip hostnet {");
    expect(script).toContain("delete rule ip hostnet prerouting handle 5\n");
    expect(script).not.toContain("handle 9");
    expect(script).toContain('add rule ip hostnet forward ip daddr 10.0.3.2 accept comment "hostnet:p/s/web"');
  });

  test("nft replace with no rules left deletes our table, and only ours", async () => {
    const listing = JSON.stringify({ nftables: [{ rule: { family: "ip", table: "hostnet", chain: "prerouting", handle: 5, comment: TAG } }] });
    const runner = new FakeRunner().on(["nft", "-j"], { stdout: listing, stderr: "" });
    await new firewall.NftBackend(runner).replace("h", { tag: TAG, family: "ipv4", rules: [] });
    expect(runner.calls[1]).toMatchObject({ argv: ["nft", "-f", "-"], netns: "h", stdin: "delete table ip hostnet\n" });
  });

  test.each([
    ["portforward", { protocol: "tcp", hostPort: 8080, target: "10.0.3.2", targetPort: 0, tag: TAG }, "targetPort", /1-65535/],
    ["portforward", { protocol: "tcp", hostPort: "8000-8010", target: "10.0.3.2", targetPort: 9000, tag: TAG }, "targetPort", /same ports/],
    ["portforward", { protocol: "tcp", hostPort: 80, hostAddress: "fd00::1", target: "10.0.3.2", tag: TAG }, "hostAddress", /different families/],
    ["endpoint", { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24", ports: [{ hostPort: "8000-8010", targetPort: 9000 }], tag: TAG }, "ports[0].targetPort", /same ports/],
    ["endpoint", { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24", ports: [{ hostPort: 80, hostAddress: "fd00::1" }], tag: TAG }, "ports[0].hostAddress", /hostAddress fd00::1 is ipv6 but the container has only ipv4 \(its network has no ipv6 subnet\)/],
    ["endpoint", { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24", ports: 5, tag: TAG }, "ports", /expected array/],
    ["natrule", { type: "dnat", protocol: "tcp", destinationPort: 80, tag: TAG }, "toDestination", /needs toDestination/],
    ["natrule", { type: "masquerade", inInterface: "eth0", tag: TAG }, "inInterface", /after routing/],
    ["natrule", { type: "masquerade", destinationPort: 80, tag: TAG }, "protocol", /need a protocol/],
    ["natrule", { type: "masquerade", source: "10.0.3.1/24", tag: TAG }, "source", /address or a network/],
    ["sysctl", { key: "net.ipv4.ip_forward", value: "1; reboot" }, "value", /words of letters/],
  ] as const)("%s %j fails on %s", async (kind, news, property, reason) => {
    const result = await makeProviders(new FakeRunner())[kind].check!({}, news);
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringMatching(reason) })]));
  });
});

describe("coalesced firewall changes", () => {
  const rule = (destination: string): firewall.FirewallRule => ({ chain: "forward", match: { destination }, action: { kind: "accept" } });

  test("changes queued together for one host go in one listing and one transaction", async () => {
    const runner = new FakeRunner().on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    const backend = new firewall.NftBackend(runner);
    await Promise.all(Array.from({ length: 20 }, (_, i) => firewall.applyCoalesced(backend, "h1", { tag: `hostnet:p/s/r${i}`, family: "ipv4", rules: [rule(`10.0.0.${i + 1}`)] })));
    expect(runner.calls.map((c) => c.argv.slice(0, 2).join(" "))).toEqual(["nft -j", "nft -f"]);
    expect(runner.calls[1]?.stdin?.match(/^add rule/gm)).toHaveLength(20);
  });

  test("rules that cannot exist yet (fresh) are added without a listing; one set that may exist brings the listing back", async () => {
    const runner = new FakeRunner().on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    const backend = new firewall.NftBackend(runner);
    await Promise.all(Array.from({ length: 5 }, (_, i) => firewall.applyCoalesced(backend, "h2", { tag: `hostnet:p/s/f${i}`, family: "ipv4", rules: [rule(`10.0.1.${i + 1}`)], fresh: true })));
    expect(runner.calls.map((c) => c.argv.slice(0, 2).join(" "))).toEqual(["nft -f"]);
    expect(runner.calls[0]?.stdin).toContain("table ip hostnet {");
    expect(runner.calls[0]?.stdin?.match(/^add rule/gm)).toHaveLength(5);
    await Promise.all([
      firewall.applyCoalesced(backend, "h2", { tag: "hostnet:p/s/f9", family: "ipv4", rules: [rule("10.0.1.9")], fresh: true }),
      firewall.applyCoalesced(backend, "h2", { tag: "hostnet:p/s/f0", family: "ipv4", rules: [rule("10.0.1.10")] }),
    ]);
    expect(runner.calls.map((c) => c.argv.slice(0, 2).join(" "))).toEqual(["nft -f", "nft -j", "nft -f"]);
  });

  test("when the merged transaction fails, each change is retried alone and only the bad one fails", async () => {
    const runner = new FakeRunner()
      .on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" })
      .on(["nft", "-f"], (c) => (c.stdin?.includes("10.9.9.9") ? new CommandError(["nft", "-f", "-"], 1, "Error: Could not process rule: No such file or directory") : { stdout: "", stderr: "" }));
    const backend = new firewall.NftBackend(runner);
    const results = await Promise.allSettled([
      firewall.applyCoalesced(backend, "h2", { tag: "hostnet:p/s/good", family: "ipv4", rules: [rule("10.0.0.1")] }),
      firewall.applyCoalesced(backend, "h2", { tag: "hostnet:p/s/bad", family: "ipv4", rules: [rule("10.9.9.9")] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
  });
});

describe("a host port held by another owner's forward is refused", () => {
  const NFT_LISTING = `table ip hostnet {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local tcp dport 18080 dnat to 10.0.3.2:80 comment "hostnet:a/s/web"
		ip daddr 10.200.0.1 udp dport 6000-6010 dnat to 10.0.3.2 comment "hostnet:a/s/dns"
	}
	chain output {
		type nat hook output priority -100; policy accept;
		fib daddr type local tcp dport 18080 dnat to 10.0.3.2:80 comment "hostnet:a/s/web"
	}
}
`;
  const IPTABLES_LINES = [
    "-N HOSTNET-PREROUTING",
    '-A HOSTNET-PREROUTING -p tcp -m tcp --dport 18080 -m addrtype --dst-type LOCAL -m comment --comment "hostnet:a/s/web" -j DNAT --to-destination 10.0.3.2:80',
    '-A HOSTNET-PREROUTING -d 10.200.0.1/32 -p udp -m udp --dport 6000:6010 -m comment --comment "hostnet:a/s/dns" -j DNAT --to-destination 10.0.3.2',
  ];
  const HELD: firewall.HostPortListener[] = [
    { protocol: "tcp", ports: { from: 18080, to: 18080 }, hostAddress: undefined, tag: "hostnet:a/s/web" },
    { protocol: "udp", ports: { from: 6000, to: 6010 }, hostAddress: "10.200.0.1", tag: "hostnet:a/s/dns" },
  ];

  test("both backends' listings give the host ports, addresses and owners of prerouting DNATs", () => {
    expect(firewall.parseNftListeners(NFT_LISTING)).toEqual(HELD);
    expect(firewall.parseIptablesListeners(IPTABLES_LINES)).toEqual(HELD);
  });

  test.each([
    [{ protocol: "tcp", ports: { from: 18080, to: 18080 } }, true],
    [{ protocol: "tcp", ports: { from: 18000, to: 18100 } }, true],
    [{ protocol: "udp", ports: { from: 18080, to: 18080 } }, false],
    [{ protocol: "tcp", ports: { from: 18081, to: 18090 } }, false],
    [{ protocol: "tcp", ports: { from: 18080, to: 18080 }, hostAddress: "10.9.9.9" }, true],
    [{ protocol: "udp", ports: { from: 6010, to: 6020 }, hostAddress: "10.200.0.2" }, false],
    [{ protocol: "udp", ports: { from: 6010, to: 6020 } }, true],
  ] as const)("%j overlaps a held port: %s", (wanted, expected) => {
    expect(HELD.some((held) => firewall.overlaps({ ...wanted, tag: "hostnet:b/s/x" }, held))).toBe(expected);
  });

  const forward = (tag: string, hostPort: number | string) => portForwardRules({ protocol: "tcp", hostPort, target: "10.0.4.2", fromHost: true, hairpin: true, firewallBackend: "auto", tag }, undefined);

  test("the change is failed before its transaction, naming the owner and the port; its own tag and other ports pass", async () => {
    const runner = new FakeRunner()
      .on(["nft", "list", "table", "ip"], { stdout: NFT_LISTING, stderr: "" })
      .on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    const backend = new firewall.NftBackend(runner);
    const results = await Promise.allSettled([
      firewall.applyCoalesced(backend, "h9", forward("hostnet:b/s/web", "18000-18100")),
      firewall.applyCoalesced(backend, "h9", forward("hostnet:a/s/web", 18080)),
      firewall.applyCoalesced(backend, "h9", forward("hostnet:b/s/other", 18081)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/host port tcp\/18000-18100 is already forwarded by hostnet:a\/s\/web \(tcp\/18080, nftables\)/);
    const script = runner.calls.find((c) => c.argv[1] === "-f")?.stdin ?? "";
    expect(script).not.toContain("hostnet:b/s/web");
    expect(script).toContain("hostnet:b/s/other");
  });

  test("the other backend's forwards count too, and two new claims in one batch: the first wins", async () => {
    const runner = new FakeRunner()
      .on(["iptables", "-w", "-t", "nat", "-S"], { stdout: IPTABLES_LINES.join("\n"), stderr: "" })
      .on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    const backend = new firewall.NftBackend(runner);
    const others = [new firewall.IptablesBackend(runner)];
    const results = await Promise.allSettled([
      firewall.applyCoalesced(backend, "h10", forward("hostnet:b/s/web", 18080), others),
      firewall.applyCoalesced(backend, "h10", forward("hostnet:b/s/one", 9000), others),
      firewall.applyCoalesced(backend, "h10", forward("hostnet:b/s/two", 9000), others),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "rejected"]);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/hostnet:a\/s\/web \(tcp\/18080, iptables\)/);
    expect((results[2] as PromiseRejectedResult).reason.message).toMatch(/tcp\/9000 is already forwarded by hostnet:b\/s\/one/);
  });

  test("later batches check against one listing kept current with the queue's own transactions", async () => {
    const runner = new FakeRunner()
      .on(["nft", "list", "table", "ip"], { stdout: NFT_LISTING, stderr: "" })
      .on(["nft", "-j"], { stdout: JSON.stringify({ nftables: [] }), stderr: "" });
    const backend = new firewall.NftBackend(runner);
    // Three batches, one after the other: each waits for the one before.
    await firewall.applyCoalesced(backend, "h11", forward("hostnet:b/s/one", 9000));
    const second = await Promise.allSettled([firewall.applyCoalesced(backend, "h11", forward("hostnet:b/s/two", 9000))]);
    await firewall.applyCoalesced(backend, "h11", { tag: "hostnet:b/s/one", family: "ipv4", rules: [] });
    const third = await Promise.allSettled([firewall.applyCoalesced(backend, "h11", forward("hostnet:b/s/two", 9000)), firewall.applyCoalesced(backend, "h11", forward("hostnet:b/s/three", 18080))]);
    // The first batch's forward holds 9000 for the second; removing it frees the port.
    expect((second[0] as PromiseRejectedResult).reason.message).toMatch(/tcp\/9000 is already forwarded by hostnet:b\/s\/one/);
    expect(third.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    expect((third[1] as PromiseRejectedResult).reason.message).toMatch(/hostnet:a\/s\/web/);
    expect(runner.calls.filter((c) => c.argv.join(" ") === "nft list table ip hostnet")).toHaveLength(1);
  });

  test("check names the holder at preview, on the field", async () => {
    const runner = new FakeRunner().on(["nft", "list", "table", "ip"], { stdout: NFT_LISTING, stderr: "" });
    const { portforward, endpoint } = makeProviders(runner);
    const pf = await portforward.check!({}, { protocol: "tcp", hostPort: 18080, target: "10.0.4.2", tag: "hostnet:b/s/pf" });
    expect(pf.failures).toEqual([expect.objectContaining({ property: "hostPort", reason: expect.stringMatching(/tcp\/18080 is already forwarded by hostnet:a\/s\/web/) })]);
    const own = await portforward.check!({}, { protocol: "tcp", hostPort: 18080, target: "10.0.4.2", tag: "hostnet:a/s/web" });
    expect(own.failures ?? []).toEqual([]);
    const ep = await endpoint.check!({}, { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.4.2/24", ports: [{ hostPort: 80 }, { hostPort: "18070-18090" }], tag: "hostnet:b/s/c1" });
    expect(ep.failures).toEqual([expect.objectContaining({ property: "ports[1].hostPort", reason: expect.stringMatching(/hostnet:a\/s\/web/) })]);
  });
});
