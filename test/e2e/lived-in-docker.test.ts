// Issue 20, parts 4 and 5, through the real pulumi CLI with real packets, for each firewall
// backend, on a host that runs Docker 28 (test/support/lived-in.ts: its iptables ruleset with
// FORWARD policy DROP, docker0, a LAN peer routing through the host, a host service). Our
// networks work beside Docker (masquerade out, a published port from the LAN, the host and by
// hairpin); a LAN host routing straight to a container's address reaches nothing on a NAT-mode
// network and everything on a routed one; preview names the DOCKER-USER rules; Docker's rules
// are byte-identical after destroy.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { makeLivedInHost, type LivedInHost } from "../support/lived-in";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

function program(backend: string): string {
  return `
const backend = "${backend}";
const nat = new hostnet.BridgeNetwork("n", { bridgeName: "br-n", subnet: "10.41.1.0/24", ipv6Subnet: "fd00:41:1::/64", firewallBackend: backend });
const routed = new hostnet.BridgeNetwork("r", { bridgeName: "br-r", subnet: "10.41.2.0/24", ipv6Subnet: "fd00:41:2::/64", firewallBackend: backend, gatewayMode: "routed" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: nat, address: "10.41.1.2", ipv6Address: "fd00:41:1::2", ports: [{ hostPort: 8081, containerPort: 80 }] });
new hostnet.ContainerNetwork("c2", { mode: "bridge", network: nat, address: "10.41.1.3" });
new hostnet.ContainerNetwork("r1", { mode: "bridge", network: routed, address: "10.41.2.2", ipv6Address: "fd00:41:2::2" });
`;
}

for (const backend of ["nftables", "iptables"] as const) {
  describeAsRoot(`beside Docker 28, ${backend}`, () => {
    const ctx = useSandbox();
    const project = usePulumiProject(ctx, `lived-in-${backend}`);
    const ask = (ns: string | undefined, host: string, port: number) => ctx.sandbox.ask(ns, "tcp", host, port);
    let host: LivedInHost;
    let dockerBefore: string;

    test("preview names the rules it will put in DOCKER-USER; up makes them, tagged, above Docker's", async () => {
      host = await makeLivedInHost(ctx);
      dockerBefore = await host.dockerRules();
      project.writeProgram(program(backend));
      const preview = await project.preview();
      expect(preview.code).toBe(0);
      expect(preview.stdout).toMatch(/-I DOCKER-USER -o br-n -m conntrack --ctstate DNAT -m comment --comment \\?"hostnet:lived-in-[a-z]+\/test\/n-isolation\\?" -j ACCEPT/);
      await project.up();
      const dockerUser = await ctx.sandbox.run(["iptables", "-w", "-S", "DOCKER-USER"]);
      expect(dockerUser).toMatch(/-A DOCKER-USER -i br-n -m comment --comment "hostnet:lived-in-\w+\/test\/n-isolation" -j ACCEPT/);
      expect(dockerUser).toMatch(/-A DOCKER-USER -o br-r -m comment --comment "hostnet:lived-in-\w+\/test\/r-isolation" -j ACCEPT/);
      expect(await ctx.sandbox.run(["ip6tables", "-w", "-S", "DOCKER-USER"])).toMatch(/-A DOCKER-USER -i br-n -m comment --comment "hostnet:lived-in-\w+\/test\/n-isolation6" -j ACCEPT/);
      for (const ns of ["c1", "c2", "r1"]) await ctx.sandbox.serve(ns, "tcp", 80);
      await ctx.sandbox.serve(host.lan, "tcp", 9000);
    });

    test("masquerade out, a published port from the LAN, the host and by hairpin, the network itself", async () => {
      expect(await ask("c1", host.peerAddress, 9000)).toBe(host.hostAddress);
      expect(await ask("r1", host.peerAddress, 9000)).toBe(host.hostAddress);
      expect(await ask(host.lan, host.hostAddress, 8081)).toBe(host.peerAddress);
      expect(await ask(undefined, host.hostAddress, 8081)).toBeDefined();
      expect(await ask("c2", host.hostAddress, 8081)).toBeDefined();
      expect(await ask("c2", "10.41.1.2", 80)).toBe("10.41.1.3");
      // The host's own service is still the host's.
      expect(await ask(host.lan, host.hostAddress, host.servicePort)).toBe(host.peerAddress);
    });

    test("direct routing from the LAN: a NAT-mode network's containers are unreachable, a routed one's reachable, in both families; networks stay apart", async () => {
      expect(await ask(host.lan, "10.41.1.2", 80)).toBeUndefined();
      expect(await ask(host.lan, "fd00:41:1::2", 80)).toBeUndefined();
      expect(await ask(host.lan, "fd00:41:2::2", 80)).toBe(host.peerAddress6);
      expect(await ask(host.lan, host.hostAddress6, 8081)).toBe(host.peerAddress6);
      expect(await ask(host.lan, "10.41.1.3", 80)).toBeUndefined();
      expect(await ask(host.lan, "10.41.2.2", 80)).toBe(host.peerAddress);
      expect(await ask("r1", "10.41.1.2", 80)).toBeUndefined();
      expect(await ask("c1", "10.41.2.2", 80)).toBeUndefined();
      // Docker's DROP policy alone would stop the first: our rule stops it without that policy too.
      await ctx.sandbox.run(["iptables", "-w", "-P", "FORWARD", "ACCEPT"]);
      try {
        expect(await ask(host.lan, "10.41.1.2", 80)).toBeUndefined();
        expect(await ask(host.lan, "10.41.2.2", 80)).toBe(host.peerAddress);
      } finally {
        await ctx.sandbox.run(["iptables", "-w", "-P", "FORWARD", "DROP"]);
      }
    });

    test("destroy: Docker's rules are byte for byte as they were", async () => {
      await project.destroy();
      expect(await host.dockerRules()).toBe(dockerBefore);
      await host.remove();
    });
  });
}
