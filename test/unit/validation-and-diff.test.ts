// check() and diff() of the providers: pure logic, fake runner, no kernel.
import { FakeRunner } from "../../provider/exec";
import { makeProviders, UNKNOWN } from "../../provider/resources";

const TAG = "hostnet:p/s/r";
const providers = () => makeProviders(new FakeRunner());

const badInputs = [
  ["bridge", { name: "abcdefghijklmnop", tag: TAG }, "name", /at most 15/],
  ["bridge", { name: "-x", tag: TAG }, "name", /must not start with '-'/],
  ["bridge", { name: "bré0", tag: TAG }, "name", /letters, digits/],
  ["bridge", { name: "br0", addresses: ["10.0.3.0/24"], tag: TAG }, "addresses[0]", /network address/],
  ["bridge", { name: "br0", addresses: ["fd00::1"], tag: TAG }, "addresses[0]", /prefix length/],
  ["bridge", { name: "br0", mtu: 20, tag: TAG }, "mtu", /at least 68/],
  ["veth", { name: "a", peer: { name: "a" }, tag: TAG }, "peer.name", /equals the first end/],
  ["veth", { name: "a", peer: { name: "b", addresses: ["x"] }, tag: TAG }, "peer.addresses[0]", /not an address/],
  ["namespace", { name: "../etc", tag: TAG }, "name", /letters, digits/],
  ["namespace", { name: "ok", tag: "mine" }, "tag", /hostnet:/],
  ["route", { destination: "10.0.0.1/8", device: "lo" }, "destination", /host bits set; the network is 10\.0\.0\.0\/8/],
  ["route", { destination: "fd00:61:0::/64", device: "lo" }, "destination", /fd00:61:0::\/64 is written fd00:61::\/64 \(the form the kernel prints/],
  ["route", { destination: "default", via: "10.0.0.1", source: "fd00::2" }, "source", /ipv6 but the route is ipv4/],
  ["route", { destination: "default", via: "10.0.0.1", table: "main; reboot" }, "table", /table must be/],
  ["address", { device: "lo", address: "10.0.0.1" }, "address", /prefix length/],
  ["address", { device: "lo", address: "10.0.3/24" }, "address", /prefix length/],
  ["address", { device: "lo", address: "010.0.0.1/24" }, "address", /prefix length/],
  ["route", { destination: "default", via: "10.1" }, "via", /four decimal parts/],
  ["veth", { name: "a", peer: { name: "b", namespace: "/proc/123/ns/net" }, tag: TAG }, "peer.namespace", /letters, digits/],
] as const;

/** The value at a property path such as peer.addresses[0]. */
function valueAt(root: unknown, property: string): unknown {
  return property.split(/\.|\[|\]/).filter(Boolean).reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), root);
}

describe("check validates before anything changes", () => {
  test.each(badInputs)("%s %j fails on %s", async (kind, news, property, reason) => {
    const result = await providers()[kind].check!({}, news);
    expect(result.inputs).toBeUndefined();
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringMatching(reason) })]));
  });

  // Pulumi prints a nested value as {<nil>}: the reason itself must name what it refuses.
  test.each(badInputs)("%s %j: the reason for %s shows the value", async (kind, news, property) => {
    const result = await providers()[kind].check!({}, news);
    const failure = result.failures?.find((f) => f.property === property);
    const value = valueAt(news, property);
    expect(failure?.reason).toContain(typeof value === "string" ? value : JSON.stringify(value));
  });

  test("a missing value is named as missing", async () => {
    const result = await providers().bridge.check!({}, { tag: TAG });
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property: "name", reason: expect.stringContaining("(got no value)") })]));
  });

  test("defaults are applied", async () => {
    const result = await providers().veth.check!({}, { name: "vh", peer: { name: "eth0" }, tag: TAG });
    expect(result.inputs).toEqual({ name: "vh", addresses: [], up: true, adopt: false, tag: TAG, peer: { name: "eth0", addresses: [], up: true } });
  });

  test("values unknown at preview are not judged", async () => {
    const result = await providers().veth.check!({}, { name: "vh", master: UNKNOWN, peer: { name: "eth0", namespace: UNKNOWN }, tag: TAG });
    expect(result.failures ?? []).toEqual([]);
  });
});

describe("diff asks for the least disruptive change", () => {
  const bridgeOuts = { name: "br0", addresses: ["10.0.3.1/24"], mtu: 1500, up: true, adopt: false, tag: TAG, ifindex: 4 };

  test("no change", async () => {
    const news = { name: "br0", addresses: ["10.0.3.1/24"], up: true, adopt: false, tag: TAG };
    expect(await providers().bridge.diff!("id", bridgeOuts, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  test("addresses and MTU update in place; address order does not matter", async () => {
    const news = { ...bridgeOuts, addresses: ["10.0.4.1/24", "10.0.3.1/24"], mtu: 9000 };
    expect(await providers().bridge.diff!("id", bridgeOuts, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const reordered = { ...bridgeOuts, addresses: ["10.0.3.1/24"] };
    expect((await providers().bridge.diff!("id", { ...bridgeOuts, addresses: ["10.0.3.1/24"] }, reordered)).changes).toBe(false);
  });

  test("moving to another namespace replaces; the kernel name is free there, so no delete first", async () => {
    expect(await providers().bridge.diff!("id", bridgeOuts, { ...bridgeOuts, namespace: "other" })).toEqual({ changes: true, replaces: ["namespace"], deleteBeforeReplace: false });
  });

  test("an unknown new value counts as a change", async () => {
    const result = await providers().bridge.diff!("id", bridgeOuts, { ...bridgeOuts, name: UNKNOWN });
    expect(result).toMatchObject({ changes: true, replaces: ["name"] });
  });

  test("route: a new gateway updates, a new table replaces with delete first", async () => {
    const outs = { destination: "default", via: "10.0.0.1", table: "main", adopt: false, protocol: "212" };
    expect(await providers().route.diff!("id", outs, { ...outs, via: "10.0.0.2" })).toMatchObject({ changes: true, replaces: [] });
    expect(await providers().route.diff!("id", outs, { ...outs, table: "100" })).toMatchObject({ replaces: ["table"], deleteBeforeReplace: false });
    expect(await providers().route.diff!("id", outs, { ...outs, family: "ipv6" })).toMatchObject({ replaces: ["family"], deleteBeforeReplace: true });
  });
});
