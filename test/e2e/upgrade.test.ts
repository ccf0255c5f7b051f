// Issue 16: a container is one engine resource. A stack made while ContainerNetwork was a
// component with one child (the release before) upgrades without a replace and without any
// change in the kernel: the child is taken over through an alias, with its ownership tag.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

/** The layout of the release before, written out: a component per container, its child inside. */
const before = `
class FormerContainer extends pulumi.ComponentResource {
  constructor(name, make) { super("hostnet:index:ContainerNetwork", name, {}, {}); make(this); this.registerOutputs({}); }
}
const net = new hostnet.BridgeNetwork("net", { bridgeName: "br-up", subnet: "10.0.9.0/24" });
new FormerContainer("c1", (parent) => new hostnet.BridgeEndpoint("c1-endpoint", {
  namespace: "c1", bridge: net.bridge, hostInterface: "vh-c1", interfaceName: "eth0", address: "10.0.9.5/24", gateway: net.gateway,
  ports: [{ protocol: "tcp", hostPort: 8080, targetPort: 80 }],
}, { parent, dependsOn: [net.bridgeResource, ...net.ready] }));
new FormerContainer("n1", (parent) => new hostnet.Namespace("n1-netns", { name: "n1", loopbackUp: true }, { parent }));
new FormerContainer("h1", () => undefined);
`;

const after = `
const net = new hostnet.BridgeNetwork("net", { bridgeName: "br-up", subnet: "10.0.9.0/24" });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: net, address: "10.0.9.5", ports: [{ hostPort: 8080, containerPort: 80 }] });
new hostnet.ContainerNetwork("n1", { mode: "none" });
new hostnet.ContainerNetwork("h1", { mode: "host" });
`;

describeAsRoot("upgrade from a component per container to one resource per container", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "upgrade");

  test("no replace, nothing changed in the kernel, one engine resource per container", async () => {
    project.writeProgram(before);
    await project.up();
    // Let IPv6 duplicate address detection and the bridge's carrier settle: they would differ in time alone.
    await new Promise((r) => setTimeout(r, 3000));
    const kernel = await ctx.sandbox.snapshot();
    project.writeProgram(after);
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.stdout).not.toMatch(/replace/);
    const up = await project.up();
    expect(up.stdout).not.toMatch(/replaced|updated/);
    expect(await ctx.sandbox.snapshot()).toEqual(kernel);
    // The containers are now the resources themselves; the former components are gone.
    const state = JSON.parse((await project.cli(["stack", "export", "--stack", "test"])).stdout) as { deployment: { resources: { urn: string; type: string }[] } };
    const types = state.deployment.resources.map((r) => r.type);
    expect(types).not.toContain("hostnet:index:ContainerNetwork");
    expect(state.deployment.resources.map((r) => r.urn.split("::").at(-1))).toEqual(expect.arrayContaining(["c1", "n1", "h1"]));
    const noop = await project.up();
    expect(noop.stdout).not.toMatch(/created|updated|deleted|replaced/);
  });

  test("destroy leaves the sandbox as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
