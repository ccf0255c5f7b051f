// IPv6 of bridge endpoints without a kernel: the rule sets of a dual-stack endpoint, which
// ports get a [::1] proxy, the proxy's socat words, and the bad input check refuses.
import { firewall, socatArgs, addrWords } from "../../provider/kernel";
import { endpointRuleSets, loopbackProxies } from "../../provider/resources/endpoint-forwards";
import { endpointInputs } from "../../provider/resources/endpoint-inputs";
import { isolationRules, makeProviders } from "../../provider/resources";
import { FakeRunner } from "../../provider/exec";

const TAG = "hostnet:p/s/web";
const base = { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24", gateway: "10.0.3.1", tag: TAG };
const dual = { ...base, ipv6Address: "fd00:3::2/64", ipv6Gateway: "fd00:3::1" };

describe("a dual-stack endpoint", () => {
  test("publishes a port without hostAddress in both families; 0.0.0.0, :: and an address pick one", () => {
    const e = endpointInputs.parse({
      ...dual,
      ports: [{ hostPort: 8080, targetPort: 80 }, { hostPort: 8081, hostAddress: "0.0.0.0" }, { hostPort: 8082, hostAddress: "::" }, { hostPort: 8083, hostAddress: "fd00:200::1" }],
    });
    const sets = endpointRuleSets(e);
    expect(sets.map((s) => [s.set.family, s.portIndexes])).toEqual([["ipv4", [0, 1]], ["ipv6", [0, 2, 3]]]);
    const v6 = sets[1]!.set;
    const nft = v6.rules.map((r) => `${r.chain}: ${firewall.nftRuleExpression("ipv6", r, TAG)}`);
    // From the host: every local address but ::1 (no DNAT can serve it); no 127.0.0.0/8 masquerade in IPv6.
    expect(nft).toContain(`output: ip6 daddr != ::1 fib daddr type local tcp dport 8080 dnat to [fd00:3::2]:80 comment "${TAG}"`);
    expect(nft).toContain(`postrouting: ip6 saddr fd00:3::/64 ip6 daddr fd00:3::2 tcp dport 80 ct status dnat masquerade comment "${TAG}"`);
    expect(nft.filter((r) => r.includes("127.0.0.0/8"))).toEqual([]);
    expect(nft).toContain(`prerouting: ip6 daddr fd00:200::1 tcp dport 8083 dnat to [fd00:3::2]:8083 comment "${TAG}"`);
  });

  test("gets a [::1] proxy per IPv6 port that answers every address (or ::1), none when turned off", () => {
    const ports = [{ hostPort: 8080, targetPort: 80 }, { hostPort: "9000-9001", protocol: "udp" }, { hostPort: 8081, hostAddress: "0.0.0.0" }, { hostPort: 8083, hostAddress: "fd00:200::1" }];
    expect(loopbackProxies(endpointInputs.parse({ ...dual, ports }))).toEqual([
      { protocol: "tcp", port: 8080, target: "fd00:3::2", targetPort: 80 },
      { protocol: "udp", port: 9000, target: "fd00:3::2", targetPort: 9000 },
      { protocol: "udp", port: 9001, target: "fd00:3::2", targetPort: 9001 },
    ]);
    expect(loopbackProxies(endpointInputs.parse({ ...dual, ports, loopbackProxy: false }))).toEqual([]);
    expect(loopbackProxies(endpointInputs.parse({ ...base, ports: ports.slice(0, 3) }))).toEqual([]);
    // IPv6 only: its one address is the target.
    const six = endpointInputs.parse({ ...base, address: "fd00:4::9/64", gateway: "fd00:4::1", ports: [{ hostPort: 8090, targetPort: 80 }] });
    expect(loopbackProxies(six)).toEqual([{ protocol: "tcp", port: 8090, target: "fd00:4::9", targetPort: 80 }]);
  });

  test("the proxy listens on [::1] only; UDP children end after 60 s idle", () => {
    expect(socatArgs({ protocol: "tcp", port: 8080, target: "fd00:3::2", targetPort: 80 })).toEqual(["TCP6-LISTEN:8080,bind=[::1],reuseaddr,fork", "TCP6:[fd00:3::2]:80"]);
    expect(socatArgs({ protocol: "udp", port: 53, target: "fd00:3::2", targetPort: 5353 })).toEqual(["-T", "60", "UDP6-RECVFROM:53,bind=[::1],reuseaddr,fork", "UDP6-SENDTO:[fd00:3::2]:5353"]);
  });

  test("IPv6 addresses are added nodad, IPv4 ones and deletions as before", () => {
    expect(addrWords("add", "fd00:3::2/64", "eth0")).toEqual(["addr", "add", "fd00:3::2/64", "dev", "eth0", "nodad"]);
    expect(addrWords("del", "fd00:3::2/64", "eth0")).toEqual(["addr", "del", "fd00:3::2/64", "dev", "eth0"]);
    expect(addrWords("add", "10.0.3.2/24", "eth0")).toEqual(["addr", "add", "10.0.3.2/24", "dev", "eth0"]);
  });

  test("an IPv6 network's isolation is the same two stages in the ip6 table", () => {
    const v4 = isolationRules({ bridge: "br-a", allowFrom: [], firewallBackend: "auto", tag: TAG });
    const v6 = isolationRules({ bridge: "br-a", allowFrom: [], family: "ipv6", firewallBackend: "auto", tag: TAG });
    expect(v4.family).toBe("ipv4");
    expect(v6).toEqual({ ...v4, family: "ipv6" });
  });

  test.each([
    [{ ...base, ipv6Address: "10.0.4.2/24" }, "ipv6Address", /ipv6Address 10\.0\.4\.2\/24 is an IPv4 address/],
    [{ ...base, address: "fd00:3::2/64", gateway: "fd00:3::1", ipv6Address: "fd00:4::2/64" }, "ipv6Address", /is IPv6 already: ipv6Address goes beside an IPv4 address/],
    [{ ...base, ipv6Gateway: "fd00:3::1" }, "ipv6Gateway", /ipv6Gateway needs ipv6Address/],
    [{ ...dual, ipv6Gateway: "10.0.3.1" }, "ipv6Gateway", /is an IPv4 address/],
    [{ ...base, address: "fd00:3::2/64", gateway: "fd00:3::1", ports: [{ hostPort: 80, hostAddress: "10.200.0.1" }] }, "ports[0].hostAddress", /10\.200\.0\.1 is ipv4 but the container has only ipv6/],
  ])("check refuses %j on %s", async (news, property, reason) => {
    const result = await makeProviders(new FakeRunner()).endpoint.check!({}, news);
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringMatching(reason) })]));
  });

  test("check takes a dual-stack endpoint with ports of either family", async () => {
    const news = { ...dual, ports: [{ hostPort: 80, hostAddress: "10.200.0.1" }, { hostPort: 80, hostAddress: "fd00:200::1" }] };
    const result = await makeProviders(new FakeRunner()).endpoint.check!({}, news);
    expect(result.failures ?? []).toEqual([]);
  });
});
