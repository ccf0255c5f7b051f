// Address allocation and name derivation of the components: pure functions, no kernel.
import { AddressPool, interfaceNameFor, namespaceNameFor, parseSubnet } from "../../sdk/network";

describe("address pool", () => {
  const subnet = parseSubnet("10.0.3.0/24");

  test("automatic addresses are stable, distinct, never the gateway, network or broadcast", () => {
    const names = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const first = new AddressPool(subnet, { "10.0.3.1": "gateway" });
    const again = new AddressPool(subnet, { "10.0.3.1": "gateway" });
    const a = names.map((n) => first.allocate(n));
    const b = names.map((n) => again.allocate(n));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    for (const address of a) expect(["10.0.3.0", "10.0.3.1", "10.0.3.255"]).not.toContain(address);
  });

  test("an explicit address must be free and a host address of the subnet", () => {
    const pool = new AddressPool(subnet, { "10.0.3.1": "gateway" });
    expect(pool.claim("c1", "10.0.3.2")).toBe("10.0.3.2");
    expect(() => pool.claim("c2", "10.0.3.2")).toThrow("address 10.0.3.2 of c2 is already taken by c1 on 10.0.3.0/24");
    expect(() => pool.claim("c3", "10.0.3.255")).toThrow(/not a host address/);
    expect(() => pool.claim("c4", "10.0.4.2")).toThrow(/not a host address/);
    expect(() => pool.claim("c5", "10.0.3.1")).toThrow(/taken by gateway/);
  });

  test("a full subnet says so", () => {
    const pool = new AddressPool(parseSubnet("10.0.3.0/30"), {});
    pool.allocate("a");
    pool.allocate("b");
    expect(() => pool.allocate("c")).toThrow("no free address left on 10.0.3.0/30 for c");
  });

  test("IPv6: automatic addresses are stable, distinct, canonical, inside the subnet, never its network address", () => {
    const v6 = parseSubnet("fd00:32:1::/64");
    const names = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const first = new AddressPool(v6, { "fd00:32:1::1": "gateway" });
    const a = names.map((n) => first.allocate(n));
    expect(names.map((n) => new AddressPool(v6, { "fd00:32:1::1": "gateway" }).allocate(n))).toEqual(a);
    expect(new Set(a).size).toBe(a.length);
    for (const address of a) {
      expect(address).toMatch(/^fd00:32:1:0?:/);
      expect(address).not.toBe("fd00:32:1::");
      expect(address).not.toBe("fd00:32:1::1");
    }
    // Hashed over the whole /64: spread out, not packed at the start.
    expect(a.filter((x) => /^fd00:32:1::[0-9a-f]{1,4}$/.test(x)).length).toBeLessThan(5);
  });

  test("IPv6: a small subnet fills up, explicit addresses are canonical and checked", () => {
    const pool = new AddressPool(parseSubnet("fd00::/120"), {});
    expect(pool.claim("gw", "fd00:0::1")).toBe("fd00::1");
    expect(() => pool.claim("c1", "fd00::0001")).toThrow("address fd00::0001 of c1 is already taken by gw on fd00::/120");
    expect(() => pool.claim("c2", "fd00::")).toThrow(/not a host address of fd00::\/120/);
    expect(() => pool.claim("c3", "fd00::1:1")).toThrow(/not a host address/);
    expect(() => pool.claim("c4", "10.0.0.1")).toThrow(/of the other family/);
    expect(pool.claim("c5", "fd00::ff")).toBe("fd00::ff"); // no broadcast in IPv6
    for (let i = 0; i < 253; i++) pool.allocate(`m${i}`);
    expect(() => pool.allocate("one-more")).toThrow("no free address left on fd00::/120 for one-more");
  });

  test("subnets are checked", () => {
    expect(() => parseSubnet("10.0.3.1/24")).toThrow("host bits set; the network is 10.0.3.0/24");
    expect(() => parseSubnet("10.0.3.0/31")).toThrow(/too small/);
    expect(parseSubnet("fd00::/64")).toMatchObject({ family: "ipv6", prefixLength: 64 });
    expect(parseSubnet("fd00::/120").prefixLength).toBe(120);
    expect(() => parseSubnet("fd00::/121")).toThrow("subnet fd00::/121 is too small: an IPv6 network needs at least a /120");
    expect(() => parseSubnet("fd00::1/64")).toThrow("host bits set; the network is fd00::/64");
    expect(() => parseSubnet("fe80::/64")).toThrow(/linkLocal, not a unicast network/);
    expect(() => parseSubnet("ff02::/64")).toThrow(/multicast/);
    expect(() => parseSubnet("nonsense")).toThrow(/not a CIDR/);
  });
});

describe("derived names", () => {
  test("short names are kept, long ones cut with a hash, always 15 characters or fewer", () => {
    expect(interfaceNameFor("vh-", "web")).toBe("vh-web");
    const long = interfaceNameFor("vh-", "a-very-long-container-name");
    const other = interfaceNameFor("vh-", "a-very-long-container-name-2");
    expect(long.length).toBeLessThanOrEqual(15);
    expect(long).not.toBe(other);
    expect(interfaceNameFor("vh-", "bad name/x")).toMatch(/^vh-bad-na-[0-9a-f]{5}$/);
  });

  test("namespace names keep valid names and fix invalid ones", () => {
    expect(namespaceNameFor("web")).toBe("web");
    expect(namespaceNameFor("my app/1")).toMatch(/^my-app-1-[0-9a-f]{8}$/);
  });
});
