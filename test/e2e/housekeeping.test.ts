// `pulumi-hostnet gc` and `recover`, the shipped housekeeping commands, against the real kernel
// and the real pulumi: a killed `up` with checkpoints skipped leaves objects the state does not
// know; after the program shrinks, gc must name exactly those, and --delete remove them.
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

function containers(n: number): string {
  return `
const net = new hostnet.BridgeNetwork("net", { bridgeName: "br0", subnet: "10.67.0.0/16" });
for (let i = 0; i < ${n}; i++) {
  new hostnet.ContainerNetwork("c" + i, { mode: "bridge", network: net, address: "10.67.0." + (i + 2), ports: [{ hostPort: 21000 + i, containerPort: 80 }] });
}
`;
}

const KEPT = 4;

describeAsRoot("gc finds and removes what a killed run left and the state does not hold", () => {
  const ctx = useSandbox();
  // A project name of this process: sysctl records (/run/pulumi-hostnet) are shared by the machine.
  const project = usePulumiProject(ctx, `hk${process.pid}`);
  const tagPrefix = () => `hostnet:${project.name}/test/`;
  beforeAll(() => {
    // After a failure half-way, the leak guard still gets a clean sandbox to judge: best effort.
    ctx.addTeardown(async () => {
      project.extraEnv = {};
      await project.hostnet(["recover", "--stack", project.qualifiedStack]);
      await project.cli(["destroy", "--yes", "--skip-preview", "--stack", "test"]);
      await project.hostnet(["gc", "--stack", project.qualifiedStack, "--delete"]);
    });
  });

  const lines = async (argv: string[], options: { netns?: string } = {}) => (await ctx.sandbox.run(argv, options)).split("\n").filter((l) => l.trim());
  // A container's netns ("c7") or its endpoint's tag ("c7-endpoint") beyond the kept ones.
  const leftover = (name: string) => Number(/^c(\d+)(?:-endpoint)?$/.exec(name)?.[1] ?? -1) >= KEPT;
  /** What gc printed as orphans, by kind: the part after "orphan KIND " up to the colon. */
  const orphansOf = (stdout: string, kind: string) =>
    stdout.split("\n").filter((l) => l.startsWith(`orphan ${kind} `)).map((l) => l.slice(`orphan ${kind} `.length, l.indexOf(": ")));

  test("a killed up with PULUMI_SKIP_CHECKPOINTS, recover, a smaller program up: gc lists exactly the orphans, --delete removes them, destroy leaves nothing", async () => {
    project.extraEnv = { PULUMI_SKIP_CHECKPOINTS: "true" };
    try {
      project.writeProgram(containers(20));
      await project.upKilledWhen(async () => (await lines(["ip", "-o", "link", "show"])).filter((l) => /: vh-c\d+@/.test(l)).length >= 10);
      const recovered = await project.hostnet(["recover", "--stack", project.qualifiedStack]);
      expect(recovered.code).toBe(0);
      expect(recovered.stdout).toMatch(/^lock: held/m);
      expect(recovered.stdout).toMatch(/^refresh --clear-pending-creates: done/m);

      project.writeProgram(containers(KEPT));
      await project.up();

      // What the kernel holds beyond the program, read directly (not through the provider).
      const namespaces = (await lines(["ip", "netns", "list"])).map((l) => l.split(" ")[0] ?? "").filter(leftover).sort();
      expect(namespaces.length).toBeGreaterThan(0);
      const hostEnds = (await lines(["ip", "-o", "link", "show"])).map((l) => /: (vh-c\d+)@/.exec(l)?.[1]).filter((n): n is string => !!n && leftover(n.slice(3))).sort();
      const nftTags = [...(await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).matchAll(/comment "([^"]+)"/g)].map((m) => m[1] ?? "");
      const orphanTags = [...new Set(nftTags.filter((t) => leftover(t.slice(tagPrefix().length))))].sort();

      const dry = await project.hostnet(["gc", "--stack", project.qualifiedStack]);
      expect(dry.code).toBe(0);
      console.log(`gc dry run, ${namespaces.length} containers left by the kill beyond the ${KEPT} kept:\n${dry.stdout.split("\n").slice(0, 12).join("\n")}\n...`);
      expect(orphansOf(dry.stdout, "netns").sort()).toEqual(namespaces.map((n) => `netns ${n}`));
      expect(orphansOf(dry.stdout, "link").filter((w) => w.endsWith("(host)")).sort()).toEqual(hostEnds.map((n) => `link ${n} (host)`));
      expect(orphansOf(dry.stdout, "firewall").sort()).toEqual(orphanTags.map((t) => `nftables ipv4 rules ${t} (host)`));
      // Every orphan line names a leftover container's tag; nothing of the kept ones, the network, or untagged.
      for (const line of dry.stdout.split("\n").filter((l) => l.startsWith("orphan "))) {
        const name = new RegExp(`${tagPrefix()}([^ ,]+)`).exec(line)?.[1];
        expect(name !== undefined && leftover(name)).toBe(true);
      }
      expect(dry.stdout).toMatch(/ orphans \(dry run: nothing removed/);
      // A dry run changes nothing.
      expect((await lines(["ip", "netns", "list"])).filter((l) => leftover(l.split(" ")[0] ?? ""))).toHaveLength(namespaces.length);

      const removed = await project.hostnet(["gc", "--stack", project.qualifiedStack, "--delete"]);
      expect(removed.code).toBe(0);
      const count = Number(/^(\d+) of \d+ orphans removed$/m.exec(removed.stdout)?.[1]);
      console.log(`gc --delete: ${removed.stdout.trim().split("\n").at(-1)}`);
      expect(count).toBeGreaterThanOrEqual(namespaces.length * 2 + orphanTags.length);
      expect((await project.hostnet(["gc", "--stack", project.qualifiedStack])).stdout).toMatch(/^0 orphans/m);

      // What the state holds is untouched: the kept containers work and keep their forwards.
      expect((await lines(["ip", "netns", "list"])).map((l) => l.split(" ")[0]).sort()).toEqual(["c0", "c1", "c2", "c3"]);
      for (let i = 0; i < KEPT; i++) expect(await ctx.sandbox.succeeds(["ping", "-c1", "-W2", "10.67.0.1"], { netns: `c${i}` })).toBe(true);
      expect((await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).match(/dnat to/g)).toHaveLength(2 * KEPT);
      expect((await project.preview(["--expect-no-changes"])).code).toBe(0);

      // Nothing to recover now: recover refuses.
      const refused = await project.hostnet(["recover", "--stack", project.qualifiedStack]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/nothing to recover \(the checkpoint is whole and no lock is held\)/);

      await project.destroy();
      expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
    } finally {
      project.extraEnv = {};
    }
  });

  test("bad input is refused with a clear message and exit 2, before anything is read", async () => {
    const noStack = await project.hostnet(["gc"]);
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toMatch(/gc needs --stack ORG\/PROJECT\/STACK/);
    const badStack = await project.hostnet(["gc", "--stack", "just-a-name"]);
    expect(badStack.code).toBe(1);
    expect(badStack.stderr).toMatch(/bad --stack "just-a-name": expected ORG\/PROJECT\/STACK/);
    const unknown = await project.hostnet(["gc", "--stack", project.qualifiedStack, "--purge"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--purge'/);
    const noHost = await project.hostnet(["gc", "--stack", project.qualifiedStack, "--host", "nosuch"]);
    expect(noHost.code).toBe(1);
    expect(noHost.stderr).toMatch(/netns nosuch \(--host\) does not exist/);
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
