// The multi-machine components composed under Pulumi's mocks (no engine, no kernel): what each
// machine gets, which machine each resource names, and the errors a program meets at once.
import * as pulumi from "@pulumi/pulumi";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];

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
const find = (name: string) => {
  const found = registered.find((r) => r.name === name);
  if (!found) throw new Error(`no resource ${name}; have ${registered.map((r) => r.name).join(", ")}`);
  return found.inputs;
};

describe("OverlayNetwork and machines", () => {
  const m1 = new hostnet.Machine("m1", { host: "192.168.77.1", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" });
  const m2 = new hostnet.Machine("m2", { host: "192.168.77.2" });

  test("each machine gets a bridge with its gateway and a VXLAN port toward the others; containers take the overlay's MTU", async () => {
    const ov = new hostnet.OverlayNetwork("ov", { subnet: "10.60.0.0/24", vni: 42, machines: [{ machine: m1, address: "192.168.77.1" }, { machine: m2, address: "192.168.77.2" }] });
    new hostnet.ContainerNetwork("c1", { mode: "bridge", network: ov, machine: m1, address: "10.60.0.11" });
    const c2 = new hostnet.ContainerNetwork("c2", { mode: "bridge", network: ov, machine: m2 });
    await settle();
    expect(find("ov-m1-bridge")).toMatchObject({ name: "br-ov", addresses: ["10.60.0.1/24"], mtu: 1450, machine: "m1", tag: "hostnet:proj/stack/ov-m1-bridge@m1" });
    expect(find("ov-m2-bridge")).toMatchObject({ addresses: ["10.60.0.2/24"], machine: "m2" });
    expect(find("ov-m1-vxlan")).toMatchObject({ name: "vx-ov", vni: 42, local: "192.168.77.1", peers: ["192.168.77.2"], master: "br-ov", mtu: 1450 });
    expect(find("ov-m2-vxlan")).toMatchObject({ local: "192.168.77.2", peers: ["192.168.77.1"] });
    // One engine resource per container, with the tag it had as the component's child.
    expect(find("c1")).toMatchObject({ address: "10.60.0.11/24", gateway: "10.60.0.1", mtu: 1450, machine: "m1", tag: "hostnet:proj/stack/c1-endpoint@m1" });
    expect(find("c2")).toMatchObject({ gateway: "10.60.0.2", mtu: 1450, machine: "m2" });
    // One pool for the whole overlay: never a gateway, never another container's address.
    const address = await new Promise<string | undefined>((resolve) => c2.address.apply(resolve));
    expect(["10.60.0.1", "10.60.0.2", "10.60.0.11"]).not.toContain(address);
    // One ip_forward per machine.
    expect(find("ip-forward-m1")).toMatchObject({ key: "net.ipv4.ip_forward", machine: "m1" });
    expect(find("ip-forward-m2")).toMatchObject({ machine: "m2" });
  });

  test("the connection travels as a secret", async () => {
    const bridge = new hostnet.Bridge("br-secret", { name: "br-s", machine: m1 });
    await settle();
    const connection = find("br-secret").connection;
    // Registered as a secret value (Pulumi's secret signature), so the state keeps it encrypted.
    expect(connection).toMatchObject({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { host: "192.168.77.1" } });
    expect(await pulumi.isSecret((bridge as unknown as { connection: pulumi.Output<unknown> }).connection)).toBe(true);
  });

  test("errors a program meets at once", () => {
    const ov = new hostnet.OverlayNetwork("ov2", { subnet: "10.61.0.0/24", vni: 43, machines: [{ machine: m1, address: "192.168.77.1" }] });
    expect(() => new hostnet.ContainerNetwork("x", { mode: "bridge", network: ov, machine: m2 })).toThrow("overlay network ov2 does not span machine m2: add it to its machines");
    const net = new hostnet.BridgeNetwork("b1", { subnet: "10.62.0.0/24", machine: m1 });
    expect(() => new hostnet.ContainerNetwork("y", { mode: "bridge", network: net, machine: m2 })).toThrow(/bridge network b1 is on machine m1, not on machine m2/);
    expect(() => new hostnet.OverlayNetwork("ov3", { subnet: "10.63.0.0/24", vni: 44, machines: [{ machine: m1, address: "192.168.77.1" }, { machine: m1, address: "192.168.77.9" }] })).toThrow(/lists machine m1 twice/);
    expect(() => new hostnet.OverlayNetwork("ov4", { subnet: "10.64.0.0/24", vni: 45, machines: [{ machine: m1, address: "192.168.77.1" }, { machine: m2, address: "192.168.77.1" }] })).toThrow(/two machines have the underlay address 192\.168\.77\.1/);
    expect(() => new hostnet.Machine("-bad", { host: "h" })).toThrow(/machine name "-bad"/);
  });

  test("a network's MTU reaches its containers unless they set their own", async () => {
    const net = new hostnet.BridgeNetwork("mtu-net", { subnet: "10.65.0.0/24", mtu: 1400 });
    new hostnet.ContainerNetwork("mtu-a", { mode: "bridge", network: net });
    new hostnet.ContainerNetwork("mtu-b", { mode: "bridge", network: net, mtu: 9000 });
    await settle();
    expect(find("mtu-a")).toMatchObject({ mtu: 1400 });
    expect(find("mtu-b")).toMatchObject({ mtu: 9000 });
  });
});
