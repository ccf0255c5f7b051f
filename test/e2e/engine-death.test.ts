// The provider process and a killed engine, through the real pulumi CLI: while `pulumi up` runs,
// `recover` refuses (it would cancel a live update); after `kill -9` of `pulumi` alone (not its
// children), the provider process ends by itself and makes nothing more; then recover, up and
// destroy converge and leave the sandbox as it was.
import { readdirSync, readFileSync } from "node:fs";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

function containers(n: number): string {
  return `
const net = new hostnet.BridgeNetwork("net", { bridgeName: "br0", subnet: "10.68.0.0/16" });
for (let i = 0; i < ${n}; i++) {
  new hostnet.ContainerNetwork("c" + i, { mode: "bridge", network: net, address: "10.68.0." + (i + 2) });
}
`;
}

/** Parent pid of a process, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** The dynamic-provider processes (node) that `pulumi` (pid) started, through its `sh` wrapper. */
function providersOf(pulumiPid: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        return false;
      }
      if (!cmdline.includes("dynamic-provider")) return false;
      const parent = parentOf(pid);
      return parent === pulumiPid || (parent !== undefined && parentOf(parent) === pulumiPid);
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeAsRoot("the provider process ends with the engine that started it", () => {
  const ctx = useSandbox();
  const project = usePulumiProject(ctx, `engine${process.pid}`);
  beforeAll(() => {
    ctx.addTeardown(async () => {
      // After a failure half-way, the leak guard still gets a clean sandbox to judge: best effort.
      await project.hostnet(["recover", "--stack", project.qualifiedStack]);
      await project.cli(["destroy", "--yes", "--skip-preview", "--stack", "test"]);
      await project.hostnet(["gc", "--stack", project.qualifiedStack, "--delete"]);
    });
  });
  const namespaces = async () => (await ctx.sandbox.run(["ip", "netns", "list"])).split("\n").filter((l) => /^c\d+/.test(l)).length;

  test("recover refuses while up runs; kill -9 of pulumi ends the provider, which makes nothing more; recover, up and destroy converge", async () => {
    project.writeProgram(containers(40));
    const up = project.startUp();
    let finished = false;
    void up.done.then(() => (finished = true));
    let providers: number[] = [];
    while (!finished && ((await namespaces()) < 3 || providers.length === 0)) {
      providers = providersOf(up.pid);
      await sleep(50);
    }
    expect(finished).toBe(false);

    // The lock's holder is alive: recover refuses, naming it, and the update goes on.
    const refused = await project.hostnet(["recover", "--stack", project.qualifiedStack]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`the stack's lock is held by process ${up.pid} .*which is still running: an update is under way`));
    expect(isAlive(up.pid)).toBe(true);

    // kill -9 of the CLI alone: its children (the provider, the program) are not signalled.
    process.kill(up.pid, "SIGKILL");
    await up.done;
    const killedAt = Date.now();
    // Polled, with a generous bound: it checks its engine once a second.
    while (providers.some(isAlive) && Date.now() - killedAt < 60_000) await sleep(100);
    const exitedAfter = Date.now() - killedAt;
    expect(providers.filter(isAlive)).toEqual([]);
    const left = await namespaces();
    await sleep(3000);
    expect(await namespaces()).toBe(left); // nothing is made after it ended
    console.log(`engine death: the provider process exited ${exitedAfter} ms after kill -9 of pulumi; ${left} of 40 namespaces were made by then`);

    const recovered = await project.hostnet(["recover", "--stack", project.qualifiedStack]);
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toMatch(/^lock: held/m);
    await project.up();
    expect(await namespaces()).toBe(40);
    await project.destroy();
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
