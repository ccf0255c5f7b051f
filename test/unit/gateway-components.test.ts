// Issue 20 part 4 in the components, under Pulumi's mocks: which NetworkIsolation each network
// gets for its gateway mode, and an overlay's on each of its machines.
import * as pulumi from "@pulumi/pulumi";

const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: () => ({}),
  },
  "proj",
  "stack",
  false,
);

// Loaded after the mocks, as Pulumi's own docs do.
import * as hostnet from "../../sdk";

const settle = () => new Promise((r) => setTimeout(r, 50));
const find = (name: string) => registered.find((r) => r.name === name)?.inputs;

describe("gateway modes in the components", () => {
  test("a BridgeNetwork is in NAT mode by default; routed opts out; NAT mode without isolate keeps its gateway rule and allowFrom", async () => {
    const a = new hostnet.BridgeNetwork("a", { subnet: "10.71.1.0/24", ipv6Subnet: "fd00:71:1::/64" });
    new hostnet.BridgeNetwork("b", { subnet: "10.71.2.0/24", gatewayMode: "routed" });
    new hostnet.BridgeNetwork("c", { subnet: "10.71.3.0/24", isolate: false, allowFrom: [a] });
    new hostnet.BridgeNetwork("d", { subnet: "10.71.4.0/24", isolate: false, gatewayMode: "routed" });
    await settle();
    expect(find("a-isolation")).toMatchObject({ bridge: "br-a", gatewayMode: "nat" });
    expect(find("a-isolation6")).toMatchObject({ bridge: "br-a", gatewayMode: "nat", family: "ipv6" });
    expect(find("b-isolation")).toMatchObject({ gatewayMode: "routed" });
    expect(find("c-isolation")).toMatchObject({ gatewayMode: "nat", isolate: false, allowFrom: ["br-a"] });
    // Routed and not isolated: nothing to drop, so no resource (as `isolate: false` always was).
    expect(find("d-isolation")).toBeUndefined();
  });

  test("an OverlayNetwork has a NetworkIsolation on each machine, with its mode and backend", async () => {
    const m1 = new hostnet.Machine("m1", { host: "192.168.77.1" });
    new hostnet.OverlayNetwork("ov", {
      subnet: "10.72.0.0/24", vni: 7, firewallBackend: "iptables",
      machines: [{ address: "192.168.77.9" }, { machine: m1, address: "192.168.77.1" }],
    });
    new hostnet.OverlayNetwork("ovr", { subnet: "10.73.0.0/24", vni: 8, gatewayMode: "routed", machines: [{ address: "192.168.77.9" }] });
    await settle();
    expect(find("ov-local-isolation")).toMatchObject({ bridge: "br-ov", gatewayMode: "nat", firewallBackend: "iptables" });
    expect(find("ov-m1-isolation")).toMatchObject({ bridge: "br-ov", gatewayMode: "nat", machine: "m1" });
    expect(find("ovr-local-isolation")).toMatchObject({ gatewayMode: "routed" });
  });

  test("a gateway mode that is neither nat nor routed fails, named", async () => {
    expect(() => new hostnet.BridgeNetwork("bad", { subnet: "10.71.9.0/24", gatewayMode: "open" as "nat" })).toThrow(/gatewayMode "open" is not "nat" or "routed"/);
  });
});
