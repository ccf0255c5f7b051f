// Property-based tests (fast-check): derived names, address allocation, the parsers of `ip -json`
// and `nft -j` output, and input validation. Pure functions and check() with the fake runner.
// Failures print fast-check's counterexample and seed; `FUZZ_SEED=<n>` replays a run and
// `FUZZ_RUNS=<k>` tries k times as many inputs (a deeper search than CI's).
import fc from "fast-check";
import type { z } from "zod";
import { FakeRunner } from "../../provider/exec";
import { ipAddrLinkSchema, ipRouteSchema, parseIpJson } from "../../provider/kernel";
import { parseNftRules } from "../../provider/kernel/firewall/nft";
import { makeProviders, UNKNOWN, validate, type ResourceKind } from "../../provider/resources";
import { addressInputs } from "../../provider/resources/address";
import { bridgeInputs } from "../../provider/resources/bridge";
import { endpointInputs } from "../../provider/resources/endpoint-inputs";
import { macvlanInputs } from "../../provider/resources/macvlan";
import { namespaceInputs } from "../../provider/resources/namespace";
import { isolationInputs } from "../../provider/resources/isolation";
import { natRuleInputs } from "../../provider/resources/natrule";
import { neighborInputs } from "../../provider/resources/neighbor";
import { probeInputs } from "../../provider/resources/probe";
import { reachabilityInputs } from "../../provider/resources/reachability";
import { portForwardInputs } from "../../provider/resources/portforward";
import { routeInputs } from "../../provider/resources/route";
import { ruleInputs } from "../../provider/resources/rule";
import { sysctlInputs } from "../../provider/resources/sysctl";
import { tapInputs } from "../../provider/resources/tap";
import { interfaceAddress, interfaceName, netnsName } from "../../provider/resources/validation";
import { vethInputs } from "../../provider/resources/veth";
import { vxlanInputs } from "../../provider/resources/vxlan";
import { containerRefInputs } from "../../provider/resources/container";
import { AddressPool, parseSubnet, toAddress } from "../../sdk/network/ipam";
import { interfaceNameFor, namespaceNameFor } from "../../sdk/network/names";

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const factor = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (numRuns: number): { numRuns: number; seed?: number } => (seed === undefined ? { numRuns: numRuns * factor } : { numRuns: numRuns * factor, seed });
/** For properties that hold only "with high probability": one fixed sample, so a run never flakes. */
const FIXED = { seed: 20251126 };

type Props = Record<string, unknown>;
type PathKey = string | number;

// ---------------------------------------------------------------------------------------------
// Shared arbitraries

/** Well-formed Unicode (Pulumi's gRPC carries only valid UTF-8, so lone surrogates never reach a program's names). */
const wellFormed = (s: string) => Buffer.from(s, "utf8").toString("utf8") === s;

/** Any text a user could give as a resource name: ASCII, full Unicode (lone surrogates too), names cut from real ones. */
const anyName = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/),
  fc.constantFrom("", ".", "..", "-", "-web", ".hidden", "数据库", "café", "a b", "a/b", "web:1", "x".repeat(80)),
);

const validIfName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$/).filter((n) => n !== "." && n !== "..");
const validNetns = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/);
const tag = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,20}$/).map((s) => `hostnet:fuzz/test/${s}`);
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const ipv4 = uint32.map(toAddress);
const mac = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, "0")).join(":"));

function networkOf(address: number, prefix: number): number {
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) * size;
}

/** An IPv4 network in canonical form, prefix 8-30. */
const ipv4Network = fc.record({ a: uint32, prefix: fc.integer({ min: 8, max: 30 }) }).map(({ a, prefix }) => ({ network: networkOf(a, prefix), prefix }));
const ipv4Cidr = ipv4Network.map(({ network, prefix }) => `${toAddress(network)}/${prefix}`);
/** A host address with its prefix: never the network or broadcast address of its subnet. */
const ipv4HostCidr = fc.record({ net: ipv4Network, offset: uint32 }).map(({ net, offset }) => {
  const hosts = 2 ** (32 - net.prefix) - 2;
  return `${toAddress(net.network + 1 + (offset % hosts))}/${net.prefix}`;
});
const ipv6HostCidr = fc.record({ address: fc.ipV6(), prefix: fc.integer({ min: 1, max: 128 }) }).map(({ address, prefix }) => `${address}/${prefix}`);
const port = fc.integer({ min: 1, max: 65535 });
const portRange = fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);

// ---------------------------------------------------------------------------------------------

describe("derived names", () => {
  const prefixes = fc.oneof(fc.constantFrom("vh-", "br-"), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/));

  test("interfaceNameFor always gives a name the provider accepts, at most 15 characters", () => {
    fc.assert(
      fc.property(prefixes, anyName, (prefix, name) => {
        const derived = interfaceNameFor(prefix, name);
        expect(derived.length).toBeLessThanOrEqual(15);
        expect(interfaceName.safeParse(derived).error?.issues ?? []).toEqual([]);
        expect(derived.startsWith(prefix)).toBe(true);
        // A name that already fits is kept as it is.
        if (/^[A-Za-z0-9_.-]*$/.test(name) && prefix.length + name.length <= 15) expect(derived).toBe(prefix + name);
      }),
      runs(2000),
    );
  });

  test("interfaceNameFor never returns a name longer than 15 characters, whatever the prefix (it may refuse a prefix that leaves no room)", () => {
    // interfaceNameFor is exported: a program may pass a prefix of its own, e.g. "container-".
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,13}$/), anyName, (prefix, name) => {
        let derived: string;
        try {
          derived = interfaceNameFor(prefix, name);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message).toContain(prefix);
          return;
        }
        expect(derived.length).toBeLessThanOrEqual(15);
        expect(interfaceName.safeParse(derived).error?.issues ?? []).toEqual([]);
      }),
      runs(1000),
    );
  });

  test("interfaceNameFor gives distinct inputs distinct names (fixed sample)", () => {
    // Two names collide only when both are cut to the same start and their 20-bit hashes meet.
    fc.assert(
      fc.property(fc.constantFrom("vh-", "br-"), anyName.filter(wellFormed), anyName.filter(wellFormed), (prefix, a, b) => {
        fc.pre(a !== b);
        expect(interfaceNameFor(prefix, a)).not.toBe(interfaceNameFor(prefix, b));
      }),
      { ...FIXED, numRuns: 5000 },
    );
    // Many long names that share their first characters, as generated programs make them.
    const names = Array.from({ length: 300 }, (_, i) => `a-very-long-service-name-${i}`);
    expect(new Set(names.map((n) => interfaceNameFor("vh-", n))).size).toBe(names.length);
  });

  test("namespaceNameFor always gives a name the provider accepts", () => {
    // Pulumi refuses an empty resource name; every other one can reach namespaceNameFor.
    fc.assert(
      fc.property(anyName.filter((n) => n !== ""), (name) => {
        const derived = namespaceNameFor(name);
        expect(netnsName.safeParse(derived).error?.issues ?? []).toEqual([]);
        if (netnsName.safeParse(name).success) expect(derived).toBe(name);
      }),
      runs(2000),
    );
  });

  test("namespaceNameFor gives distinct inputs distinct names (fixed sample)", () => {
    fc.assert(
      fc.property(anyName.filter(wellFormed), anyName.filter(wellFormed), (a, b) => {
        fc.pre(a !== b);
        expect(namespaceNameFor(a)).not.toBe(namespaceNameFor(b));
      }),
      { ...FIXED, numRuns: 5000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("address pool", () => {
  /** A subnet small enough to fill, a few reserved host addresses, and members to place. */
  const scenario = fc
    .record({ net: fc.record({ a: uint32, prefix: fc.integer({ min: 22, max: 30 }) }), reservedOffsets: fc.uniqueArray(uint32, { maxLength: 4 }), members: fc.uniqueArray(anyName, { minLength: 1, maxLength: 80 }) })
    .map(({ net, reservedOffsets, members }) => {
      const network = networkOf(net.a, net.prefix);
      const hosts = 2 ** (32 - net.prefix) - 2;
      const reserved: Record<string, string> = {};
      for (const offset of reservedOffsets) reserved[toAddress(network + 1 + (offset % hosts))] = `reserved-${offset}`;
      return { cidr: `${toAddress(network)}/${net.prefix}`, network, broadcast: network + hosts + 1, reserved, members };
    });

  function allocateAll(cidr: string, reserved: Record<string, string>, members: readonly string[]): (string | Error)[] {
    const pool = new AddressPool(parseSubnet(cidr), reserved);
    return members.map((m) => {
      try {
        return pool.allocate(m);
      } catch (err) {
        return err as Error;
      }
    });
  }

  const toNumber = (address: string) => address.split(".").reduce((n, part) => n * 256 + Number(part), 0);

  test("allocations are distinct host addresses of the subnet, never reserved, and deterministic", () => {
    fc.assert(
      fc.property(scenario, ({ cidr, network, broadcast, reserved, members }) => {
        const first = allocateAll(cidr, reserved, members);
        const again = allocateAll(cidr, reserved, members);
        expect(again).toEqual(first);
        const given = first.filter((a): a is string => typeof a === "string");
        expect(new Set(given).size).toBe(given.length);
        for (const address of given) {
          const n = toNumber(address);
          expect(n).toBeGreaterThan(network);
          expect(n).toBeLessThan(broadcast);
          expect(Object.keys(reserved)).not.toContain(address);
        }
        // The pool runs out exactly when every host address is taken, and says so.
        const free = broadcast - network - 1 - Object.keys(reserved).length;
        expect(given.length).toBe(Math.min(free, members.length));
        for (const failure of first.filter((a): a is Error => a instanceof Error)) expect(failure.message).toMatch(/^no free address left on /);
      }),
      runs(300),
    );
  });

  test("an automatic address depends only on the member's name and what is taken", () => {
    fc.assert(
      fc.property(ipv4Network.filter((n) => n.prefix >= 16 && n.prefix <= 20), fc.uniqueArray(anyName, { minLength: 2, maxLength: 30 }), ({ network, prefix }, members) => {
        const cidr = `${toAddress(network)}/${prefix}`;
        const forward = allocateAll(cidr, {}, members);
        const backward = allocateAll(cidr, {}, [...members].reverse()).reverse();
        // Order changes only who wins a collision: in a big subnet, members rarely collide.
        const same = forward.filter((a, i) => a === backward[i]).length;
        expect(same).toBeGreaterThanOrEqual(members.length - 2);
      }),
      { ...FIXED, numRuns: 200 },
    );
  });

  test("claim accepts exactly the free host addresses of the subnet", () => {
    fc.assert(
      fc.property(ipv4Network, fc.array(fc.oneof(ipv4, fc.string({ maxLength: 16 })), { maxLength: 30 }), ({ network, prefix }, addresses) => {
        const broadcast = network + 2 ** (32 - prefix) - 1;
        const pool = new AddressPool(parseSubnet(`${toAddress(network)}/${prefix}`), {});
        const taken = new Set<string>();
        for (const address of addresses) {
          const strict = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(address);
          const n = strict ? toNumber(address) : Number.NaN;
          const acceptable = strict && n > network && n < broadcast && !taken.has(address);
          if (acceptable) {
            expect(pool.claim("m", address)).toBe(address);
            taken.add(address);
          } else {
            expect(() => pool.claim("m", address)).toThrow(new RegExp(`^address ${escape(address)} of m is (not a host address|already taken)`));
          }
        }
      }),
      runs(500),
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------------------------

/** Text that is not what a parser expects: random strings, random JSON, valid JSON cut or with a wrong field type. */
function garbage(wellFormed: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.json({ maxDepth: 3 }),
    fc.constantFrom("null", "{}", "[null]", "[1]", '[{"ifindex":"1"}]', "[[]]", '"x"', "true", "[{}]", "\u0000", "[", "{"),
    fc.tuple(wellFormed, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
    fc.tuple(wellFormed, fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([text, at, junk]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + junk + text.slice(i);
    }),
  );
}

/** Whatever it is given, a parser either returns or throws a plain Error that says what it was parsing. */
function expectCleanOutcome(parse: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    parse();
    return;
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(Error);
  expect((thrown as Error).message).toMatch(message);
}

describe("ip -json parsers", () => {
  const addrInfo = fc.record(
    {
      family: fc.constantFrom("inet", "inet6"),
      local: fc.oneof(ipv4, fc.ipV6()),
      prefixlen: fc.integer({ min: 0, max: 128 }),
      scope: fc.constantFrom("global", "link", "host"),
      label: validIfName,
      valid_life_time: fc.nat(),
    },
    { requiredKeys: ["family", "local", "prefixlen"] },
  );
  const link = fc.record(
    {
      ifindex: fc.nat(),
      ifname: validIfName,
      flags: fc.subarray(["BROADCAST", "MULTICAST", "UP", "LOWER_UP", "NO-CARRIER"]),
      mtu: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      qdisc: fc.constantFrom("noqueue", "noop"),
      operstate: fc.constantFrom("UP", "DOWN", "UNKNOWN", "LOWERLAYERDOWN"),
      master: validIfName,
      link_type: fc.constantFrom("ether", "loopback", "none"),
      address: mac,
      ifalias: fc.string({ maxLength: 40 }),
      link: fc.option(validIfName, { nil: null }),
      link_netnsid: fc.nat(),
      linkinfo: fc.record({ info_kind: fc.constantFrom("bridge", "veth", "dummy"), info_slave_kind: fc.constant("bridge"), info_data: fc.dictionary(fc.string({ maxLength: 5 }), fc.nat()) }, { requiredKeys: [] }),
      addr_info: fc.array(addrInfo, { maxLength: 4 }),
    },
    { requiredKeys: ["ifindex", "ifname", "mtu"] },
  );
  const route = fc.record(
    {
      dst: fc.oneof(fc.constant("default"), ipv4Cidr, ipv4),
      gateway: ipv4,
      dev: validIfName,
      protocol: fc.oneof(fc.constantFrom("kernel", "boot", "static"), fc.nat(255)),
      metric: fc.nat(),
      prefsrc: ipv4,
      table: fc.oneof(fc.constantFrom("main", "local"), fc.nat()),
      type: fc.constantFrom("unicast", "local", "broadcast"),
      scope: fc.constantFrom("link", "host"),
      flags: fc.subarray(["onlink", "linkdown"]),
    },
    { requiredKeys: ["dst"] },
  );
  const links = fc.array(link, { maxLength: 5 });
  const routes = fc.array(route, { maxLength: 8 });

  test("well-formed link and address listings parse to what they hold", () => {
    fc.assert(
      fc.property(links, fc.boolean(), (list, pretty) => {
        const parsed = parseIpJson(ipAddrLinkSchema, JSON.stringify(list, null, pretty ? 2 : undefined), "links");
        expect(parsed.map((l) => [l.ifindex, l.ifname, l.mtu, l.master, l.ifalias, l.linkinfo?.info_kind])).toEqual(list.map((l) => [l.ifindex, l.ifname, l.mtu, l.master, l.ifalias, l.linkinfo?.info_kind]));
        expect(parsed.map((l) => l.flags)).toEqual(list.map((l) => l.flags ?? []));
        expect(parsed.map((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`))).toEqual(list.map((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`)));
      }),
      runs(300),
    );
  });

  test("well-formed route listings parse to what they hold", () => {
    fc.assert(
      fc.property(routes, (list) => {
        const parsed = parseIpJson(ipRouteSchema, JSON.stringify(list), "routes");
        expect(parsed.map((r) => [r.dst, r.gateway, r.dev, r.protocol, r.metric, r.table])).toEqual(list.map((r) => [r.dst, r.gateway, r.dev, r.protocol, r.metric, r.table]));
      }),
      runs(300),
    );
  });

  test("empty output is an empty listing", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\s*$/), (blank) => {
        expect(parseIpJson(ipRouteSchema, blank, "routes")).toEqual([]);
        expect(parseIpJson(ipAddrLinkSchema, blank, "links")).toEqual([]);
      }),
    );
  });

  test("garbage never crashes with anything but an Error naming what was parsed", () => {
    fc.assert(
      fc.property(garbage(links.map((l) => JSON.stringify(l))), (text) => {
        expectCleanOutcome(() => parseIpJson(ipAddrLinkSchema, text, "link br0"), /^parse link br0: (not JSON|unexpected shape): /);
      }),
      runs(1000),
    );
    fc.assert(
      fc.property(garbage(routes.map((r) => JSON.stringify(r))), (text) => {
        expectCleanOutcome(() => parseIpJson(ipRouteSchema, text, "routes"), /^parse routes: (not JSON|unexpected shape): /);
      }),
      runs(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("parseNftRules", () => {
  interface Rule {
    readonly chain: string;
    readonly handle: number;
    readonly comment?: string;
  }
  const rule = fc.record({ chain: fc.constantFrom("prerouting", "output", "postrouting", "forward"), handle: fc.nat(), comment: fc.string({ maxLength: 40 }) }, { requiredKeys: ["chain", "handle"] });
  const other = fc.constantFrom<Props>(
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "ip", name: "hostnet", handle: 1 } },
    { chain: { family: "ip", table: "hostnet", name: "prerouting", handle: 1, type: "nat", hook: "prerouting", prio: -100, policy: "accept" } },
    { set: { family: "ip", name: "s", table: "hostnet", type: "ipv4_addr", handle: 9 } },
  );
  /** A listing: our rules, in order, among the items nft prints around them. */
  interface Item {
    readonly rule?: Rule;
    readonly item: Props;
  }
  const listing = fc.array(
    fc.oneof(
      rule.map((r): Item => ({ rule: r, item: { rule: { family: "ip", table: "hostnet", ...r, expr: [{ accept: null }] } } })),
      other.map((item): Item => ({ item })),
    ),
    { maxLength: 12 },
  );

  test("a well-formed `nft -j list table` listing gives its rules in order", () => {
    fc.assert(
      fc.property(listing, (items) => {
        const text = JSON.stringify({ nftables: items.map((i) => i.item) });
        const expected = items.flatMap((i) => (i.rule ? [{ chain: i.rule.chain, handle: i.rule.handle, comment: i.rule.comment }] : []));
        expect(parseNftRules(text)).toEqual(expected);
      }),
      runs(300),
    );
  });

  test("garbage never crashes with anything but an Error", () => {
    fc.assert(
      fc.property(garbage(listing.map((items) => JSON.stringify({ nftables: items.map((i) => i.item) }))), (text) => {
        expectCleanOutcome(() => parseNftRules(text), /./);
      }),
      runs(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** Every provider's input schema, with an arbitrary of inputs it must accept. */
const schemas: Record<ResourceKind, z.ZodTypeAny> = {
  namespace: namespaceInputs,
  bridge: bridgeInputs,
  veth: vethInputs,
  route: routeInputs,
  address: addressInputs,
  sysctl: sysctlInputs,
  natrule: natRuleInputs,
  portforward: portForwardInputs,
  endpoint: endpointInputs,
  macvlan: macvlanInputs,
  tap: tapInputs,
  rule: ruleInputs,
  neighbor: neighborInputs,
  probe: probeInputs,
  vxlan: vxlanInputs,
  container: containerRefInputs,
  isolation: isolationInputs,
  reachability: reachabilityInputs,
};
const kinds = Object.keys(schemas) as ResourceKind[];

const validInputs: Record<ResourceKind, fc.Arbitrary<Props>> = {
  container: fc.record({ mode: fc.constantFrom("host", "container"), namespace: validNetns, host: validNetns }, { requiredKeys: ["mode"] }),
  namespace: fc.record({ name: validNetns, loopbackUp: fc.boolean(), adopt: fc.boolean(), tag }, { requiredKeys: ["name", "tag"] }),
  bridge: fc.record(
    { name: validIfName, namespace: validNetns, host: validNetns, addresses: fc.array(fc.oneof(ipv4HostCidr, ipv6HostCidr), { maxLength: 3 }), mtu: fc.integer({ min: 68, max: 65535 }), up: fc.boolean(), adopt: fc.boolean(), tag },
    { requiredKeys: ["name", "tag"] },
  ),
  // Either the two ends' names start differently, or they are one name in two namespaces.
  veth: fc.oneof(
    fc.record(
      { name: validIfName, namespace: validNetns, peer: fc.record({ name: validIfName, namespace: validNetns }), tag },
      { requiredKeys: ["name", "namespace", "peer", "tag"] },
    ).map((v) => ({ ...v, peer: { ...v.peer, name: v.name, namespace: `${v.namespace}-peer` } })),
    fc.record(
    {
      name: fc.stringMatching(/^v[a-z0-9]{0,10}$/),
      namespace: validNetns,
      host: validNetns,
      addresses: fc.array(ipv4HostCidr, { maxLength: 2 }),
      master: validIfName,
      mtu: fc.integer({ min: 68, max: 65535 }),
      up: fc.boolean(),
      peer: fc.record({ name: fc.stringMatching(/^e[a-z0-9]{0,10}$/), namespace: validNetns, addresses: fc.array(ipv4HostCidr, { maxLength: 2 }), up: fc.boolean() }, { requiredKeys: ["name"] }),
      tag,
    },
    { requiredKeys: ["name", "peer", "tag"] },
  )),
  route: fc
    .record({
      destination: fc.oneof(fc.constant("default"), ipv4Cidr),
      via: fc.option(ipv4, { nil: undefined }),
      device: validIfName,
      metric: fc.option(fc.nat(), { nil: undefined }),
      table: fc.oneof(fc.constantFrom("main", "local", "default"), fc.nat().map(String)),
      source: fc.option(ipv4, { nil: undefined }),
      namespace: fc.option(validNetns, { nil: undefined }),
    })
    .map(({ via, device, ...rest }) => ({ ...rest, via, device: via === undefined ? device : undefined })),
  endpoint: fc.record(
    { namespace: validNetns, host: validNetns, bridge: validIfName, hostInterface: validIfName, interfaceName: validIfName, address: ipv4HostCidr, gateway: ipv4, ipv6Address: ipv6HostCidr, ipv6Gateway: fc.ipV6(), loopbackProxy: fc.boolean(), mtu: fc.integer({ min: 68, max: 65535 }), adopt: fc.boolean(), tag },
    { requiredKeys: ["namespace", "bridge", "hostInterface", "address", "tag"] },
  ).map((e) => (e.ipv6Address === undefined ? { ...e, ipv6Gateway: undefined } : e)),
  address: fc.record({ namespace: validNetns, host: validNetns, device: validIfName, address: fc.oneof(ipv4HostCidr, ipv6HostCidr), adopt: fc.boolean() }, { requiredKeys: ["device", "address"] }),
  vxlan: fc
    .record(
      { name: validIfName, namespace: validNetns, vni: fc.integer({ min: 1, max: 16_777_215 }), local: ipv4, port: fc.integer({ min: 1, max: 65535 }), device: validIfName, learning: fc.boolean(), mtu: fc.integer({ min: 68, max: 65535 }), master: validIfName, peers: fc.uniqueArray(ipv4, { maxLength: 4 }), tag },
      { requiredKeys: ["name", "vni", "tag"] },
    )
    .map((v) => ({ ...v, peers: (v.peers ?? []).filter((p) => p !== v.local) })),
  sysctl: fc.record(
    { key: fc.oneof(fc.constantFrom("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"), fc.stringMatching(/^[a-z0-9_-]{1,15}$/).map((d) => `net.ipv4.conf.${d}.route_localnet`)), value: fc.constantFrom("0", "1", "32768 60999"), namespace: validNetns },
    { requiredKeys: ["key", "value"] },
  ),
  natrule: fc.oneof(
    fc.record({ type: fc.constant("masquerade"), source: ipv4Cidr, excludeDestination: ipv4Cidr, outInterface: validIfName, tag }, { requiredKeys: ["type", "tag"] }),
    fc.record({ type: fc.constant("snat"), source: ipv4Cidr, toSource: ipv4, outInterface: validIfName, tag }, { requiredKeys: ["type", "toSource", "tag"] }),
    fc.record({ type: fc.constant("dnat"), destination: ipv4, inInterface: validIfName, toDestination: ipv4, protocol: fc.constantFrom("tcp", "udp"), destinationPort: fc.oneof(port, portRange), tag }, { requiredKeys: ["type", "toDestination", "protocol", "tag"] }),
  ),
  // The allowed bridges' names start differently from the isolated one's: it cannot allow itself.
  isolation: fc.record(
    { bridge: fc.stringMatching(/^b[a-z0-9]{0,13}$/), allowFrom: fc.array(fc.stringMatching(/^a[a-z0-9]{0,13}$/), { maxLength: 3 }), family: fc.constantFrom("ipv4", "ipv6"), host: validNetns, tag },
    { requiredKeys: ["bridge", "tag"] },
  ),
  portforward: fc.record(
    { protocol: fc.constantFrom("tcp", "udp"), hostPort: port, hostAddress: ipv4, target: ipv4, targetPort: port, fromHost: fc.boolean(), hairpin: fc.boolean(), tag },
    { requiredKeys: ["protocol", "hostPort", "target", "tag"] },
  ),
  macvlan: fc.record(
    { name: validIfName, namespace: validNetns, host: validNetns, parent: validIfName, mode: fc.constantFrom("bridge", "private", "vepa", "passthru"), addresses: fc.array(fc.oneof(ipv4HostCidr, ipv6HostCidr), { maxLength: 2 }), mtu: fc.integer({ min: 68, max: 65535 }), up: fc.boolean(), adopt: fc.boolean(), tag },
    { requiredKeys: ["name", "parent", "tag"] },
  ),
  tap: fc.record(
    { name: validIfName, namespace: validNetns, user: fc.oneof(fc.nat({ max: 4294967294 }), fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/)), group: fc.oneof(fc.nat({ max: 4294967294 }).map(String), fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/)), multiQueue: fc.boolean(), master: validIfName, mtu: fc.integer({ min: 68, max: 65535 }), up: fc.boolean(), adopt: fc.boolean(), tag },
    { requiredKeys: ["name", "tag"] },
  ),
  rule: fc.record(
    { priority: fc.integer({ min: 1, max: 2 ** 32 - 1 }), from: fc.oneof(ipv4Cidr, ipv4), to: ipv4Cidr, iif: validIfName, oif: validIfName, fwmark: uint32, table: fc.oneof(fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.constantFrom("main", "local", "default", "100", "isp2")), namespace: validNetns, host: validNetns },
    { requiredKeys: ["priority"] },
  ),
  neighbor: fc.record({ namespace: validNetns, host: validNetns, device: validIfName, address: fc.oneof(ipv4, fc.ipV6()), mac, adopt: fc.boolean() }, { requiredKeys: ["device", "address", "mac"] }),
  probe: fc.oneof(
    fc.record({ namespace: validNetns, host: validNetns, protocol: fc.constant("icmp"), address: ipv4, source: ipv4, expect: fc.constantFrom("reachable", "blocked"), count: fc.integer({ min: 1, max: 20 }), timeout: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: ["protocol", "address", "expect"] }),
    fc.record({ namespace: validNetns, protocol: fc.constantFrom("tcp", "udp"), address: fc.ipV6(), port: fc.integer({ min: 1, max: 65535 }), expect: fc.constantFrom("reachable", "blocked") }, { requiredKeys: ["protocol", "address", "port", "expect"] }),
  ),
  reachability: fc.record(
    {
      host: validNetns,
      flows: fc.array(
        fc.oneof(
          fc.record({ namespace: validNetns, protocol: fc.constant("icmp"), address: ipv4, expect: fc.constantFrom("reachable", "blocked"), timeout: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: ["protocol", "address", "expect"] }),
          fc.record({ protocol: fc.constantFrom("tcp", "udp"), address: fc.ipV6(), port: fc.integer({ min: 1, max: 65535 }), expect: fc.constantFrom("reachable", "blocked"), count: fc.integer({ min: 1, max: 20 }) }, { requiredKeys: ["protocol", "address", "port", "expect"] }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      parallel: fc.integer({ min: 1, max: 64 }),
    },
    { requiredKeys: ["flows"] },
  ),
};

/** Paths of every value in an input (fields, array elements, nested objects). */
function pathsOf(value: unknown, path: PathKey[] = []): PathKey[][] {
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : value && typeof value === "object" ? Object.entries(value) : [];
  return [...(path.length ? [path] : []), ...children.flatMap(([k, v]) => pathsOf(v, [...path, k]))];
}

function withUnknownAt(input: Props, paths: readonly PathKey[][]): Props {
  const copy = structuredClone(input);
  for (const path of paths) {
    let node: unknown = copy;
    for (const key of path.slice(0, -1)) node = (node as Record<PathKey, unknown> | undefined)?.[key];
    if (node && typeof node === "object") (node as Record<PathKey, unknown>)[path[path.length - 1] as PathKey] = UNKNOWN;
  }
  return copy;
}

/** Inputs as a program might send them: the right keys with values of any sort. */
function looseInputs(kind: ResourceKind): fc.Arbitrary<Props> {
  const leaf = fc.oneof(
    fc.constant(UNKNOWN),
    fc.constant(undefined),
    fc.constant(null),
    fc.string({ maxLength: 20 }),
    ipv4,
    fc.ipV6(),
    ipv4Cidr,
    ipv4HostCidr,
    fc.constantFrom("default", "10.1", "foo/24", "010.0.0.1", "::ffff:10.0.0.1", "fe80::1%eth0", "10.0.0.0/33", "1-2", "9-1", "tcp", "snat", "eth0"),
    fc.integer({ min: -2, max: 70000 }),
    fc.double(),
    fc.boolean(),
  );
  const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.constantFrom("name", "namespace", "addresses", "up"), leaf));
  // A valid input with one or two fields swapped for something else, so the checks that look
  // across fields (refinements) run; and inputs with every field drawn at random.
  const swapped = validInputs[kind].chain((valid) =>
    fc.tuple(fc.subarray([...Object.keys(valid), "via", "hostAddress", "toSource", "peer"], { minLength: 1, maxLength: 2 }), fc.array(value, { minLength: 2, maxLength: 2 })).map(([keys, values]) => ({
      ...valid,
      ...Object.fromEntries(keys.map((k, i) => [k, values[i]])),
    })),
  );
  const random = validInputs[kind].chain((valid) => fc.record(Object.fromEntries(Object.keys(valid).map((k) => [k, value])) as Record<string, fc.Arbitrary<unknown>>, { requiredKeys: [] }).map((mixed) => ({ ...valid, ...mixed })));
  return fc.oneof(swapped, random);
}

describe("validation", () => {
  // A Probe's or Reachability's check looks for its namespaces on the kernel: this fake kernel
  // has every namespace the input at hand names.
  let namespaces: string[] = [];
  const kernel = new FakeRunner().on(["ip"], (c) => (c.argv.includes("netns") && c.argv.includes("list") ? { stdout: JSON.stringify(namespaces.map((name) => ({ name }))), stderr: "" } : { stdout: "", stderr: "" }));
  const providers = makeProviders(kernel);
  const namespacesIn = (value: unknown): string[] =>
    value && typeof value === "object" ? Object.entries(value).flatMap(([k, v]) => ((k === "namespace" || k === "host") && typeof v === "string" ? [v] : namespacesIn(v))) : [];

  test.each(kinds)("%s: every generated valid input passes check", async (kind) => {
    await fc.assert(
      fc.asyncProperty(validInputs[kind], async (input) => {
        expect(validate(schemas[kind], input).failures).toEqual([]);
        namespaces = namespacesIn(input);
        expect((await providers[kind].check!({}, input)).failures ?? []).toEqual([]);
      }),
      runs(200),
    );
  });

  test.each(kinds)("%s: validate (and check) never throws, whatever it is given", async (kind) => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), looseInputs(kind)), async (news) => {
        const result = validate(schemas[kind], news);
        for (const failure of result.failures) {
          expect(typeof failure.property).toBe("string");
          expect(failure.reason).not.toBe("");
        }
        if (result.failures.length) expect(result.value).toBeUndefined();
        if (news && typeof news === "object" && !Array.isArray(news)) await providers[kind].check!({}, news as Props);
      }),
      runs(500),
    );
  });

  test.each(kinds)("%s: values unknown at preview never produce a failure", (kind) => {
    fc.assert(
      fc.property(
        validInputs[kind].chain((input) => fc.subarray(pathsOf(input), { minLength: 1 }).map((paths) => ({ input, paths }))),
        ({ input, paths }) => {
          const news = withUnknownAt(input, paths);
          expect(validate(schemas[kind], news).failures).toEqual([]);
        },
      ),
      runs(500),
    );
  });

  test("interface addresses: the network and broadcast addresses of an IPv4 subnet are refused, every other host accepted", () => {
    fc.assert(
      fc.property(ipv4Network.filter((n) => n.prefix <= 30), fc.nat(), ({ network, prefix }, offset) => {
        const size = 2 ** (32 - prefix);
        const host = network + (offset % size);
        const ok = interfaceAddress.safeParse(`${toAddress(host)}/${prefix}`).success;
        expect(ok).toBe(host !== network && host !== network + size - 1);
      }),
      runs(1000),
    );
  });
});
