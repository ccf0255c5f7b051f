// Scenario 9: bad input fails in `pulumi preview`, naming the resource and the field, and the
// kernel is untouched.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

interface BadCase {
  readonly what: string;
  /** The resource and field a check failure must name... */
  readonly resource?: string;
  readonly field?: string;
  /** ...or the message a component must fail with. */
  readonly message?: RegExp;
  /** The rejected value, which the message must show (Pulumi prints a nested one as {<nil>}). */
  readonly shows?: string;
  readonly code: string;
}

const cases: BadCase[] = [
  { what: "interface name of 16 characters", resource: "b", field: "name", code: `new hostnet.Bridge("b", { name: "abcdefghijklmnop" });` },
  { what: "prefix length 33", resource: "b", field: "addresses[0]", code: `new hostnet.Bridge("b", { name: "br0", addresses: ["10.0.3.1/33"] });` },
  { what: "broadcast address as a host address", resource: "b", field: "addresses[0]", code: `new hostnet.Bridge("b", { name: "br0", addresses: ["10.0.3.255/24"] });` },
  { what: "peer name with a slash", resource: "v", field: "peer.name", code: `new hostnet.VethPair("v", { name: "vh0", peer: { name: "et/h0" } });` },
  { what: "MTU 70000", resource: "v", field: "mtu", code: `new hostnet.VethPair("v", { name: "vh0", mtu: 70000, peer: { name: "eth0" } });` },
  { what: "namespace name with a space", resource: "n", field: "name", code: `new hostnet.Namespace("n", { name: "my ns" });` },
  { what: "peer namespace given as a /proc path", resource: "v", field: "peer.namespace", shows: "/proc/1/ns/net", code: `new hostnet.VethPair("v", { name: "vh0", peer: { name: "eth0", namespace: "/proc/1/ns/net" } });` },
  { what: "route destination with host bits", resource: "r", field: "destination", code: `new hostnet.Route("r", { destination: "10.0.3.7/24", device: "lo" });` },
  { what: "IPv6 gateway for an IPv4 route", resource: "r", field: "via", code: `new hostnet.Route("r", { destination: "10.0.3.0/24", via: "fd00::1" });` },
  { what: "route with neither gateway nor device", resource: "r", field: "via", code: `new hostnet.Route("r", { destination: "default" });` },
  { what: "address that is not an address", resource: "a", field: "address", code: `new hostnet.Address("a", { device: "lo", address: "300.1.1.1/24" });` },
  { what: "host port 0", resource: "f", field: "hostPort", code: `new hostnet.PortForward("f", { protocol: "tcp", hostPort: 0, target: "10.0.3.2" });` },
  { what: "host port 70000", resource: "f", field: "hostPort", code: `new hostnet.PortForward("f", { protocol: "tcp", hostPort: 70000, target: "10.0.3.2" });` },
  { what: "reversed port range", resource: "f", field: "hostPort", code: `new hostnet.PortForward("f", { protocol: "udp", hostPort: "9000-8000", target: "10.0.3.2" });` },
  { what: "unknown protocol", resource: "f", field: "protocol", code: `new hostnet.PortForward("f", { protocol: "icmp", hostPort: 80, target: "10.0.3.2" });` },
  { what: "target that is not an address", resource: "f", field: "target", code: `new hostnet.PortForward("f", { protocol: "tcp", hostPort: 80, target: "10.0.3" });` },
  { what: "NAT source CIDR /33", resource: "m", field: "source", code: `new hostnet.NatRule("m", { type: "masquerade", source: "10.0.3.0/33" });` },
  { what: "SNAT without toSource", resource: "m", field: "toSource", code: `new hostnet.NatRule("m", { type: "snat", source: "10.0.3.0/24" });` },
  { what: "IPv4 and IPv6 mixed in one rule", resource: "m", field: "source", code: `new hostnet.NatRule("m", { type: "masquerade", source: "10.0.3.0/24", destination: "fd00::/64" });` },
  { what: "sysctl outside net", resource: "s", field: "key", code: `new hostnet.Sysctl("s", { key: "kernel.panic", value: "1" });` },
  {
    what: "two containers asking for one address",
    message: /ContainerNetwork c2: address 10\.0\.3\.2 of c2 is already taken by c1 on 10\.0\.3\.0\/24/,
    code: `const n = new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, address: "10.0.3.2" });
new hostnet.ContainerNetwork("c2", { mode: "bridge", network: n, address: "10.0.3.2" });`,
  },
  {
    what: "gateway outside its subnet",
    message: /BridgeNetwork n: gateway: address 10\.9\.9\.1 of the gateway of n is not a host address of 10\.0\.3\.0\/24/,
    code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24", gateway: "10.9.9.1" });`,
  },
  {
    what: "two port forwards on one host port",
    message: /ContainerNetwork c2: host port tcp\/8000-8100 of c2 is already forwarded by c1/,
    code: `const n = new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: 8080, containerPort: 80 }] });
new hostnet.ContainerNetwork("c2", { mode: "bridge", network: n, ports: [{ hostPort: "8000-8100", protocol: "tcp" }] });`,
  },
  {
    what: "an address outside the network's subnet",
    message: /ContainerNetwork c1: address 10\.9\.0\.5 of c1 is not a host address of 10\.0\.3\.0\/24/,
    code: `const n = new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, address: "10.9.0.5" });`,
  },
  {
    what: "a machine name that is not one",
    message: /machine name "-m1" may use only letters/,
    code: `new hostnet.Bridge("b", { name: "br0", machine: new hostnet.Machine("-m1", { host: "192.168.77.1" }) });`,
  },
  {
    what: "a connection whose host would read as an ssh option",
    resource: "b",
    field: "connection.host",
    code: `new hostnet.Bridge("b", { name: "br0", machine: new hostnet.Machine("m1", { host: "-oProxyCommand=touch /tmp/x" }) });`,
  },
  {
    what: "a private key given as a path",
    resource: "b",
    field: "connection.privateKey",
    code: `new hostnet.Bridge("b", { name: "br0", machine: new hostnet.Machine("m1", { host: "192.168.77.1", privateKey: "/root/.ssh/id_ed25519" }) });`,
  },
];

describeAsRoot("bad input is refused at preview (scenario 9)", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "bad-input");

  test.each(cases)("$what", async ({ resource, field, message, shows, code }) => {
    project.writeProgram(code);
    const preview = await project.preview();
    expect(preview.code).not.toBe(0);
    // e.g. "error: pulumi-nodejs:dynamic/hostnet:Bridge resource 'b': property name value {…} has a problem: …"
    if (message) {
      // A component's error reads as that component's, not as a crash with a stack trace.
      expect(preview.output).toMatch(message);
      expect(preview.output).not.toMatch(/unhandled exception|^\s+at /m);
    } else expect(preview.output).toContain(`resource '${resource}': property ${field} value`);
    if (shows) expect(preview.output).toContain(`(got "${shows}")`);
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});

describeAsRoot("the advice in a refusal works as written on the component that printed it", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "advice");

  test("a BridgeNetwork over a bridge made by hand: refused with advice, then adopted with adopt: true on the network", async () => {
    await ctx.sandbox.run(["ip", "link", "add", "br-adv", "type", "bridge"]);
    const program = (adopt: boolean) => `new hostnet.BridgeNetwork("n", { bridgeName: "br-adv", subnet: "10.0.7.0/24", masquerade: false, ipForward: false, localhostForwards: false${adopt ? ", adopt: true" : ""} });`;
    project.writeProgram(program(false));
    const refused = await project.cli(["up", "--yes", "--skip-preview", "--stack", "test"]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/link br-adv in the host netns already exists and it was not created by pulumi-hostnet; to manage it, set `adopt: true` on this resource, or on the BridgeNetwork/);
    project.writeProgram(program(true));
    await project.up();
    expect(await ctx.sandbox.run(["ip", "-d", "link", "show", "br-adv"])).toContain("alias hostnet:advice/test/n-bridge");
    await project.destroy();
    // Adopted, so deleted on destroy: the sandbox is as it began.
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
