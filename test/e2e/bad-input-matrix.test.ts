// A table of bad inputs across every resource and both components. Each case is refused twice:
// by the provider's check() called directly (fake runner: names the property), and by a real
// `pulumi preview` (names the resource and the property, or fails with the component's message)
// that leaves the sandbox as it was.
//
// Pulumi stops a preview at the first failing check and reports only that one (checked with
// pulumi 3.260; `pulumi up --continue-on-error` stops there too), so every case has a preview of
// its own. They run a few at a time (LANES), each lane with its own project and stack; a preview
// that fails writes no state, so a lane's stack is reused from case to case.
import { FakeRunner } from "../../provider/exec";
import { makeProviders, type ResourceKind } from "../../provider/resources";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { Listeners } from "../support/listeners";
import { PulumiProject, type CliResult } from "../support/pulumi";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

/** Previews at a time. Each spends about half its time waiting (process start-up, gRPC handshakes), so on 2 cores a third lane keeps both busy. */
const LANES = Number(process.env.MATRIX_LANES ?? 3);

type Props = Record<string, unknown>;

/** A resource given bad input: its check fails, naming `field`. */
interface ResourceCase {
  readonly what: string;
  readonly type: keyof typeof SDK_DEFAULTS;
  readonly args: Props;
  readonly field: string;
  readonly reason?: RegExp;
}

/** A component given bad input: its constructor throws `message`, or a child's check names `resource` and `field`. */
interface ComponentCase {
  readonly what: string;
  readonly code: string;
  readonly message?: RegExp;
  readonly resource?: string;
  readonly field?: string;
}

/** What each SDK class adds to the arguments before the engine calls check (sdk/*.ts). */
const SDK_DEFAULTS = {
  Namespace: { kind: "namespace", defaults: { loopbackUp: true, adopt: false }, tagged: true },
  Bridge: { kind: "bridge", defaults: { addresses: [], up: true, adopt: false }, tagged: true },
  VethPair: { kind: "veth", defaults: { addresses: [], up: true, adopt: false }, tagged: true },
  Route: { kind: "route", defaults: { table: "main", adopt: false }, tagged: false },
  Address: { kind: "address", defaults: { adopt: false }, tagged: false },
  Sysctl: { kind: "sysctl", defaults: {}, tagged: false },
  NatRule: { kind: "natrule", defaults: { firewallBackend: "auto" }, tagged: true },
  PortForward: { kind: "portforward", defaults: { firewallBackend: "auto", fromHost: true, hairpin: true }, tagged: true },
  BridgeEndpoint: { kind: "endpoint", defaults: { interfaceName: "eth0", adopt: false }, tagged: true },
} as const satisfies Record<string, { kind: ResourceKind; defaults: Props; tagged: boolean }>;

const L16 = "abcdefghijklmnop";
const r = (what: string, type: ResourceCase["type"], args: Props, field: string, reason?: RegExp): ResourceCase => ({ what, type, args, field, reason });

const resourceCases: ResourceCase[] = [
  // Namespace
  r("namespace: name of 65 characters", "Namespace", { name: "n".repeat(65) }, "name", /at most 64/),
  r("namespace: empty name", "Namespace", { name: "" }, "name", /must not be empty/),
  r("namespace: name with '/'", "Namespace", { name: "a/b" }, "name"),
  r("namespace: unicode name", "Namespace", { name: "café" }, "name"),
  r("namespace: loopbackUp that is not a boolean", "Namespace", { name: "ok", loopbackUp: "yes" }, "loopbackUp"),
  r("namespace: missing name", "Namespace", {}, "name"),
  // Bridge
  r("bridge: name of 16 characters", "Bridge", { name: L16 }, "name", /at most 15/),
  r("bridge: empty name", "Bridge", { name: "" }, "name", /must not be empty/),
  r("bridge: name with '/'", "Bridge", { name: "br/0" }, "name"),
  r("bridge: name with a space", "Bridge", { name: "br 0" }, "name"),
  r("bridge: name starting with '-'", "Bridge", { name: "-br0" }, "name", /must not start with '-'/),
  r("bridge: prefix length 33", "Bridge", { name: "br0", addresses: ["10.0.3.1/33"] }, "addresses[0]"),
  r("bridge: network address as a host", "Bridge", { name: "br0", addresses: ["10.0.3.0/24"] }, "addresses[0]", /network address/),
  r("bridge: broadcast address as a host, second in the list", "Bridge", { name: "br0", addresses: ["10.0.3.1/24", "10.0.4.255/24"] }, "addresses[1]", /broadcast address/),
  r("bridge: MTU 65536", "Bridge", { name: "br0", mtu: 65536 }, "mtu", /at most 65535/),
  r("bridge: missing name", "Bridge", {}, "name"),
  // BridgeEndpoint
  r("endpoint: host interface of 16 characters", "BridgeEndpoint", { namespace: "c1", bridge: "br0", hostInterface: L16, address: "10.0.3.2/24" }, "hostInterface", /at most 15/),
  r("endpoint: address without its prefix", "BridgeEndpoint", { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2" }, "address", /prefix length/),
  r("endpoint: an IPv6 gateway for an IPv4 address", "BridgeEndpoint", { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24", gateway: "fd00::1" }, "gateway", /ipv6 but the address/),
  r("endpoint: ipv6Address beside an IPv6 address", "BridgeEndpoint", { namespace: "c1", bridge: "br0", hostInterface: "vh-c1", address: "fd00:3::2/64", ipv6Address: "fd00:4::2/64" }, "ipv6Address", /is IPv6 already/),
  r("endpoint: missing namespace", "BridgeEndpoint", { bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24" }, "namespace"),
  // VethPair
  r("veth: name of 16 characters", "VethPair", { name: L16, peer: { name: "eth0" } }, "name", /at most 15/),
  r("veth: unicode peer name", "VethPair", { name: "vh0", peer: { name: "éth0" } }, "peer.name"),
  r("veth: both ends one name in one namespace", "VethPair", { name: "vh0", peer: { name: "vh0" } }, "peer.name", /equals the first end/),
  r("veth: master with a space", "VethPair", { name: "vh0", master: "br 0", peer: { name: "eth0" } }, "master"),
  r("veth: peer address /33", "VethPair", { name: "vh0", peer: { name: "eth0", addresses: ["10.0.3.2/33"] } }, "peer.addresses[0]"),
  r("veth: peer namespace with '/'", "VethPair", { name: "vh0", peer: { name: "eth0", namespace: "../x" } }, "peer.namespace"),
  r("veth: missing peer", "VethPair", { name: "vh0" }, "peer"),
  // Route
  r("route: destination /33", "Route", { destination: "10.0.3.0/33", device: "lo" }, "destination"),
  r("route: IPv6 gateway for an IPv4 route", "Route", { destination: "10.0.3.0/24", via: "fd00::1" }, "via", /ipv6 but the route is ipv4/),
  r("route: IPv4 gateway for an IPv6 route", "Route", { destination: "fd00:1::/64", via: "10.0.0.1" }, "via", /ipv4 but the route is ipv6/),
  r("route: gateway that is a word", "Route", { destination: "default", via: "gateway" }, "via"),
  r("route: device of 16 characters", "Route", { destination: "default", device: L16 }, "device"),
  r("route: negative metric", "Route", { destination: "default", via: "10.0.0.1", metric: -1 }, "metric"),
  r("route: table with a shell command", "Route", { destination: "default", via: "10.0.0.1", table: "main; reboot" }, "table"),
  r("route: missing destination", "Route", { via: "10.0.0.1" }, "destination"),
  // Address
  r("address: network address", "Address", { device: "lo", address: "10.0.3.0/24" }, "address", /network address/),
  r("address: prefix 129 on IPv6", "Address", { device: "lo", address: "fd00::1/129" }, "address"),
  r("address: device with '/'", "Address", { device: "e/th0", address: "10.0.3.1/24" }, "device"),
  r("address: missing address", "Address", { device: "lo" }, "address"),
  // Sysctl
  r("sysctl: key with a shell command", "Sysctl", { key: "net.ipv4.ip_forward;reboot", value: "1" }, "key"),
  r("sysctl: value with a newline", "Sysctl", { key: "net.ipv4.ip_forward", value: "1\n0" }, "value"),
  r("sysctl: empty value", "Sysctl", { key: "net.ipv4.ip_forward", value: "" }, "value"),
  // NatRule
  r("nat: unknown type", "NatRule", { type: "redirect", source: "10.0.3.0/24" }, "type"),
  r("nat: masquerade with toSource", "NatRule", { type: "masquerade", source: "10.0.3.0/24", toSource: "10.0.9.1" }, "toSource", /only to snat/),
  r("nat: dnat without toDestination", "NatRule", { type: "dnat", protocol: "tcp", destinationPort: 80 }, "toDestination"),
  r("nat: dnat matching outInterface", "NatRule", { type: "dnat", toDestination: "10.0.3.2", outInterface: "eth0" }, "outInterface", /before routing/),
  r("nat: port without protocol", "NatRule", { type: "dnat", toDestination: "10.0.3.2", destinationPort: 80 }, "protocol", /need a protocol/),
  r("nat: source with host bits", "NatRule", { type: "masquerade", source: "10.0.3.1/24" }, "source"),
  r("nat: destination port 65536", "NatRule", { type: "dnat", toDestination: "10.0.3.2", protocol: "tcp", destinationPort: 65536 }, "destinationPort"),
  r("nat: reversed toPort range", "NatRule", { type: "dnat", toDestination: "10.0.3.2", protocol: "tcp", destinationPort: "80-90", toPort: "90-80" }, "toPort"),
  r("nat: unknown firewall backend", "NatRule", { type: "masquerade", source: "10.0.3.0/24", firewallBackend: "pf" }, "firewallBackend"),
  // PortForward
  r("forward: host port 0", "PortForward", { protocol: "tcp", hostPort: 0, target: "10.0.3.2" }, "hostPort"),
  r("forward: host port 65536", "PortForward", { protocol: "tcp", hostPort: 65536, target: "10.0.3.2" }, "hostPort"),
  r("forward: reversed port range", "PortForward", { protocol: "udp", hostPort: "9000-8000", target: "10.0.3.2" }, "hostPort", /reversed/),
  r("forward: range starting at 0", "PortForward", { protocol: "udp", hostPort: "0-10", target: "10.0.3.2" }, "hostPort"),
  r("forward: fractional port", "PortForward", { protocol: "tcp", hostPort: 8080.5, target: "10.0.3.2" }, "hostPort"),
  r("forward: protocol sctp", "PortForward", { protocol: "sctp", hostPort: 80, target: "10.0.3.2" }, "protocol"),
  r("forward: missing protocol", "PortForward", { hostPort: 80, target: "10.0.3.2" }, "protocol"),
  r("forward: target with a prefix", "PortForward", { protocol: "tcp", hostPort: 80, target: "10.0.3.2/24" }, "target"),
  r("forward: target port with a range", "PortForward", { protocol: "tcp", hostPort: "8000-8010", target: "10.0.3.2", targetPort: 80 }, "targetPort", /leave targetPort unset/),
  r("forward: IPv6 hostAddress for an IPv4 target", "PortForward", { protocol: "tcp", hostPort: 80, hostAddress: "fd00::1", target: "10.0.3.2" }, "hostAddress", /different families/),
];

const NET = `const n = new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24" });\n`;
const componentCases: ComponentCase[] = [
  { what: "two containers asking for one address", message: /address 10\.0\.3\.2 of c2 is already taken by c1 on 10\.0\.3\.0\/24/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, address: "10.0.3.2" });\nnew hostnet.ContainerNetwork("c2", { mode: "bridge", network: n, address: "10.0.3.2" });` },
  { what: "a container asking for the gateway's address", message: /address 10\.0\.3\.1 of c1 is already taken by the gateway of n/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, address: "10.0.3.1" });` },
  { what: "a container address outside the subnet", message: /address 10\.0\.4\.2 of c1 is not a host address of 10\.0\.3\.0\/24/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, address: "10.0.4.2" });` },
  { what: "the broadcast address as a container's", message: /address 10\.0\.3\.255 of c1 is not a host address/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, address: "10.0.3.255" });` },
  { what: "a gateway outside its subnet", message: /address 10\.9\.9\.1 of the gateway of n is not a host address of 10\.0\.3\.0\/24/, code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24", gateway: "10.9.9.1" });` },
  { what: "a subnet /33", message: /subnet "10\.0\.3\.0\/33" is not a CIDR/, code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/33" });` },
  { what: "an IPv6 subnet longer than /120", message: /subnet fd00:3::\/124 is too small: an IPv6 network needs at least a \/120/, code: `new hostnet.BridgeNetwork("n", { subnet: "fd00:3::/124" });` },
  { what: "ipv6Subnet beside an IPv6 subnet", message: /subnet fd00:3::\/64 is IPv6 already: ipv6Subnet goes beside an IPv4 subnet/, code: `new hostnet.BridgeNetwork("n", { subnet: "fd00:3::/64", ipv6Subnet: "fd00:4::/64" });` },
  { what: "an IPv4 ipv6Subnet", message: /ipv6Subnet 10\.0\.4\.0\/24 is not an IPv6 subnet/, code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24", ipv6Subnet: "10.0.4.0/24" });` },
  { what: "an IPv6 gateway outside its subnet", message: /address fd00:9::1 of the IPv6 gateway of n is not a host address of fd00:3::\/64/, code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24", ipv6Subnet: "fd00:3::/64", ipv6Gateway: "fd00:9::1" });` },
  { what: "an ipv6Address on an IPv4-only network", message: /ipv6Address fd00:3::2: the network has no ipv6Subnet/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ipv6Address: "fd00:3::2" });` },
  { what: "an IPv6 hostAddress on an IPv4-only network", resource: "c1", field: "ports[0].hostAddress", code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: 8080, hostAddress: "fd00::1" }] });` },
  { what: "a subnet with host bits", message: /subnet 10\.0\.3\.1\/24 has host bits set; the network is 10\.0\.3\.0\/24/, code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.1/24" });` },
  { what: "a full subnet", message: /no free address left on 10\.0\.3\.0\/30 for c2/, code: `const n = new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/30" });\nnew hostnet.ContainerNetwork("c1", { mode: "bridge", network: n });\nnew hostnet.ContainerNetwork("c2", { mode: "bridge", network: n });` },
  { what: "two containers forwarding one host port", message: /host port tcp\/8080 of c2 is already forwarded by c1/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: 8080, containerPort: 80 }] });\nnew hostnet.ContainerNetwork("c2", { mode: "bridge", network: n, ports: [{ hostPort: 8080 }] });` },
  { what: "overlapping UDP port ranges", message: /host port udp\/5005-5020 of c2 is already forwarded by c1/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: "5000-5010", protocol: "udp" }] });\nnew hostnet.ContainerNetwork("c2", { mode: "bridge", network: n, ports: [{ hostPort: "5005-5020", protocol: "udp" }] });` },
  { what: "a bridge name of 16 characters", resource: "n-bridge", field: "name", code: `new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24", bridgeName: "${L16}" });` },
  { what: "a namespace name with a space", resource: "c1", field: "name", code: `new hostnet.ContainerNetwork("c1", { mode: "none", namespaceName: "my ns" });` },
  { what: "a host interface name of 16 characters", resource: "c1", field: "hostInterface", code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, hostInterfaceName: "${L16}" });` },
  { what: "a container interface name with '/'", resource: "c1", field: "interfaceName", code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, interfaceName: "eth/0" });` },
  { what: "a container port of 70000", resource: "c1", field: "ports[0].targetPort", code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: 8080, containerPort: 70000 }] });` },
];

/** A case's program, and what its preview must print. */
interface Planned {
  readonly what: string;
  readonly code: string;
  readonly expect: RegExp;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function propertyLine(resource: string, field: string): RegExp {
  // e.g. "error: pulumi-nodejs:dynamic/hostnet:Bridge resource 'b': property name value {…} has a problem: …"
  return new RegExp(`resource '${escape(resource)}': property ${escape(field)} value`);
}

const planned: Planned[] = [
  ...resourceCases.map((c, i) => ({ what: c.what, code: `new hostnet.${c.type}("r${i}", ${JSON.stringify(c.args)});`, expect: propertyLine(`r${i}`, c.field) })),
  ...componentCases.map((c) => ({ what: c.what, code: c.code, expect: c.message ?? propertyLine(c.resource ?? "", c.field ?? "") })),
];

describe("every resource case fails the provider's check, naming its property", () => {
  const providers = makeProviders(new FakeRunner());

  test.each(resourceCases.map((c, i) => ({ ...c, i })))("$what", async ({ type, args, field, reason, i }) => {
    const sdk = SDK_DEFAULTS[type];
    const news = { ...sdk.defaults, ...args, ...(sdk.tagged ? { tag: `hostnet:bad-input-matrix/test/r${i}` } : {}) };
    const result = await providers[sdk.kind].check!({}, news);
    expect(result.inputs).toBeUndefined();
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property: field, reason: reason ? expect.stringMatching(reason) : expect.any(String) })]));
  });
});

describeAsRoot("every case fails `pulumi preview` and leaves the sandbox as it was", () => {
  const ctx = useSandbox();
  const lanes = Array.from({ length: LANES }, () => new PulumiProject(ctx, "bad-input-matrix"));
  const outcomes = new Map<string, { result: CliResult; after: string }>();
  let clean = 0;

  beforeAll(async () => {
    await Promise.all(lanes.map((lane) => lane.init()));
    let next = 0;
    await Promise.all(
      lanes.map(async (lane) => {
        for (let i = next++; i < planned.length; i = next++) {
          const { what, code } = planned[i]!;
          lane.writeProgram(code);
          const result = await lane.preview();
          outcomes.set(what, { result, after: await ctx.sandbox.snapshot() });
        }
      }),
    );
  });

  afterAll(() => {
    for (const lane of lanes) lane.cleanup();
    console.log(`bad-input matrix: ${clean}/${planned.length} cases rejected cleanly`);
  });

  test("the matrix has at least 60 cases across every resource and both components", () => {
    expect(planned.length).toBeGreaterThanOrEqual(60);
    expect(new Set(resourceCases.map((c) => c.type)).size).toBe(Object.keys(SDK_DEFAULTS).length);
    expect(componentCases.some((c) => c.code.includes("ContainerNetwork"))).toBe(true);
    expect(new Set(planned.map((p) => p.what)).size).toBe(planned.length);
  });

  test.each(planned)("$what", ({ what, expect: line }) => {
    const outcome = outcomes.get(what);
    expect(outcome).toBeDefined();
    const { result, after } = outcome!;
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(line);
    // The engine never reached create: nothing to clean up, nothing changed.
    expect(result.output).not.toMatch(/Exception calling application|Unhandled exception|TypeError|ReferenceError/);
    expect(after).toEqual(ctx.before);
    clean++;
  });
});

// issue 20: probes
// A probe (or a Reachability flow) from a namespace that does not exist: refused by check where
// the kernel can be read, so `pulumi preview` names the namespace, with no stack trace.
const probeCases = [
  { what: "a probe from a namespace that does not exist", resource: "p", field: "namespace", code: `new hostnet.Probe("p", { namespace: "nosuch", protocol: "udp", address: "10.0.3.2", port: 53, expect: "reachable" });` },
  { what: "a Reachability flow from a namespace that does not exist", resource: "r", field: "flows[1].namespace", code: `new hostnet.Reachability("r", { flows: [{ protocol: "icmp", address: "127.0.0.1", expect: "reachable" }, { namespace: "nosuch", protocol: "tcp", address: "10.0.3.2", port: 80, expect: "reachable" }] });` },
];

describeAsRoot("issue 20: probes: a missing source namespace fails `pulumi preview`, naming it", () => {
  const ctx = useSandbox();
  const project = new PulumiProject(ctx, "bad-input-probes");
  beforeAll(() => project.init());
  afterAll(() => project.cleanup());

  test.each(probeCases)("$what", async ({ resource, field, code }) => {
    project.writeProgram(code);
    const result = await project.preview();
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(propertyLine(resource, field));
    expect(result.output).toContain("netns nosuch does not exist (`ip netns list` shows the names there)");
    expect(result.output).not.toMatch(/Exception calling application|Unhandled exception|TypeError|ReferenceError|\n\s+at .*\.(js|ts):\d+/);
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});

// issue 20: ports in use. Real listeners in the sandbox (socat, started and killed by pid) hold
// host ports; a forward of one is refused at preview, naming the port, the address and the
// process, with no stack trace, and the sandbox is left as it was.
describeAsRoot("issue 20: ports in use", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "bad-input-ports");
  const listeners = new Listeners(() => ctx.sandbox);
  afterAll(() => listeners.stopAll());

  const cases: { what: string; listen: [string, number, "tcp" | "udp"]; code: string; expect: (pid: number) => RegExp }[] = [
    {
      what: "a PortForward of a tcp port a service listens on (0.0.0.0)",
      listen: ["TCP4-LISTEN:18101,bind=0.0.0.0,reuseaddr", 18101, "tcp"],
      code: `new hostnet.PortForward("f", { protocol: "tcp", hostPort: 18101, target: "10.0.3.2" });`,
      expect: (pid) => new RegExp(`resource 'f': property hostPort value .*host port tcp/18101 is in use on this machine: socat \\(pid ${pid}\\) listens on 0\\.0\\.0\\.0:18101`),
    },
    {
      what: "a container's udp port that a dual-stack socket (*) holds",
      listen: ["UDP6-RECVFROM:18102,ipv6only=0,reuseaddr", 18102, "udp"],
      code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: 18102, protocol: "udp" }] });`,
      expect: (pid) => new RegExp(`resource 'c1': property ports\\[0\\]\\.hostPort value .*host port udp/18102 is in use on this machine: socat \\(pid ${pid}\\) listens on \\*:18102`),
    },
    {
      what: "a dual-stack container's port that an IPv6-only socket ([::]) holds",
      listen: ["TCP6-LISTEN:18103,ipv6only=1,reuseaddr", 18103, "tcp"],
      code: `const n = new hostnet.BridgeNetwork("n", { subnet: "10.0.3.0/24", ipv6Subnet: "fd00:3::/64" });\nnew hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, ports: [{ hostPort: 18103 }] });`,
      expect: (pid) => new RegExp(`resource 'c1': property ports\\[0\\]\\.hostPort value .*host port tcp/18103 is in use on this machine: socat \\(pid ${pid}\\) listens on \\[::\\]:18103`),
    },
  ];

  test.each(cases)("$what", async ({ listen, code, expect: line }) => {
    const pid = await listeners.start(...listen);
    try {
      project.writeProgram(code);
      const result = await project.preview();
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(line(pid));
      expect(result.output).not.toMatch(/Exception calling application|Unhandled exception|TypeError|ReferenceError|\n\s+at /);
    } finally {
      await listeners.stopAll();
    }
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});

// issue 20: subnets and names. Each clash is refused at preview, naming both resources (within
// the program) or the holder (on the host: its addresses and routes; another stack's objects,
// known by their tags, simulated here by links and a netns carrying another stack's tag), with
// no stack trace, and the sandbox as it was. A host of its own, lived in.
const OV = (name: string, vni: number, subnet: string, extra = "") => `new hostnet.OverlayNetwork("${name}", { subnet: "${subnet}", vni: ${vni}, machines: [{ address: "192.168.1.5" }]${extra} });`;
const claimCases: Planned[] = [
  // Within the program.
  { what: "two networks on overlapping subnets", expect: /BridgeNetwork b: subnet 10\.0\.3\.128\/25 of network "b" overlaps 10\.0\.3\.0\/24 of network "a" on the local machine/, code: `new hostnet.BridgeNetwork("a", { subnet: "10.0.3.0/24" });\nnew hostnet.BridgeNetwork("b", { subnet: "10.0.3.128/25" });` },
  { what: "two dual-stack networks on one IPv6 subnet", expect: /subnet fd00:3::\/64 of network "b" overlaps fd00:3::\/64 of network "a"/, code: `new hostnet.BridgeNetwork("a", { subnet: "10.0.3.0/24", ipv6Subnet: "fd00:3::/64" });\nnew hostnet.BridgeNetwork("b", { subnet: "10.0.4.0/24", ipv6Subnet: "fd00:3::/64" });` },
  { what: "an overlay on a bridge network's subnet", expect: /subnet 10\.0\.3\.0\/24 of network "ov" overlaps 10\.0\.3\.0\/24 of network "a"/, code: `new hostnet.BridgeNetwork("a", { subnet: "10.0.3.0/24" });\nnew hostnet.OverlayNetwork("ov", { subnet: "10.0.3.0/24", vni: 5, machines: [{ address: "192.168.1.5" }] });` },
  { what: "two networks with one bridge name", expect: /interface name br-x of the bridge of network "b" is already taken by the bridge of network "a"/, code: `new hostnet.BridgeNetwork("a", { subnet: "10.0.3.0/24", bridgeName: "br-x" });\nnew hostnet.BridgeNetwork("b", { subnet: "10.0.4.0/24", bridgeName: "br-x" });` },
  { what: "two containers with one netns name", expect: /network namespace web of container "c2" is already taken by container "c1"/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, namespaceName: "web" });\nnew hostnet.ContainerNetwork("c2", { mode: "none", namespaceName: "web" });` },
  { what: "two containers with one host interface name", expect: /interface name vh-x of container "c2" is already taken by container "c1"/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, hostInterfaceName: "vh-x" });\nnew hostnet.ContainerNetwork("c2", { mode: "bridge", network: n, hostInterfaceName: "vh-x" });` },
  { what: "two overlays with one VNI on one machine", expect: /VNI 42 on UDP port 4789 of network "ov2" is already used by network "ov1" on the local machine/, code: `${OV("ov1", 42, "10.91.0.0/24")}\n${OV("ov2", 42, "10.92.0.0/24")}` },
  { what: "a Namespace and a container on one netns name", expect: /Namespace ns: network namespace web of Namespace "ns" is already taken by container "c1"/, code: `new hostnet.ContainerNetwork("c1", { mode: "none", namespaceName: "web" });\nnew hostnet.Namespace("ns", { name: "web" });` },
  { what: "two Bridges of one name", expect: /Bridge b2: interface name br0 of Bridge "b2" is already taken by Bridge "b1"/, code: `new hostnet.Bridge("b1", { name: "br0" });\nnew hostnet.Bridge("b2", { name: "br0" });` },
  // What the host holds.
  { what: "a network on docker0's subnet", expect: /resource 'web-bridge': property addresses value .* subnet 172\.17\.0\.0\/16 of network "web" overlaps 172\.17\.0\.1\/16 on docker0 in the host netns/, code: `new hostnet.BridgeNetwork("web", { subnet: "172.17.0.0/16" });` },
  { what: "a network on the uplink's subnet", expect: /subnet 192\.168\.1\.0\/26 of network "web" overlaps 192\.168\.1\.5\/24 on up0/, code: `new hostnet.BridgeNetwork("web", { subnet: "192.168.1.0/26" });` },
  { what: "a network inside a static route", expect: /subnet 10\.20\.3\.0\/24 of network "web" overlaps route 10\.20\.0\.0\/16 via 192\.168\.1\.254 dev up0/, code: `new hostnet.BridgeNetwork("web", { subnet: "10.20.3.0/24" });` },
  { what: "an IPv6 subnet on the uplink's", expect: /subnet fd00:1::\/64 of network "web" overlaps fd00:1::5\/64 on up0/, code: `new hostnet.BridgeNetwork("web", { subnet: "fd00:1::/64" });` },
  // Another stack's objects (their tags).
  { what: "a network on another stack's subnet", expect: /subnet 10\.0\.9\.0\/24 of network "web" overlaps 10\.0\.9\.1\/24 on br-other, another stack's network \(alias "hostnet:other\/prod\/other-bridge"\)/, code: `new hostnet.BridgeNetwork("web", { subnet: "10.0.9.0/24" });` },
  { what: "another stack's bridge name, with adopt", expect: /link br-other in the host netns already exists and belongs to another stack \(alias "hostnet:other\/prod\/other-bridge"\); it is never taken over, not even with `adopt: true`/, code: `new hostnet.BridgeNetwork("web", { subnet: "10.0.3.0/24", bridgeName: "br-other", adopt: true });` },
  { what: "another stack's netns name, with adopt", expect: /network namespace taken already exists and belongs to another stack \(alias "hostnet:other\/prod\/taken-endpoint"\)/, code: `new hostnet.ContainerNetwork("c1", { mode: "none", namespaceName: "taken", adopt: true });` },
  { what: "another stack's host interface name", expect: /link vh-taken in the host netns already exists and belongs to another stack \(alias "hostnet:other\/prod\/taken-endpoint"\)/, code: `${NET}new hostnet.ContainerNetwork("c1", { mode: "bridge", network: n, hostInterfaceName: "vh-taken" });` },
  { what: "another stack's VNI", expect: /VNI 42 on UDP port 4789 is already used by VXLAN link vx-other, which belongs to another stack \(alias "hostnet:other\/prod\/ov-local-vxlan"\)/, code: OV("ov", 42, "10.91.0.0/24") },
  { what: "another stack's overlay bridge, adopted for another VNI", expect: /link br-other in the host netns already exists and belongs to another stack/, code: OV("ov", 43, "10.91.0.0/24", ', bridgeName: "br-other", adopt: true') },
];

describeAsRoot("issue 20: subnets and names, each refused at preview", () => {
  const ctx = useSandbox();
  const lanes = Array.from({ length: LANES }, () => new PulumiProject(ctx, "bad-input-claims"));
  const outcomes = new Map<string, { result: CliResult; after: string }>();
  let lived = "";

  beforeAll(async () => {
    const run = (argv: string[]) => ctx.sandbox.run(argv);
    ctx.addTeardown(async () => {
      for (const link of ["up0", "docker0", "br-other", "vh-taken", "vx-other"]) await run(["ip", "link", "del", link]).catch(() => undefined);
      await run(["ip", "netns", "del", "taken"]).catch(() => undefined);
    });
    // An uplink with addresses in both families and a static route, and docker0.
    await run(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
    for (const end of ["up0", "up1"]) await run(["ip", "link", "set", end, "addrgenmode", "none"]);
    await run(["ip", "addr", "add", "192.168.1.5/24", "dev", "up0"]);
    await run(["ip", "addr", "add", "fd00:1::5/64", "dev", "up0", "nodad"]);
    for (const end of ["up0", "up1"]) await run(["ip", "link", "set", end, "up"]);
    await run(["ip", "route", "add", "10.20.0.0/16", "via", "192.168.1.254"]);
    await run(["ip", "link", "add", "docker0", "type", "bridge"]);
    await run(["ip", "addr", "add", "172.17.0.1/16", "dev", "docker0"]);
    // Another stack's network, container (netns and host end) and overlay link, by their tags.
    await run(["ip", "link", "add", "br-other", "type", "bridge"]);
    await run(["ip", "link", "set", "br-other", "alias", "hostnet:other/prod/other-bridge"]);
    await run(["ip", "addr", "add", "10.0.9.1/24", "dev", "br-other"]);
    await run(["ip", "netns", "add", "taken"]);
    await run(["ip", "-n", "taken", "link", "set", "lo", "alias", "hostnet:other/prod/taken-endpoint"]);
    await run(["ip", "link", "add", "vh-taken", "type", "veth", "peer", "name", "eth0", "netns", "taken"]);
    await run(["ip", "link", "set", "vh-taken", "alias", "hostnet:other/prod/taken-endpoint"]);
    await run(["ip", "link", "add", "vx-other", "type", "vxlan", "id", "42", "dstport", "4789", "local", "192.168.1.5", "nolearning"]);
    await run(["ip", "link", "set", "vx-other", "alias", "hostnet:other/prod/ov-local-vxlan"]);
    lived = await ctx.sandbox.snapshot();
    await Promise.all(lanes.map((lane) => lane.init()));
    let next = 0;
    await Promise.all(
      lanes.map(async (lane) => {
        for (let i = next++; i < claimCases.length; i = next++) {
          const { what, code } = claimCases[i]!;
          lane.writeProgram(code);
          const result = await lane.preview();
          outcomes.set(what, { result, after: await ctx.sandbox.snapshot() });
        }
      }),
    );
  });

  afterAll(() => {
    for (const lane of lanes) lane.cleanup();
  });

  test.each(claimCases)("$what", ({ what, expect: line }) => {
    const { result, after } = outcomes.get(what)!;
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(line);
    expect(result.output).not.toMatch(/unhandled exception|^\s+at |TypeError|ReferenceError/im);
    expect(after).toEqual(lived);
  });
});
