// Issue 20 part 6 (b): refresh's comparison of rule contents, without a kernel: the nft
// listing's parser, the canonical text both backends compare, and the multiset difference.
import { FakeRunner } from "../../provider/exec";
import { firewall } from "../../provider/kernel";
import { portForwardRules } from "../../provider/resources";

const TAG = "hostnet:p/s/web";
const set = portForwardRules({ protocol: "tcp", hostPort: 8080, target: "fd00:3:0::2", targetPort: 80, fromHost: true, hairpin: true, firewallBackend: "auto", tag: TAG }, "fd00:3::/64");

// The rules above in the form `nft list table ip6 hostnet` prints them (addresses in its own
// spelling); test/integration/rule-contents.test.ts reads the real listing of every rule kind.
const NFT_LISTING = `table ip6 hostnet {
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tfib daddr type local tcp dport 8080 dnat to [fd00:3::2]:80 comment "${TAG}"
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip6 daddr != ::1 fib daddr type local tcp dport 8080 dnat to [fd00:3::2]:80 comment "${TAG}"
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip6 saddr fd00:3::/64 ip6 daddr fd00:3::2 tcp dport 80 ct status dnat masquerade comment "${TAG}"
\t\tmasquerade comment "hostnet:p/s/other"
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tip6 daddr fd00:3::2 tcp dport 80 accept comment "${TAG}"
\t}
}
`;

describe("rule contents", () => {
  test("the nft listing reads back equal to the plan, whatever the inputs' spelling; another tag's rules are not ours", async () => {
    const nft = new firewall.NftBackend(new FakeRunner().on(["nft", "list"], { stdout: NFT_LISTING, stderr: "" }));
    const found = await nft.taggedRules(undefined, "ipv6", TAG);
    expect(found).toEqual(nft.canonicalRules(set));
    expect(firewall.ruleDifferences(found, nft.canonicalRules(set))).toBe(0);
    expect(await nft.taggedRules(undefined, "ipv6", "hostnet:p/s/other")).toEqual(["postrouting: masquerade"]);
  });

  test("iptables -S lines: the /128 of host addresses and the comment left out", async () => {
    const lines = [
      "-N HOSTNET-PREROUTING",
      `-A HOSTNET-PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "${TAG}" -j DNAT --to-destination [fd00:3::2]:80`,
      `-A HOSTNET-OUTPUT ! -d ::1/128 -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "${TAG}" -j DNAT --to-destination [fd00:3::2]:80`,
      `-A HOSTNET-POSTROUTING -s fd00:3::/64 -d fd00:3::2/128 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "${TAG}" -j MASQUERADE`,
    ].join("\n");
    const filter = `-A HOSTNET-FORWARD -d fd00:3::2/128 -p tcp -m tcp --dport 80 -m comment --comment "${TAG}" -j ACCEPT\n`;
    const runner = new FakeRunner().on(["ip6tables", "-w", "-t", "nat", "-S"], { stdout: lines, stderr: "" }).on(["ip6tables", "-w", "-t", "filter", "-S"], { stdout: filter, stderr: "" });
    const iptables = new firewall.IptablesBackend(runner);
    const found = await iptables.taggedRules(undefined, "ipv6", TAG);
    expect([...found].sort()).toEqual(iptables.canonicalRules(set).sort());
    expect(found[0]).toBe("-A HOSTNET-PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -j DNAT --to-destination [fd00:3::2]:80");
  });

  test("a rule edited by hand counts twice (one missing, one extra); order does not count", () => {
    expect(firewall.ruleDifferences(["a", "b"], ["b", "a"])).toBe(0);
    expect(firewall.ruleDifferences(["a", "c"], ["a", "b"])).toBe(2);
    expect(firewall.ruleDifferences(["a", "a"], ["a"])).toBe(1);
    expect(firewall.ruleDifferences([], ["a", "b"])).toBe(2);
  });

  test("IPv6 addresses in one spelling; ports, IPv4 and words untouched", () => {
    expect(firewall.canonicalAddresses("ip6 daddr FD00:0003:0:0::2 tcp dport 8000-8010 dnat to [fd00:3:0::2]:80")).toBe("ip6 daddr fd00:3::2 tcp dport 8000-8010 dnat to [fd00:3::2]:80");
    expect(firewall.canonicalAddresses("-s 10.0.3.0/24 --dport 8000:8010 -d fd00:0::/64")).toBe("-s 10.0.3.0/24 --dport 8000:8010 -d fd00::/64");
  });
});
