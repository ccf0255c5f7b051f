// Issue 7's story end to end through the real pulumi CLI: three machines reached over SSH (real
// sshd daemons on simulated machines), one overlay network across them, containers on each;
// ping and TCP across machines, a port forward on machine 2 from outside, masquerade, drift
// made by hand on a remote machine (and seen by a Reachability probing over SSH), a machine
// whose sshd goes away, and destroy leaving every machine as it was (a leak guard per machine).
import { describeAsRoot, useLab, usePulumiProject, useSandbox } from "../support/guard";
import { OPERATOR_ADDRESS } from "../support/lab";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("several machines over SSH with an overlay network", () => {
  const ctx = useSandbox();
  const machines = useLab(ctx, 3);
  const project = usePulumiProject(ctx, "multihost");
  const host = (i: number) => machines.lab.hosts[i - 1]!;
  const ping = (i: number, netns: string, target: string) => host(i).succeeds(["ping", "-c", "1", "-W", "2", target], { netns });

  function program(extra = ""): string {
    return `
${machines.lab.machinesSource(3)}
const ov = new hostnet.OverlayNetwork("ov", { subnet: "10.60.0.0/24", vni: 42, machines: [
  { machine: m1, address: "192.168.77.1" }, { machine: m2, address: "192.168.77.2" }, { machine: m3, address: "192.168.77.3" },
] });
const c1 = new hostnet.ContainerNetwork("c1", { mode: "bridge", network: ov, machine: m1, address: "10.60.0.11" });
const c2 = new hostnet.ContainerNetwork("c2", { mode: "bridge", network: ov, machine: m2, address: "10.60.0.12", ports: [{ hostPort: 8080, containerPort: 80 }] });
const c3 = new hostnet.ContainerNetwork("c3", { mode: "bridge", network: ov, machine: m3 });
exports.c3 = c3.address;
// Declared flows proven over SSH from machine 2: across the overlay to machine 1 (an echo, a
// TCP reset), and one that must stay blocked.
new hostnet.Reachability("flows", { machine: m2, flows: [
  { namespace: "c2", protocol: "icmp", address: "10.60.0.11", expect: "reachable" },
  { namespace: "c2", protocol: "tcp", address: "10.60.0.11", port: 9, expect: "reachable" },
  { namespace: "c2", protocol: "icmp", address: "10.61.0.1", expect: "blocked", timeout: 1 },
] }, { dependsOn: [c1, c2] });
${extra}
`;
  }

  test("preview names what each machine will get and changes no machine", async () => {
    project.writeProgram(program());
    const before = await Promise.all([1, 2, 3].map((i) => host(i).snapshot()));
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/hostnet:Vxlan/);
    expect(preview.stdout).toMatch(/OverlayNetwork/);
    expect(await Promise.all([1, 2, 3].map((i) => host(i).snapshot()))).toEqual(before);
  });

  test("up joins containers on three machines: ping and TCP across machines, a forward from outside, masquerade out", async () => {
    const up = await project.up();
    // The flows were proven on machine 2 over SSH before up could succeed.
    expect(up.stdout).toMatch(/hostnet:Reachability +flows +created/);
    const c3 = String((await project.outputs()).c3);
    expect(c3).toMatch(/^10\.60\.0\.\d+$/);
    expect(await ping(1, "c1", c3)).toBe(true);
    expect(await ping(3, "c3", "10.60.0.12")).toBe(true);
    await host(2).serve("c2", "tcp", 80);
    // Across the overlay, no NAT: c2 sees c1's own address.
    expect(await host(1).ask("c1", "tcp", "10.60.0.12", 80)).toBe("10.60.0.11");
    // From outside (the operator's machine on the LAN) through machine 2's forward.
    expect(await ctx.sandbox.ask(undefined, "tcp", "192.168.77.2", 8080)).toBe(OPERATOR_ADDRESS);
    // Out of the overlay behind machine 3's address.
    expect(await ping(3, "c3", OPERATOR_ADDRESS)).toBe(true);
    // The overlay's MTU (1500 less VXLAN's 50) on every interface of the network.
    expect(await host(1).run(["ip", "-o", "link", "show", "eth0"], { netns: "c1" })).toMatch(/mtu 1450/);
    expect(await host(2).run(["ip", "-d", "link", "show", "vx-ov"])).toMatch(/alias hostnet:multihost\/test\/ov-m2-vxlan@m2/);
    // Same names on each machine, each its own.
    expect(await host(3).succeeds(["ip", "netns", "exec", "c1", "true"])).toBe(false);
  });

  test("drift made by hand on machine 2 shows in refresh and up repairs it", async () => {
    await host(2).run(["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", "vx-ov", "dst", "192.168.77.1"]);
    await host(2).run(["ip", "link", "set", "dev", "eth0", "mtu", "1300"], { netns: "c2" });
    expect(await ping(1, "c1", "10.60.0.12")).toBe(false);
    const refresh = await project.cli(["refresh", "--yes", "--skip-preview", "--stack", "test"]);
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toMatch(/~ .*hostnet:Vxlan.*ov-m2-vxlan/);
    expect(refresh.stdout).toMatch(/~ .*hostnet:BridgeEndpoint c2 /);
    // Machine 2's probe over SSH saw the flow to machine 1 stop.
    expect(refresh.stdout).toMatch(/~ .*hostnet:Reachability flows /);
    const up = await project.up();
    // The Vxlan and the endpoint repaired, then the flows proven again.
    expect(up.stdout).toMatch(/3 updated/);
    expect(await ping(1, "c1", "10.60.0.12")).toBe(true);
    expect(await host(2).run(["ip", "-o", "link", "show", "eth0"], { netns: "c2" })).toMatch(/mtu 1450/);
  });

  test("a machine whose sshd is gone fails only its own resources, naming it; once back, up converges", async () => {
    await host(3).stopSshd();
    try {
      project.writeProgram(
        program(`new hostnet.ContainerNetwork("c4", { mode: "bridge", network: ov, machine: m3, address: "10.60.0.14" });
new hostnet.ContainerNetwork("c5", { mode: "bridge", network: ov, machine: m1, address: "10.60.0.15" });`),
      );
      const failed = await project.cli(["up", "--yes", "--skip-preview", "--continue-on-error", "--stack", "test"]);
      expect(failed.code).not.toBe(0);
      expect(failed.output).toMatch(/c4 \*\*creating failed\*\* error: on machine m3 \(root@192\.168\.77\.3:22\): ip netns add c4: cannot reach the machine over ssh: ssh: connect to host 192\.168\.77\.3 port 22: Connection refused/);
      // The other machines' work completes.
      expect(await ping(1, "c1", "10.60.0.15")).toBe(true);
      // A preview says so before anything is tried.
      const preview = await project.preview();
      expect(preview.code).not.toBe(0);
      expect(preview.output).toMatch(/property machine value \{m3\} has a problem: on machine m3 \(root@192\.168\.77\.3:22\): cannot reach the machine over ssh/);
    } finally {
      await host(3).startSshd();
    }
    await project.up();
    expect(await ping(1, "c1", "10.60.0.14")).toBe(true);
    expect(await ping(3, "c4", "10.60.0.15")).toBe(true);
  });

  test("the connection is a secret in the state: no private key in clear", async () => {
    const state = await project.cli(["stack", "export", "--stack", "test"]);
    expect(state.code).toBe(0);
    expect(state.stdout).toContain("ov-m1-vxlan");
    expect(state.stdout).not.toContain("PRIVATE KEY");
    expect(state.stdout).toMatch(/"connection":\s*\{\s*"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/);
  });

  test("removing a machine from the overlay updates the others in place", async () => {
    project.writeProgram(`
${machines.lab.machinesSource(2)}
const ov = new hostnet.OverlayNetwork("ov", { subnet: "10.60.0.0/24", vni: 42, machines: [
  { machine: m1, address: "192.168.77.1" }, { machine: m2, address: "192.168.77.2" },
] });
new hostnet.ContainerNetwork("c1", { mode: "bridge", network: ov, machine: m1, address: "10.60.0.11" });
new hostnet.ContainerNetwork("c2", { mode: "bridge", network: ov, machine: m2, address: "10.60.0.12", ports: [{ hostPort: 8080, containerPort: 80 }] });
`);
    const up = await project.up();
    expect(up.stdout).toMatch(/~ .*hostnet:Vxlan ov-m1-vxlan updated/);
    expect(up.stdout).toMatch(/~ .*hostnet:Vxlan ov-m2-vxlan updated/);
    expect(up.stdout).not.toMatch(/replaced/);
    expect(await host(1).run(["bridge", "fdb", "show", "dev", "vx-ov"])).not.toContain("192.168.77.3");
    expect(await host(3).run(["ip", "netns", "list"])).toBe("");
    expect(await ping(1, "c1", "10.60.0.12")).toBe(true);
  });

  test("destroy leaves every machine as it was", async () => {
    await project.destroy();
    // The leak guard of each machine and of the sandbox checks the rest after the file.
    for (const i of [1, 2, 3]) expect(await host(i).run(["ip", "netns", "list"])).toBe("");
  });
});
