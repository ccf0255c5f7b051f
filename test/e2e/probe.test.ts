// Probe through the real pulumi CLI in a sandbox: reachable and blocked flows proven by `up`, a
// flow that does not behave failing `up` with a clear message, a route deleted by hand shown
// by `refresh` as drift, and `up` proving the flow again once the route is back; the same
// flows as one Reachability. A responder makes a port nothing listens on definite; a probe
// from a namespace that does not exist is refused at preview.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const PROGRAM = `
const cfg = new pulumi.Config();
const ea = new hostnet.Namespace("p-ea", { name: "p-ea" });
const eb = new hostnet.Namespace("p-eb", { name: "p-eb", loopbackUp: true });
const link = new hostnet.VethPair("p-link", { name: "eth0", namespace: ea.name, addresses: ["10.94.0.1/24"], peer: { name: "eth0", namespace: eb.name, addresses: ["10.94.0.2/24"] } });
const far = new hostnet.Address("p-far", { namespace: eb.name, device: "lo", address: "10.95.0.1/24" }, { dependsOn: [eb] });
const route = new hostnet.Route("p-route", { namespace: ea.name, destination: "10.95.0.0/24", via: "10.94.0.2" }, { dependsOn: [link] });
const after = { dependsOn: [link, far, route] };
new hostnet.Probe("p-reach", { namespace: ea.name, protocol: "icmp", address: "10.95.0.1", expect: "reachable" }, after);
new hostnet.Probe("p-reset", { namespace: ea.name, protocol: "tcp", address: "10.95.0.1", port: 80, expect: "reachable" }, after);
new hostnet.Probe("p-blocked", { namespace: ea.name, protocol: "udp", address: "10.96.0.1", port: 53, expect: "blocked" }, after);
// Nothing listens on 10.95.0.1:80 or :53: the responders in p-eb make the answers definite.
const heard = new hostnet.Probe("p-heard", { namespace: ea.name, protocol: "tcp", address: "10.95.0.1", port: 80, expect: "reachable", responder: { namespace: eb.name } }, after);
const heardUdp = new hostnet.Probe("p-heard-udp", { namespace: ea.name, protocol: "udp", address: "10.95.0.1", port: 53, expect: "reachable", responder: { namespace: eb.name } }, after);
exports.heard = heard.detail;
exports.heardUdp = heardUdp.detail;
if (cfg.get("nowhere")) new hostnet.Probe("p-nowhere", { namespace: cfg.get("nowhere"), protocol: "udp", address: "10.94.0.2", port: 53, expect: "reachable" });
if (cfg.getBoolean("bad")) new hostnet.Probe("p-bad", { namespace: ea.name, protocol: "tcp", address: "10.94.0.2", port: 22, expect: "blocked" }, after);
// The same flows as one resource, and the bad one among them.
new hostnet.Reachability("p-policy", { flows: [
  { namespace: ea.name, protocol: "icmp", address: "10.95.0.1", expect: "reachable" },
  { namespace: ea.name, protocol: "tcp", address: "10.95.0.1", port: 80, expect: "reachable" },
  { namespace: ea.name, protocol: "udp", address: "10.96.0.1", port: 53, expect: "blocked" },
  { namespace: ea.name, protocol: "tcp", address: "10.95.0.1", port: 80, expect: "reachable", responder: { namespace: eb.name } },
  ...(cfg.getBoolean("bad") ? [{ namespace: ea.name, protocol: "tcp", address: "10.94.0.2", port: 22, expect: "blocked" }] : []),
] }, after);
`;

describeAsRoot("Probe through pulumi", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "probe");

  test("preview of a new stack passes: namespaces the program makes are not yet there, and that is no error", async () => {
    project.writeProgram(PROGRAM);
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.output).toMatch(/\+ pulumi-nodejs:dynamic\/hostnet:Probe: \(create\)\n\s+\[urn=urn:pulumi:test::probe::pulumi-nodejs:dynamic\/hostnet:Probe::p-heard\]/);
  });

  test("up proves reachable and blocked flows; a flow that does not behave fails up, saying why", async () => {
    await project.config("bad", "true");
    const failed = await project.cli(["up", "--yes", "--skip-preview", "--stack", "test"]);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain(
      "probe tcp 10.94.0.2:22 from netns p-ea: expected blocked, observed reachable: connection refused by 10.94.0.2: nothing listens on port 22, or a firewall rejects with a tcp reset; the two look the same from here (a responder tells them apart)",
    );
    expect(failed.output).toContain("route in netns p-ea: dev eth0 src 10.94.0.1; nothing on the way filters this flow");
    expect(failed.output).toContain("1 of 5 flows did not behave as declared:");
    expect(failed.output).toContain("flows[4]: probe tcp 10.94.0.2:22 from netns p-ea: expected blocked, observed reachable: connection refused by 10.94.0.2");
    await project.config("bad", "false");
    const up = await project.up();
    expect(up.output).not.toMatch(/error/i);
    // With a responder the answer is definite: the packets arrived in p-eb, from p-ea's address.
    expect(await project.outputs()).toEqual({
      heard: "arrived at the responder on tcp port 80 in netns p-eb, from 10.94.0.1",
      heardUdp: "arrived at the responder on udp port 53 in netns p-eb, from 10.94.0.1",
    });
    // Each responder was stopped by its pid: no socat is left in the sandbox.
    expect((await ctx.sandbox.run(["ip", "netns", "pids", "p-eb"])).trim()).toBe("");
  });

  test("a probe from a namespace that does not exist is refused at preview and at up, naming it, without a stack trace", async () => {
    await project.config("nowhere", "p-nosuch");
    try {
      for (const run of [() => project.preview(), () => project.cli(["up", "--yes", "--skip-preview", "--stack", "test"])]) {
        const refused = await run();
        expect(refused.code).not.toBe(0);
        expect(refused.output).toMatch(/resource 'p-nowhere': property namespace value .*netns p-nosuch does not exist \(`ip netns list` shows the names there\)/);
        expect(refused.output).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
      }
    } finally {
      await project.cli(["config", "rm", "nowhere", "--stack", "test"]);
    }
  });

  test("refresh shows a flow broken by hand as drift; up puts the route back and proves the flow again", async () => {
    await ctx.sandbox.run(["ip", "-n", "p-ea", "route", "del", "10.95.0.0/24"]);
    const refresh = await project.refresh();
    const updated = [...refresh.stdout.matchAll(/~ +pulumi-nodejs:dynamic\/hostnet:Probe (\S+) +updated/g)].map((m) => m[1]).sort();
    expect(updated).toEqual(["p-heard", "p-heard-udp", "p-reach", "p-reset"]);
    expect(refresh.stdout).toMatch(/~ +pulumi-nodejs:dynamic\/hostnet:Reachability p-policy +updated/);
    expect(refresh.stdout).toMatch(/- +pulumi-nodejs:dynamic\/hostnet:Route p-route +deleted/);
    const up = await project.up();
    expect(up.stdout).toMatch(/\+ +pulumi-nodejs:dynamic\/hostnet:Route p-route +created/);
    expect([...up.stdout.matchAll(/~ +pulumi-nodejs:dynamic\/hostnet:Probe (\S+) +updated/g)].map((m) => m[1]).sort()).toEqual(["p-heard", "p-heard-udp", "p-reach", "p-reset"]);
    expect(up.stdout).toMatch(/~ +pulumi-nodejs:dynamic\/hostnet:Reachability p-policy +updated/);
    // Proven again: a refresh now finds every flow as declared.
    const again = await project.refresh();
    expect(again.stdout).not.toMatch(/hostnet:(Probe|Reachability) \S+ +updated/);
  });

  test("destroy leaves the sandbox as it was", async () => {
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
