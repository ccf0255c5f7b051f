// Faults: a command failing half-way through a create (the providers called directly, one
// command made to fail for real in the kernel), a container's netns deleted by hand, two stacks
// on one host, and kernel objects of a declared name that are not ours.
import { ExecaRunner } from "../../provider/exec";
import { makeProviders, type ResourceKind } from "../../provider/resources";
import { FaultRunner, type Fault } from "../support/faults";
import { describeAsRoot, usePulumiProject, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("faults", () => {
  const ctx = useSandbox();
  const run = (argv: string[], netns?: string) => ctx.sandbox.run(argv, { netns });
  const ip = (...args: string[]) => run(["ip", ...args]);
  const linkExists = (name: string, netns?: string) => ctx.sandbox.succeeds(["ip", ...(netns ? ["-n", netns] : []), "link", "show", name]);
  let tried = 0;
  let survived = 0;
  /** Counts a scenario: it survived when its body ran to the end. `cleanup` runs either way, so one failure does not spill into the next. */
  const scenario = async (body: () => Promise<void>, cleanup?: () => Promise<unknown>) => {
    tried++;
    try {
      await body();
      survived++;
    } finally {
      await cleanup?.();
    }
  };

  afterAll(() => {
    console.log(`faults: ${survived}/${tried}`);
  });

  describe("(b) a command failing half-way through a create leaves nothing behind", () => {
    const TAG = "hostnet:faults/test/b";

    async function failedCreate(kind: ResourceKind, news: Record<string, unknown>, fault: Fault): Promise<{ error: Error; runner: FaultRunner }> {
      const runner = new FaultRunner(ctx.sandbox.runner, fault);
      const provider = makeProviders(runner)[kind];
      const checked = await provider.check!({}, { ...news, tag: TAG });
      expect(checked.failures ?? []).toEqual([]);
      const error = await provider.create(checked.inputs!).then(
        () => new Error("create succeeded"),
        (err: unknown) => err as Error,
      );
      // The fault really happened, and it happened after the create had made something.
      expect(runner.fired).toBeDefined();
      expect(runner.firedAfter).toBeGreaterThan(0);
      return { error, runner };
    }

    test("Bridge: the kernel refuses its IPv6 address, after its settings and its IPv4 address were applied", () =>
      scenario(async () => {
        const before = await ctx.sandbox.snapshot();
        const { error } = await failedCreate(
          "bridge",
          { name: "fb-br", addresses: ["10.91.0.1/24", "fd00:91::1/64"], mtu: 1400 },
          // Someone turns IPv6 off on the new bridge just before its address goes on.
          { match: /addr add fd00:91::1\/64/, sabotage: async () => void (await run(["sysctl", "-q", "-w", "net.ipv6.conf.fb-br.disable_ipv6=1"])) },
        );
        expect(error.message).toMatch(/IPv6 is disabled on this device/);
        expect(error.message).toMatch(/fd00:91::1\/64/);
        expect(await linkExists("fb-br")).toBe(false);
        expect(await ctx.sandbox.snapshot()).toEqual(before);
      }));

    test("Bridge: the kernel refuses the command that adds its address (no CAP_NET_ADMIN)", () =>
      scenario(async () => {
        const before = await ctx.sandbox.snapshot();
        const { error } = await failedCreate("bridge", { name: "fb-br2", addresses: ["10.91.1.1/24"] }, { match: /addr add 10\.91\.1\.1\/24 dev fb-br2/ });
        expect(error.message).toMatch(/Operation not permitted/);
        expect(await linkExists("fb-br2")).toBe(false);
        expect(await ctx.sandbox.snapshot()).toEqual(before);
      }));

    test("VethPair: the kernel refuses the peer's settings inside its namespace", () =>
      scenario(async () => {
        await ip("netns", "add", "fb-vns");
        const before = await ctx.sandbox.snapshot();
        const { error } = await failedCreate(
          "veth",
          { name: "fb-veth", addresses: ["10.91.2.1/24"], mtu: 1400, peer: { name: "eth0", namespace: "fb-vns", addresses: ["10.91.2.2/24"] } },
          { match: /-n fb-vns\b[\s\S]*link set dev eth0\b/ },
        );
        expect(error.message).toMatch(/Operation not permitted/);
        expect(await linkExists("fb-veth")).toBe(false);
        expect(await linkExists("eth0", "fb-vns")).toBe(false);
        expect(await ctx.sandbox.snapshot()).toEqual(before);
        await ip("netns", "delete", "fb-vns");
      }));

    test("VethPair: the kernel refuses the peer's IPv6 address", () =>
      scenario(async () => {
        await ip("netns", "add", "fb-vns6");
        const before = await ctx.sandbox.snapshot();
        const { error } = await failedCreate(
          "veth",
          { name: "fb-veth6", peer: { name: "eth0", namespace: "fb-vns6", addresses: ["10.91.3.2/24", "fd00:91:3::2/64"] } },
          { match: /addr add fd00:91:3::2\/64/, sabotage: async () => void (await run(["sysctl", "-q", "-w", "net.ipv6.conf.eth0.disable_ipv6=1"], "fb-vns6")) },
        );
        expect(error.message).toMatch(/IPv6 is disabled on this device/);
        expect(await linkExists("fb-veth6")).toBe(false);
        expect(await linkExists("eth0", "fb-vns6")).toBe(false);
        expect(await ctx.sandbox.snapshot()).toEqual(before);
        await ip("netns", "delete", "fb-vns6");
      }));

    test("Namespace: the kernel refuses the setup of its lo", () =>
      scenario(async () => {
        const before = await ctx.sandbox.snapshot();
        const { error } = await failedCreate("namespace", { name: "fb-ns" }, { match: /-n fb-ns\b[\s\S]*link set dev lo\b/ });
        expect(error.message).toMatch(/Operation not permitted/);
        expect(await ip("netns", "list")).not.toMatch(/\bfb-ns\b/);
        expect(await ctx.sandbox.snapshot()).toEqual(before);
      }));
  });

  describe("(c) a container's netns deleted by hand", () => {
    const project = usePulumiProject(ctx, "faults-c");
    const program = `
const n = new hostnet.BridgeNetwork("fc", { bridgeName: "fc-br", subnet: "10.92.0.0/24" });
new hostnet.ContainerNetwork("fc-web", { mode: "bridge", network: n, address: "10.92.0.2", ports: [{ hostPort: 8092, containerPort: 80 }] });
new hostnet.ContainerNetwork("fc-db", { mode: "bridge", network: n, address: "10.92.0.3" });
`;
    const ping = (from: string, to: string) => ctx.sandbox.succeeds(["ping", "-c", "1", "-W", "2", to], { netns: from });

    test("refresh drops what went with it, up makes it again, destroy after a second deletion succeeds", () =>
      scenario(async () => {
        const start = await ctx.sandbox.snapshot();
        project.writeProgram(program);
        await project.up();
        expect(await ping("fc-db", "10.92.0.2")).toBe(true);

        await ip("netns", "delete", "fc-web");
        const refresh = await project.refresh();
        // The namespace took the veth pair, the address and the route with it; the endpoint's
        // port forward rules are on the host, so it stays in the state (nothing is dropped) and
        // the next preview plans to make the rest again.
        expect(refresh.stdout).not.toMatch(/deleted/);
        expect((await project.preview()).stdout).toMatch(/~ pulumi-nodejs:dynamic\/hostnet:BridgeEndpoint: \(update\)[\s\S]*::fc-web\b/);

        await project.up();
        // From the new namespace: fc-db still holds the old veth's MAC for 10.92.0.2 until it hears from the new one.
        expect(await ping("fc-web", "10.92.0.3")).toBe(true);
        expect(await ping("fc-db", "10.92.0.2")).toBe(true);
        expect(await ip("-n", "fc-web", "route", "show", "default")).toMatch(/default via 10\.92\.0\.1 dev eth0 proto 212/);

        // Deleted again, and straight to destroy without a refresh: deleting what is gone is success.
        await ip("netns", "delete", "fc-web");
        await project.destroy();
        expect(await ctx.sandbox.snapshot()).toEqual(start);
      }));
  });

  describe("(d) two stacks on one host", () => {
    const stackA = usePulumiProject(ctx, "faults-a");
    const stackB = usePulumiProject(ctx, "faults-b");
    const programFor = (x: "a" | "b", octet: number) => `
const n = new hostnet.BridgeNetwork("net", { bridgeName: "f${x}-br", subnet: "10.${octet}.0.0/24" });
new hostnet.ContainerNetwork("web", { mode: "bridge", namespaceName: "f${x}-web", hostInterfaceName: "vh-f${x}-web", network: n, address: "10.${octet}.0.2", ports: [{ hostPort: 80${octet}, containerPort: 80 }] });
new hostnet.NatRule("snat", { type: "snat", source: "10.${octet}.1.0/24", toSource: "10.${octet}.0.1" });
`;
    /** A stack's links, its namespace's links and addresses, and its rules, as the kernel shows them. */
    const footprint = async (x: "a" | "b") => {
      // Operational state left out: a bridge goes from UNKNOWN to UP when its port finishes joining, on its own time.
      const links = (await ip("-o", "link", "show")).split("\n").filter((l) => l.includes(`f${x}-`)).map((l) => l.replace(/\s+/g, " ").replace(/ state \S+/, ""));
      const inside = (await ip("-n", `f${x}-web`, "-o", "-4", "addr", "show")).replace(/\s+/g, " ");
      const rules = (await run(["nft", "list", "table", "ip", "hostnet"])).split("\n").filter((l) => l.includes(`"hostnet:faults-${x}/`)).map((l) => l.trim());
      return { links, inside, rules };
    };

    test("each stack's destroy leaves the other's objects and rules intact", () =>
      scenario(async () => {
        const start = await ctx.sandbox.snapshot();
        stackA.writeProgram(programFor("a", 93));
        stackB.writeProgram(programFor("b", 94));
        await Promise.all([stackA.up(), stackB.up()]);
        const a = await footprint("a");
        const b = await footprint("b");
        expect(a.links).toHaveLength(2); // bridge, host end of the veth
        expect(b.links).toHaveLength(2);
        expect(a.rules).toHaveLength(14); // the network's masquerade 3 and isolation 3 (NAT gateway mode: one more), the port forward 5, the SNAT 3
        expect(b.rules.length).toBe(a.rules.length);
        await ctx.sandbox.serve("fb-web", "tcp", 80);
        expect(await ctx.sandbox.ask(undefined, "tcp", "10.94.0.1", 8094)).toBe("10.94.0.1");

        await stackA.destroy();
        expect(await footprint("b")).toEqual(b);
        expect(await linkExists("fa-br")).toBe(false);
        expect(await ip("netns", "list")).not.toMatch(/\bfa-web\b/);
        expect((await run(["nft", "list", "table", "ip", "hostnet"])).includes("hostnet:faults-a/")).toBe(false);
        expect(await ctx.sandbox.ask(undefined, "tcp", "10.94.0.1", 8094)).toBe("10.94.0.1");

        // Both stacks turned forwarding on; the one still there keeps it on.
        expect((await run(["sysctl", "-n", "net.ipv4.ip_forward"])).trim()).toBe("1");
        await stackB.destroy();
        expect(await ctx.sandbox.snapshot()).toEqual(start);
      }));
  });

  describe("(d) two stacks setting one sysctl at the same moment", () => {
    // What two concurrent `pulumi up`s of two stacks do, made deterministic: two provider
    // instances (one per stack, as two provider processes), created at once, then one deleted.
    test("destroying either stack leaves the value the other still declares; the last one restores the original", () =>
      scenario(async () => {
        const start = await ctx.sandbox.snapshot();
        const stack = (project: string) => {
          const sysctl = makeProviders(new ExecaRunner({ prefix: ctx.sandbox.prefix() })).sysctl;
          return { sysctl, inputs: { key: "net.ipv4.ip_forward", value: "1", tag: `hostnet:${project}/test/ip-forward` } };
        };
        const forwarding = async () => (await run(["sysctl", "-n", "net.ipv4.ip_forward"])).trim();
        expect(await forwarding()).toBe("0");
        // Once with each stack going first, since which of two racing writers wins is not ours to choose.
        for (const order of [["a", "b"], ["b", "a"]] as const) {
          const stacks = { a: stack("faults-a"), b: stack("faults-b") };
          const created = await Promise.all(
            (["a", "b"] as const).map(async (x) => {
              const { sysctl, inputs } = stacks[x];
              return sysctl.create((await sysctl.check!({}, inputs)).inputs!);
            }),
          );
          const made = { a: created[0]!, b: created[1]! };
          const [first, second] = order;
          await stacks[first].sysctl.delete!(made[first].id, made[first].outs);
          expect({ deleted: first, forwarding: await forwarding() }).toEqual({ deleted: first, forwarding: "1" });
          await stacks[second].sysctl.delete!(made[second].id, made[second].outs);
          expect(await forwarding()).toBe("0");
        }
        expect(await ctx.sandbox.snapshot()).toEqual(start);
      }));
  });

  describe("(e) a bridge and a netns of a declared name that are not ours", () => {
    const project = usePulumiProject(ctx, "faults-e");
    const program = (adopt: boolean) => `
new hostnet.Bridge("fe-br", { name: "fe-br", addresses: ["10.95.0.1/24"], adopt: ${adopt} });
new hostnet.Namespace("fe-ns", { name: "fe-ns", adopt: ${adopt} });
`;

    test("up refuses them, naming adopt: true, and changes nothing; with adopt: true up takes them and destroy removes them", () =>
      scenario(async () => {
        const start = await ctx.sandbox.snapshot();
        await ip("link", "add", "fe-br", "type", "bridge");
        await ip("netns", "add", "fe-ns");
        const theirs = await ctx.sandbox.snapshot();

        project.writeProgram(program(false));
        const refused = await project.cli(["up", "--yes", "--skip-preview", "--stack", "test"]);
        expect(refused.code).not.toBe(0);
        expect(refused.output).toMatch(/link fe-br in the host netns already exists and it was not created by pulumi-hostnet; .*set `adopt: true`/);
        expect(refused.output).toMatch(/network namespace fe-ns already exists and it was not created by pulumi-hostnet; .*set `adopt: true`/);
        expect(await ctx.sandbox.snapshot()).toEqual(theirs);

        project.writeProgram(program(true));
        await project.up();
        expect(await ip("-d", "addr", "show", "fe-br")).toMatch(/alias hostnet:faults-e\/test\/fe-br[\s\S]*inet 10\.95\.0\.1\/24/);
        expect(await ip("-n", "fe-ns", "-d", "link", "show", "lo")).toContain("alias hostnet:faults-e/test/fe-ns");

        await project.destroy();
        expect(await linkExists("fe-br")).toBe(false);
        expect(await ip("netns", "list")).not.toMatch(/\bfe-ns\b/);
        expect(await ctx.sandbox.snapshot()).toEqual(start);
      }));
  });

  describe("(f) our bridge and netns replaced by hand with foreign ones of the same names", () => {
    const project = usePulumiProject(ctx, "faults-f");

    test("refresh sees ours gone, up refuses theirs (naming adopt: true), destroy leaves theirs alone", () =>
      scenario(async () => {
        const start = await ctx.sandbox.snapshot();
        project.writeProgram(`
new hostnet.Bridge("ff-br", { name: "ff-br", addresses: ["10.96.0.1/24"] });
new hostnet.Namespace("ff-ns", { name: "ff-ns" });
`);
        await project.up();
        // Someone else deletes them and makes their own, with the same names.
        await ip("link", "delete", "ff-br");
        await ip("link", "add", "ff-br", "type", "bridge");
        await ip("netns", "delete", "ff-ns");
        await ip("netns", "add", "ff-ns");
        const theirs = await ctx.sandbox.snapshot();

        const refresh = await project.refresh();
        const deleted = [...refresh.stdout.matchAll(/- +pulumi-nodejs:dynamic\/hostnet:\w+ (\S+) +deleted/g)].map((m) => m[1]).sort();
        expect(deleted).toEqual(["ff-br", "ff-ns"]);
        const refused = await project.cli(["up", "--yes", "--skip-preview", "--stack", "test"]);
        expect(refused.code).not.toBe(0);
        expect(refused.output).toMatch(/link ff-br in the host netns already exists and it was not created by pulumi-hostnet; .*set `adopt: true`/);
        expect(refused.output).toMatch(/network namespace ff-ns already exists and it was not created by pulumi-hostnet; .*set `adopt: true`/);
        await project.destroy();
        expect(await ctx.sandbox.snapshot()).toEqual(theirs);

        await ip("link", "delete", "ff-br");
        await ip("netns", "delete", "ff-ns");
        expect(await ctx.sandbox.snapshot()).toEqual(start);
      }, async () => {
        await project.cli(["destroy", "--yes", "--skip-preview", "--stack", "test"]);
        await ctx.sandbox.succeeds(["ip", "link", "delete", "ff-br"]);
        await ctx.sandbox.succeeds(["ip", "netns", "delete", "ff-ns"]);
      }));
  });

  describe("(end)", () => {
    test("the sandbox is left as it was", () => scenario(async () => expect(await ctx.sandbox.snapshot()).toEqual(ctx.before)));
  });
});
