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

  test("subnets are checked", () => {
    expect(() => parseSubnet("10.0.3.1/24")).toThrow("host bits set; the network is 10.0.3.0/24");
    expect(() => parseSubnet("10.0.3.0/31")).toThrow(/too small/);
    expect(() => parseSubnet("fd00::/64")).toThrow(/only IPv4/);
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
