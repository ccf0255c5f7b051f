// Issue 12 part 1, IPv6 end to end, with real packets through the real pulumi CLI: one stack of
// two dual-stack BridgeNetworks and an IPv6-only one, each IPv6 behaviour beside its IPv4
// twin: container to container, masquerade to the outside, forwards from outside (tcp, udp),
// from the host's own address, hairpin, the host's loopback (127.0.0.1 by route_localnet,
// [::1] by the endpoint's socat proxy), isolation between networks; a dead proxy is drift that
// `up` repairs; destroy leaves the sandbox as it was. Then a smaller stack for ip6tables.
import { expectUdpFlowFollowsMove } from "../support/flows";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { readFileSync } from "node:fs";
import { namespaceMembers } from "../support/sandbox";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

type Backend = "nftables" | "iptables";


/** `udpTo`: a UDP PortForward on the uplink's IPv6 address to that container (the IPv6 twin of isolation's "dns"). */
function program(backend: Backend, full: boolean, webPort = 8080, udpTo?: "d1" | "d2"): string {
  return `
const backend = "${backend}";
// The outside world beyond the host's uplink, with no route back to the bridges (so only
// masquerade gets answers back).
const outside = new hostnet.Namespace("outside", { name: "outside" });
new hostnet.VethPair("uplink", {
  name: "uplink", addresses: ["10.200.0.1/30", "fd00:200::1/64"],
  peer: { name: "eth0", namespace: outside.name, addresses: ["10.200.0.2/30", "fd00:200::2/64"] },
});
const d = new hostnet.BridgeNetwork("d", { bridgeName: "br-d", subnet: "10.32.1.0/24", ipv6Subnet: "fd00:32:1::/64", firewallBackend: backend });
// Addresses are automatic in both families; the test reads them from the stack's outputs.
const ports = [{ hostPort: ${webPort}, containerPort: 80 }, { hostPort: 15353, containerPort: 5353, protocol: "udp" }];
const d1 = new hostnet.ContainerNetwork("d1", { mode: "bridge", network: d, ports });
const d2 = new hostnet.ContainerNetwork("d2", { mode: "bridge", network: d });
${udpTo ? `new hostnet.PortForward("moving", { protocol: "udp", hostPort: 15354, hostAddress: "fd00:200::1", target: ${udpTo}.ipv6Address, targetPort: 5354, firewallBackend: backend }, { dependsOn: [d1, d2] });` : ""}
exports.d1 = d1.address; exports.d1v6 = d1.ipv6Address; exports.d2v6 = d2.ipv6Address;
${
  full
    ? `
const e = new hostnet.BridgeNetwork("e", { bridgeName: "br-e", subnet: "10.32.2.0/24", ipv6Subnet: "fd00:32:2::/64", firewallBackend: backend });
const e1 = new hostnet.ContainerNetwork("e1", { mode: "bridge", network: e, address: "10.32.2.2", ipv6Address: "fd00:32:2::2" });
// IPv6 only: the one subnet is IPv6.
const six = new hostnet.BridgeNetwork("six", { bridgeName: "br-six", subnet: "fd00:33::/64", firewallBackend: backend });
const s1 = new hostnet.ContainerNetwork("s1", { mode: "bridge", network: six, ports: [{ hostPort: 8090, containerPort: 80 }] });
exports.s1 = s1.address;
`
    : ""
}`;
}

// iptables-nft keeps the built-in chains it makes (README, known limits): have them first.
const EMPTY_TABLES = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

interface Addresses {
  readonly d1: string;
  readonly d1v6: string;
  readonly d2v6: string;
  readonly s1?: string;
}

for (const backend of ["nftables", "iptables"] as const) {
  const full = backend === "nftables";
  describeAsRoot(`IPv6 end to end on dual-stack and IPv6-only bridge networks, ${backend}`, () => {
    const ctx = useSandbox();
    const project = usePulumiProject(ctx, `ipv6-${backend}`);
    const ping = (ns: string | undefined, target: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "1", target], { netns: ns });
    const ask = (ns: string | undefined, protocol: "tcp" | "udp", host: string, port: number) => ctx.sandbox.ask(ns, protocol, host, port);
    // The proxies themselves, not the processes they fork per connection (whose parent is a socat).
    const proxies = () => {
      const all = namespaceMembers(ctx.sandbox.pid, "mnt", "socat");
      return all.filter((pid) => !all.map(String).includes(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1] ?? ""));
    };
    const proxyOf = (listen: string) => proxies().find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(listen));
    let a: Addresses;
    let tablesBefore: string;

    test("up: addresses in both families (automatic, nodad), forwarding, ip6 masquerade", async () => {
      if (backend === "iptables") for (const restore of ["iptables-restore", "ip6tables-restore"]) await ctx.sandbox.run([restore], { stdin: EMPTY_TABLES });
      tablesBefore = await ctx.sandbox.snapshot();
      project.writeProgram(program(backend, full));
      await project.up();
      a = (await project.outputs()) as unknown as Addresses;
      expect(a.d1).toMatch(/^10\.32\.1\.\d+$/);
      expect(a.d1v6).toMatch(/^fd00:32:1:0?:/);
      const v6 = await ctx.sandbox.run(["ip", "-n", "d1", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"]);
      expect(v6).toContain(`${a.d1v6}/64`);
      expect(v6).not.toContain("tentative");
      expect(await ctx.sandbox.run(["ip", "-n", "d1", "-6", "route", "show", "default"])).toContain("via fd00:32:1::1 dev eth0 proto 212");
      expect(await ctx.sandbox.run(["sysctl", "-n", "net.ipv6.conf.all.forwarding"])).toBe("1\n");
      if (backend === "nftables") {
        const table = await ctx.sandbox.run(["nft", "list", "table", "ip6", "hostnet"]);
        expect(table).toMatch(/ip6 saddr fd00:32:1::\/64 ip6 daddr != fd00:32:1::\/64 masquerade/);
        expect(table).toMatch(/ip6 daddr != ::1 fib daddr type local tcp dport 8080 dnat to \[fd00:32:1:/);
      } else {
        expect(await ctx.sandbox.run(["ip6tables-save", "-t", "nat"])).toMatch(/-A HOSTNET-POSTROUTING -s fd00:32:1::\/64 ! -d fd00:32:1::\/64 .*-j MASQUERADE/);
      }
      // Stable: a refresh reads back what was declared, and nothing is left to change.
      await project.refresh();
      expect((await project.preview(["--expect-no-changes"])).code).toBe(0);
      for (const ns of ["d1", ...(full ? ["s1"] : [])]) {
        await ctx.sandbox.serve(ns, "tcp", 80);
        await ctx.sandbox.serve(ns, "udp", 5353);
      }
      await ctx.sandbox.serve("outside", "tcp", 9000);
    });

    test("container to container on one network, both families", async () => {
      expect(await ping("d2", a.d1)).toBe(true);
      expect(await ping("d2", a.d1v6)).toBe(true);
    });

    test("masquerade: the outside sees the host's uplink address, both families", async () => {
      expect(await ask("d1", "tcp", "10.200.0.2", 9000)).toBe("10.200.0.1");
      expect(await ask("d1", "tcp", "fd00:200::2", 9000)).toBe("fd00:200::1");
    });

    test("forwards from outside, tcp and udp, both families", async () => {
      expect(await ask("outside", "tcp", "10.200.0.1", 8080)).toBe("10.200.0.2");
      expect(await ask("outside", "tcp", "fd00:200::1", 8080)).toBe("fd00:200::2");
      expect(await ask("outside", "udp", "10.200.0.1", 15353)).toBe("10.200.0.2");
      expect(await ask("outside", "udp", "fd00:200::1", 15353)).toBe("fd00:200::2");
    });

    test("forwards from the host itself to its own address, both families", async () => {
      expect(await ask(undefined, "tcp", "10.200.0.1", 8080)).toBe("10.200.0.1");
      expect(await ask(undefined, "tcp", "fd00:200::1", 8080)).toBe("fd00:200::1");
    });

    test("hairpin: the container itself and its neighbour through the host port, both families", async () => {
      expect(await ask("d1", "tcp", "10.200.0.1", 8080)).toBe("10.32.1.1");
      expect(await ask("d1", "tcp", "fd00:200::1", 8080)).toBe("fd00:32:1::1");
      expect(await ask("d2", "tcp", "fd00:200::1", 8080)).toBe("fd00:32:1::1");
    });

    test("the host's loopback: 127.0.0.1 by route_localnet, [::1] by the proxy (tcp and udp)", async () => {
      expect(await ask(undefined, "tcp", "127.0.0.1", 8080)).toBe("10.32.1.1");
      // socat connects from the host's address on the bridge, as Docker's userland proxy does.
      expect(await ask(undefined, "tcp", "::1", 8080)).toBe("fd00:32:1::1");
      expect(await ask(undefined, "udp", "::1", 15353)).toBe("fd00:32:1::1");
      expect(proxies()).toHaveLength(full ? 3 : 2);
    });

    if (full) {
      test("isolation between two dual-stack networks holds in both families", async () => {
        expect(await ping("d1", "10.32.2.2")).toBe(false);
        expect(await ping("d1", "fd00:32:2::2")).toBe(false);
        expect(await ping("e1", a.d1v6)).toBe(false);
        expect(await ping("e1", "fd00:200::2")).toBe(true); // while the outside stays reachable
        // A published port is published to the other networks too; e's masquerade (to anything
        // but its own subnet) makes it the host's address on br-d, in both families.
        expect(await ask("e1", "tcp", "10.32.2.1", 8080)).toBe("10.32.1.1");
        expect(await ask("e1", "tcp", "fd00:32:2::1", 8080)).toBe("fd00:32:1::1");
      });

      test("an IPv6-only network: automatic address, masquerade, forwards, [::1]", async () => {
        expect(a.s1).toMatch(/^fd00:33:/);
        expect(await ctx.sandbox.run(["ip", "-n", "s1", "-4", "-o", "addr", "show", "dev", "eth0"])).toBe("");
        expect(await ask("s1", "tcp", "fd00:200::2", 9000)).toBe("fd00:200::1");
        expect(await ask("outside", "tcp", "fd00:200::1", 8090)).toBe("fd00:200::2");
        expect(await ask(undefined, "tcp", "::1", 8090)).toBe("fd00:33::1");
        expect(await ask("outside", "tcp", "10.200.0.1", 8090)).toBeUndefined();
      });

      test("a proxy killed by hand is drift: refresh sees it, up starts it again", async () => {
        process.kill(proxyOf("TCP6-LISTEN:8080,")!, "SIGKILL");
        await new Promise((r) => setTimeout(r, 200));
        expect(proxies()).toHaveLength(2);
        expect(await ask(undefined, "tcp", "::1", 8080)).toBeUndefined();
        const refresh = await project.refresh();
        expect(refresh.stdout).toMatch(/d1|s1/);
        await project.up();
        expect(proxies()).toHaveLength(3);
        expect(await ask(undefined, "tcp", "::1", 8080)).toBe("fd00:32:1::1");
        expect(await ask(undefined, "tcp", "::1", 8090)).toBe("fd00:33::1");
      });

      test("a port moved by an update: its forwards and its proxy move, in both families", async () => {
        project.writeProgram(program(backend, full, 8085));
        await project.up();
        expect(await ask("outside", "tcp", "fd00:200::1", 8085)).toBe("fd00:200::2");
        expect(await ask("outside", "tcp", "10.200.0.1", 8085)).toBe("10.200.0.2");
        expect(await ask(undefined, "tcp", "::1", 8085)).toBe("fd00:32:1::1");
        expect(await ask("outside", "tcp", "fd00:200::1", 8080)).toBeUndefined();
        expect(await ask(undefined, "tcp", "::1", 8080)).toBeUndefined();
        expect(proxies()).toHaveLength(3);
        expect(proxyOf("TCP6-LISTEN:8080,")).toBeUndefined();
      });

      test("a UDP forward moved to another container: its IPv6 flow follows at once (conntrack cleared), as the IPv4 twin's does", async () => {
        project.writeProgram(program(backend, full, 8085, "d1"));
        await project.up();
        await expectUdpFlowFollowsMove(ctx.sandbox, {
          client: "outside", host: "fd00:200::1", port: 15354, sourcePort: 40001, from: "d1", to: "d2", targetPort: 5354,
          move: () => (project.writeProgram(program(backend, full, 8085, "d2")), project.up()),
        });
        // Back to the program the next test starts from.
        project.writeProgram(program(backend, full, 8085));
        await project.up();
        expect(proxies()).toHaveLength(3);
      });

      test("a container the state lost: gc names its proxy beside its rules and links, --delete stops it", async () => {
        const exported = JSON.parse((await project.cli(["stack", "export", "--stack", "test"])).stdout) as { deployment: { resources: { urn: string }[] } };
        const urn = exported.deployment.resources.map((r) => r.urn).find((u) => u.endsWith("::s1"));
        expect((await project.cli(["state", "delete", urn ?? "", "--yes", "--stack", "test"])).code).toBe(0);
        const dry = await project.hostnet(["gc", "--stack", project.qualifiedStack]);
        expect(dry.stdout).toContain(`orphan proxy [::1] proxies of hostnet:ipv6-${backend}/test/s1-endpoint (host)`);
        expect((await project.hostnet(["gc", "--stack", project.qualifiedStack, "--delete"])).code).toBe(0);
        expect(proxies()).toHaveLength(2);
        expect(proxyOf("TCP6-LISTEN:8090,")).toBeUndefined();
      });
    }

    test("destroy leaves the sandbox as it was: no rule, sysctl, record or proxy", async () => {
      await project.destroy();
      expect(namespaceMembers(ctx.sandbox.pid, "mnt", "socat")).toHaveLength(0);
      expect(await ctx.sandbox.snapshot()).toEqual(tablesBefore);
      await ctx.sandbox.run(["nft", "flush", "ruleset"]);
      expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
    });
  });
}
