// Scenarios 1 (bridge, two containers, default routes; NAT comes with NatRule), 6 (preview),
// 7 (drift of a veth) and 8 (destroy leaves the host as it was), through the real pulumi CLI.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

function program(c2Address: string): string {
  return `
const br = new hostnet.Bridge("br0", { name: "br0", addresses: ["10.0.3.1/24"], mtu: 1500 });
for (const [name, address] of [["c1", "10.0.3.2/24"], ["c2", "${c2Address}"]]) {
  const ns = new hostnet.Namespace(name, { name });
  const veth = new hostnet.VethPair(name + "-veth", {
    name: "vh-" + name, master: br.name,
    peer: { name: "eth0", namespace: ns.name, addresses: [address] },
  });
  new hostnet.Route(name + "-default", { namespace: ns.name, destination: "default", via: "10.0.3.1" }, { dependsOn: [veth] });
}
exports.bridgeMac = br.mac;
`;
}

describeAsRoot("bridge mode through pulumi", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "bridge-mode");
  const ping = (ns: string, target: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", target], { netns: ns });


  test("up builds a bridge with two containers that reach each other and the gateway", async () => {
    project.writeProgram(program("10.0.3.3/24"));
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/\+ 8 to create/);
    await project.up();
    expect(await ping("c1", "10.0.3.3")).toBe(true);
    expect(await ping("c2", "10.0.3.2")).toBe(true);
    expect(await ping("c1", "10.0.3.1")).toBe(true);
    expect(await ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", "10.0.3.2"])).toBe(true);
    const link = await ctx.sandbox.run(["ip", "-d", "link", "show", "vh-c1"]);
    expect(link).toContain("master br0");
    expect(link).toContain("alias hostnet:bridge-mode/test/c1-veth");
    const outputs = await project.outputs();
    expect(outputs.bridgeMac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  test("a no-op up changes nothing", async () => {
    const result = await project.up();
    expect(result.stdout).toMatch(/\b8 unchanged\b/); // 7 resources and the stack
    expect(result.stdout).not.toMatch(/updated|created|deleted/);
  });

  test("preview --diff names the changed property and touches nothing (scenario 6)", async () => {
    const kernelBefore = await ctx.sandbox.snapshot();
    project.writeProgram(program("10.0.3.4/24"));
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/hostnet:VethPair: \(update\)\s+\[id=veth\/-\/vh-c2\]/);
    expect(preview.stdout).toMatch(/~ peer\s*: \{\s*~ addresses: \[\s*~ \[0\]: "10\.0\.3\.3\/24" => "10\.0\.3\.4\/24"/);
    expect(preview.stdout).toMatch(/1 to update/);
    expect(preview.stdout).not.toMatch(/to replace/);
    expect(await ctx.sandbox.snapshot()).toEqual(kernelBefore);

    await project.up();
    expect(await ctx.sandbox.run(["ip", "-br", "addr", "show", "eth0"], { netns: "c2" })).toContain("10.0.3.4/24");
    expect(await ctx.sandbox.run(["ip", "-br", "addr", "show", "eth0"], { netns: "c2" })).not.toContain("10.0.3.3/24");
    expect(await ping("c1", "10.0.3.4")).toBe(true);
  });

  test("a veth deleted by hand shows in refresh and comes back with up (scenario 7)", async () => {
    await ctx.sandbox.run(["ip", "link", "delete", "vh-c1"]);
    expect(await ping("c1", "10.0.3.4")).toBe(false);
    const refresh = await project.refresh();
    expect(refresh.stdout).toMatch(/c1-veth/);
    expect(refresh.stdout).toMatch(/deleted/);
    await project.up();
    expect(await ping("c1", "10.0.3.4")).toBe(true);
    expect(await ctx.sandbox.run(["ip", "-d", "link", "show", "vh-c1"])).toContain("master br0");
  });

  test("an MTU changed by hand is drift that up repairs", async () => {
    await ctx.sandbox.run(["ip", "link", "set", "br0", "mtu", "1400"]);
    const refresh = await project.refresh();
    expect(refresh.stdout).toMatch(/br0/);
    await project.up();
    expect(await ctx.sandbox.run(["ip", "link", "show", "br0"])).toContain("mtu 1500");
  });

  test("destroy leaves the host exactly as it was (scenario 8)", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
