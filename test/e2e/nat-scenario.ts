// Scenario 1 in full (masquerade, port forwards from outside, the host, 127.0.0.1 and a
// neighbour), drift of NAT rules (scenario 7) and a clean destroy beside a ruleset that is not
// ours (scenario 8), for one firewall backend. nat-nftables.test.ts and nat-iptables.test.ts
// run it for each.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";

export type Backend = "nftables" | "iptables";

/** Rules of our own making loaded before `pulumi up`: they must be byte for byte the same after destroy. */
const FOREIGN_NFT = `table inet distro {
  chain input { type filter hook input priority filter; policy accept; tcp dport 22 accept; }
}
table ip docker-like {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; ip saddr 172.17.0.0/16 oifname != "docker0" masquerade; }
}
`;
const FOREIGN_IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

function program(backend: Backend): string {
  return `
const backend = "${backend}";
// The outside world: a namespace beyond the host's uplink, with no route back to the bridge.
const outside = new hostnet.Namespace("outside", { name: "outside" });
const uplink = new hostnet.VethPair("uplink", {
  name: "uplink", addresses: ["10.200.0.1/30"],
  peer: { name: "eth0", namespace: outside.name, addresses: ["10.200.0.2/30"] },
});
const br = new hostnet.Bridge("br0", { name: "br0", addresses: ["10.0.3.1/24"] });
const forwarding = new hostnet.Sysctl("ip-forward", { key: "net.ipv4.ip_forward", value: "1" });
// Port forwards reached at 127.0.0.1 are routed to the bridge: that needs route_localnet there.
new hostnet.Sysctl("br0-localnet", { key: "net.ipv4.conf.br0.route_localnet", value: 1 }, { dependsOn: [br] });
const containers = [["c1", "10.0.3.2"], ["c2", "10.0.3.3"]].map(([name, address]) => {
  const ns = new hostnet.Namespace(name, { name });
  const veth = new hostnet.VethPair(name + "-veth", { name: "vh-" + name, master: br.name, peer: { name: "eth0", namespace: ns.name, addresses: [address + "/24"] } });
  return new hostnet.Route(name + "-default", { namespace: ns.name, destination: "default", via: "10.0.3.1" }, { dependsOn: [veth] });
});
new hostnet.NatRule("masq", { type: "masquerade", source: "10.0.3.0/24", outInterface: uplink.name, firewallBackend: backend }, { dependsOn: [forwarding] });
new hostnet.PortForward("web-http", { protocol: "tcp", hostPort: 8080, target: "10.0.3.2", targetPort: 80, firewallBackend: backend }, { dependsOn: containers });
// Bound to the uplink address only: not reachable at the host's other addresses.
new hostnet.PortForward("web-bound", { protocol: "tcp", hostPort: 8081, hostAddress: "10.200.0.1", target: "10.0.3.2", targetPort: 80, firewallBackend: backend }, { dependsOn: containers });
new hostnet.PortForward("web-dns", { protocol: "udp", hostPort: 15353, target: "10.0.3.2", targetPort: 5353, firewallBackend: backend }, { dependsOn: containers });
`;
}

export function natScenario(backend: Backend): void {
  describeAsRoot(`NAT and port forwards through pulumi with ${backend}`, () => {
    const ctx = useSandbox();
    const project = usePulumiProject(ctx, `nat-${backend}`);
    let foreignBefore: string;

    test("a host that already has rules of its own gets ours beside them", async () => {
      if (backend === "nftables") await ctx.sandbox.run(["nft", "-f", "-"], { stdin: FOREIGN_NFT });
      else await ctx.sandbox.run(["iptables-restore"], { stdin: FOREIGN_IPTABLES });
      foreignBefore = await ctx.sandbox.snapshot();
      project.writeProgram(program(backend));
      await project.up();
      if (backend === "nftables") {
        const ours = await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"]);
        expect(ours).toContain('comment "hostnet:nat-nftables/test/masq"');
        expect(ours).toContain("dnat to 10.0.3.2:80");
      } else {
        const saved = await ctx.sandbox.run(["iptables-save", "-t", "nat"]);
        expect(saved).toContain("-A PREROUTING -j HOSTNET-PREROUTING");
        expect(saved).toMatch(/-A HOSTNET-PREROUTING .*--dport 8080 .*-j DNAT --to-destination 10.0.3.2:80/);
        expect(await ctx.sandbox.succeeds(["nft", "list", "table", "ip", "hostnet"])).toBe(false);
      }
      expect(await ctx.sandbox.run(["sysctl", "-n", "net.ipv4.ip_forward"])).toBe("1\n");
      await ctx.sandbox.serve("c1", "tcp", 80);
      await ctx.sandbox.serve("c1", "udp", 5353);
      await ctx.sandbox.serve("outside", "tcp", 9000);
    });

    test("masquerade: a container reaches the outside, which sees the host's uplink address", async () => {
      expect(await ctx.sandbox.ask("c1", "tcp", "10.200.0.2", 9000)).toBe("10.200.0.1");
      expect(await ctx.sandbox.ask("c2", "tcp", "10.200.0.2", 9000)).toBe("10.200.0.1");
    });

    test("port forward from outside, tcp and udp", async () => {
      expect(await ctx.sandbox.ask("outside", "tcp", "10.200.0.1", 8080)).toBe("10.200.0.2");
      expect(await ctx.sandbox.ask("outside", "udp", "10.200.0.1", 15353)).toBe("10.200.0.2");
    });

    test("port forward from the host itself: its own address and 127.0.0.1", async () => {
      // To its own address the host keeps that address as the source; 127.0.0.1 is masqueraded.
      expect(await ctx.sandbox.ask(undefined, "tcp", "10.200.0.1", 8080)).toBe("10.200.0.1");
      expect(await ctx.sandbox.ask(undefined, "tcp", "127.0.0.1", 8080)).toBe("10.0.3.1");
    });

    test("hairpin: the neighbour on the bridge reaches c1 through the host port", async () => {
      expect(await ctx.sandbox.ask("c2", "tcp", "10.200.0.1", 8080)).toBe("10.0.3.1");
    });

    test("a forward bound to one host address answers there and nowhere else", async () => {
      expect(await ctx.sandbox.ask("outside", "tcp", "10.200.0.1", 8081)).toBe("10.200.0.2");
      expect(await ctx.sandbox.ask("c2", "tcp", "10.0.3.1", 8081)).toBeUndefined();
      expect(await ctx.sandbox.ask("c2", "tcp", "10.0.3.1", 8080)).toBe("10.0.3.1"); // the unbound one does
    });

    test("rules flushed by hand are drift: refresh drops them, up restores them (scenario 7)", async () => {
      if (backend === "nftables") await ctx.sandbox.run(["nft", "flush", "table", "ip", "hostnet"]);
      else await ctx.sandbox.run(["iptables", "-w", "-t", "nat", "-F", "HOSTNET-PREROUTING"]);
      expect(await ctx.sandbox.ask("outside", "tcp", "10.200.0.1", 8080)).toBeUndefined();
      const refresh = await project.refresh();
      expect(refresh.stdout).toMatch(/web-http/);
      await project.up();
      expect(await ctx.sandbox.ask("outside", "tcp", "10.200.0.1", 8080)).toBe("10.200.0.2");
      expect(await ctx.sandbox.ask("outside", "udp", "10.200.0.1", 15353)).toBe("10.200.0.2");
      expect(await ctx.sandbox.ask("c1", "tcp", "10.200.0.2", 9000)).toBe("10.200.0.1");
    });

    test("destroy restores the rules, sysctls and links exactly (scenario 8)", async () => {
      await project.destroy();
      expect(await ctx.sandbox.snapshot()).toEqual(foreignBefore);
      // The foreign rules were the test's own: take them away so the leak guard sees a clean sandbox.
      await ctx.sandbox.run(["nft", "flush", "ruleset"]);
      expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
    });
  });
}
