// Scenario 10 (interrupted runs) and 11 (scale): `pulumi up` of 30 bridge-mode containers
// killed with SIGKILL at several points, then converged; 50 containers created and destroyed
// three times at Pulumi's default parallelism. Nothing may be left behind.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

function containers(n: number): string {
  return `
const net = new hostnet.BridgeNetwork("net", { bridgeName: "br0", subnet: "10.66.0.0/16" });
for (let i = 0; i < ${n}; i++) {
  const address = "10.66." + Math.floor((i + 2) / 256) + "." + ((i + 2) % 256);
  new hostnet.ContainerNetwork("c" + i, { mode: "bridge", network: net, address, ports: [{ hostPort: 20000 + i, containerPort: 80 }] });
}
`;
}

const addressOf = (i: number) => `10.66.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;

describeAsRoot("pulumi up killed with SIGKILL converges on the next run (scenario 10)", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "killed");
  const figures = { tried: 0, survived: 0, restored: 0 };
  afterAll(() => console.log(`faults: SIGKILL of pulumi up survived ${figures.survived}/${figures.tried} (${figures.restored} needed cut checkpoint files repaired from the backend's own copies)`));

  const count = async (argv: string[], pattern: RegExp) => (await ctx.sandbox.run(argv)).split("\n").filter((l) => pattern.test(l)).length;
  const namespaces = () => count(["ip", "netns", "list"], /^c\d+/);
  const hostEnds = () => count(["ip", "-o", "link", "show"], /: vh-c\d+@/);
  const killPoints: [string, () => Promise<boolean>][] = [
    ["the bridge exists", async () => (await count(["ip", "-o", "link", "show"], /: br0:/)) > 0],
    ["10 namespaces exist", async () => (await namespaces()) >= 10],
    ["20 veth pairs exist", async () => (await hostEnds()) >= 20],
  ];

  test.each(killPoints)("killed once %s, then cancel, refresh (clearing pending creates), up: every container works; destroy leaves nothing", async (point, when) => {
    figures.tried++;
    project.writeProgram(containers(30));
    await project.upKilledWhen(when);
    const leftByTheKill = `${await namespaces()} namespaces and ${await hostEnds()} veth pairs`;
    if ((await project.recoverFromKill()).restoredFromBackup) figures.restored++;
    await project.up();
    for (const i of [0, 13, 29]) {
      expect(await ctx.sandbox.run(["ip", "-br", "addr", "show", "eth0"], { netns: `c${i}` })).toContain(`${addressOf(i)}/16`);
      expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", "10.66.0.1"], { netns: `c${i}` })).toBe(true);
    }
    const rules = await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"]);
    expect(rules.match(/dnat to/g)).toHaveLength(60); // prerouting and output, once each per container
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
    console.log(`killed once ${point}: ${leftByTheKill} (of 30) were left by the kill; converged and destroyed cleanly`);
    figures.survived++;
  });

  test("with PULUMI_SKIP_CHECKPOINTS the state keeps nothing of a killed up; the next up takes over what it made (ours by its tags), and destroy leaves nothing", async () => {
    figures.tried++;
    project.extraEnv = { PULUMI_SKIP_CHECKPOINTS: "true" };
    try {
      project.writeProgram(containers(30));
      await project.upKilledWhen(async () => (await hostEnds()) >= 10);
      const left = await hostEnds();
      expect(left).toBeGreaterThanOrEqual(10);
      await project.recoverFromKill();
      // No checkpoint was written during the killed run: the stack knows none of what it made.
      expect((await project.cli(["stack", "export", "--stack", "test"])).stdout).not.toContain("BridgeEndpoint");
      const up = await project.up();
      expect(up.output).not.toMatch(/already exists/);
      for (const i of [0, 13, 29]) expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", "10.66.0.1"], { netns: `c${i}` })).toBe(true);
      expect((await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).match(/dnat to/g)).toHaveLength(60);
      await project.destroy();
      expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
      console.log(`killed with checkpoints skipped: ${left} veth pairs (of 30) left by the kill, unknown to the state; taken over by the next up; destroyed cleanly`);
      figures.survived++;
    } finally {
      project.extraEnv = {};
    }
  });

  test("a checkpoint emptied by a kill mid-write is put back from the backend's backups, and up converges", async () => {
    figures.tried++;
    project.writeProgram(containers(30));
    await project.up();
    project.truncateCheckpoint();
    expect((await project.recoverFromKill()).restoredFromBackup).toBe(true);
    figures.restored++;
    await project.up();
    for (const i of [0, 29]) expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", "10.66.0.1"], { netns: `c${i}` })).toBe(true);
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
    figures.survived++;
  });
});

describeAsRoot("50 containers created and destroyed three times (scenario 11)", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, "scale");

  test.each([1, 2, 3])("round %i: up, every container reaches the gateway, destroy, nothing left", async () => {
    project.writeProgram(containers(50));
    await project.up();
    expect((await ctx.sandbox.run(["ip", "netns", "list"])).trim().split("\n")).toHaveLength(50);
    for (const i of [0, 24, 49]) expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", "10.66.0.1"], { netns: `c${i}` })).toBe(true);
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
