// Issue 20 parts 1 and 6 (a) on the real kernel, the providers called directly: a forward of a
// port that a real listener holds (socat, tcp and udp, both families, started and killed by
// pid) is refused at check and at create; over SSH (a lab machine's real sshd) port 22 is
// refused; a failed ports update puts the previous forwards and [::1] proxies back.
import type * as pulumi from "@pulumi/pulumi";
import { firewall, proxyPidFile, proxyRunning } from "../../provider/kernel";
import { makePlacedProviders, makeProviders } from "../../provider/resources";
import { FaultRunner } from "../support/faults";
import { describeAsRoot, useLab, useSandbox } from "../support/guard";
import { Listeners } from "../support/listeners";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const TAG = "hostnet:itest/dev/pu";

describeAsRoot("forwards of host ports in use", () => {
  const ctx = useSandbox();
  const machines = useLab(ctx, 1);
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);

  beforeAll(async () => {
    await ip("link", "add", "br-pu", "type", "bridge");
    await ip("addr", "add", "10.78.0.1/24", "dev", "br-pu");
    await ip("addr", "add", "fd78::1/64", "dev", "br-pu", "nodad");
    await ip("link", "set", "br-pu", "up");
    ctx.addTeardown(async () => {
      await stopAll();
      await ip("link", "del", "br-pu");
    });
  });

  /**
   * The providers through a runner of their own: preview's `ss` listing serves one runner's
   * checks for a moment, and each step here starts or stops a listener in between.
   */
  const fresh = () => makeProviders({ run: (command) => ctx.sandbox.runner.run(command) });

  const listeners = new Listeners(() => ctx.sandbox);
  const listen = (address: string, port: number, protocol: "tcp" | "udp") => listeners.start(address, port, protocol);
  const stopAll = () => listeners.stopAll();
  afterEach(stopAll);

  async function failuresOf(kind: "portforward" | "endpoint", news: Record<string, unknown>, olds: Record<string, unknown> = {}): Promise<{ property: string; reason: string }[]> {
    return failuresThrough(fresh()[kind], news, olds);
  }
  async function failuresThrough(provider: pulumi.dynamic.ResourceProvider, news: Record<string, unknown>, olds: Record<string, unknown> = {}): Promise<{ property: string; reason: string }[]> {
    return ((await provider.check!(olds, news)).failures ?? []).map((f) => ({ property: f.property, reason: f.reason }));
  }
  const forward = (protocol: "tcp" | "udp", hostPort: number | string, target: string, extra: Record<string, unknown> = {}) => ({ protocol, hostPort, target, fromHost: true, hairpin: true, firewallBackend: "nftables", tag: `${TAG}/fwd`, ...extra });

  test("tcp on 0.0.0.0: an IPv4 forward is refused at check and at create, naming the process; IPv6 is free", async () => {
    const { portforward } = makeProviders(ctx.sandbox.runner);
    const pid = await listen("TCP4-LISTEN:18001,bind=0.0.0.0,reuseaddr", 18001, "tcp");
    const failures = await failuresOf("portforward", forward("tcp", 18001, "10.78.0.2"));
    expect(failures).toEqual([{ property: "hostPort", reason: `host port tcp/18001 is in use on this machine: socat (pid ${pid}) listens on 0.0.0.0:18001 (a forward would take its connections); choose another host port, or stop that service first` }]);
    // A range that covers it, too; the other family is another socket.
    expect(await failuresOf("portforward", forward("tcp", "18000-18005", "10.78.0.2"))).toHaveLength(1);
    expect(await failuresOf("portforward", forward("tcp", 18001, "fd78::2"))).toEqual([]);
    // Create looks again (preview's look may be old), before anything is written.
    await expect(portforward.create(forward("tcp", 18001, "10.78.0.2"))).rejects.toThrow(`socat (pid ${pid}) listens on 0.0.0.0:18001`);
    expect(await ctx.sandbox.run(["nft", "list", "ruleset"])).not.toContain("hostnet");
    await stopAll();
    expect(await failuresOf("portforward", forward("tcp", 18001, "10.78.0.2"))).toEqual([]);
  });

  test("udp on [::] with v6only: only IPv6 forwards clash; `*` (dual stack) takes both families", async () => {
    const v6only = await listen("UDP6-RECVFROM:18002,ipv6only=1,reuseaddr", 18002, "udp");
    expect((await failuresOf("portforward", forward("udp", 18002, "fd78::2"))).map((f) => f.reason)).toEqual([expect.stringContaining(`host port udp/18002 is in use on this machine: socat (pid ${v6only}) listens on [::]:18002`)]);
    expect(await failuresOf("portforward", forward("udp", 18002, "10.78.0.2"))).toEqual([]);
    const dual = await listen("TCP6-LISTEN:18003,ipv6only=0,reuseaddr", 18003, "tcp");
    for (const target of ["10.78.0.2", "fd78::2"]) {
      expect((await failuresOf("portforward", forward("tcp", 18003, target))).map((f) => f.reason)).toEqual([expect.stringContaining(`socat (pid ${dual}) listens on *:18003`)]);
    }
  });

  test("udp on 127.0.0.1: a forward on every address is refused (it would catch the host's own), one on another address is not", async () => {
    const pid = await listen("UDP4-RECVFROM:18004,bind=127.0.0.1,reuseaddr", 18004, "udp");
    expect((await failuresOf("portforward", forward("udp", 18004, "10.78.0.2"))).map((f) => f.reason)).toEqual([expect.stringContaining(`socat (pid ${pid}) listens on 127.0.0.1:18004`)]);
    expect(await failuresOf("portforward", forward("udp", 18004, "10.78.0.2", { hostAddress: "10.78.0.1" }))).toEqual([]);
    // A listener on that one address clashes with a forward on it.
    const on = await listen("TCP4-LISTEN:18005,bind=10.78.0.1,reuseaddr", 18005, "tcp");
    expect((await failuresOf("portforward", forward("tcp", 18005, "10.78.0.2", { hostAddress: "10.78.0.1" }))).map((f) => f.reason)).toEqual([expect.stringContaining(`socat (pid ${on}) listens on 10.78.0.1:18005`)]);
  });

  test("an endpoint: its port in use is refused at check (naming ports[i]) and create; an update adding one is refused before anything changes; its own [::1] proxy is no clash", async () => {
    const { endpoint } = makeProviders(ctx.sandbox.runner);
    const declared = (ports: unknown[]) => ({ namespace: "pu1", bridge: "br-pu", hostInterface: "vh-pu1", address: "10.78.0.11/24", ipv6Address: "fd78::11/64", ports, firewallBackend: "nftables", tag: `${TAG}/ep` });
    const pid = await listen("TCP6-LISTEN:18006,ipv6only=0,reuseaddr", 18006, "tcp");
    const inUse = declared([{ hostPort: 18010 }, { hostPort: 18006 }]);
    expect(await failuresOf("endpoint", inUse)).toEqual([{ property: "ports[1].hostPort", reason: expect.stringContaining(`socat (pid ${pid}) listens on *:18006`) }]);
    const parsed = (await endpoint.check!({}, declared([{ hostPort: 18010 }]))).inputs!;
    await expect(endpoint.create({ ...parsed, ports: [{ protocol: "tcp", hostPort: 18010 }, { protocol: "tcp", hostPort: 18006 }] })).rejects.toThrow(`listens on *:18006`);
    expect(await ip("netns", "list")).not.toContain("pu1");

    const created = await endpoint.create(parsed);
    // Its own [::1] proxy listens on 18010: a re-check and a refresh-then-up see no clash.
    expect(await ctx.sandbox.run(["ss", "-H", "-t", "-l", "-n"])).toContain("[::1]:18010");
    expect(await failuresOf("endpoint", parsed, parsed)).toEqual([]);
    expect(await failuresOf("endpoint", parsed)).toEqual([]);
    // An update that adds the port in use: refused at check and at update, the kernel unchanged.
    const adding = { ...parsed, ports: [{ protocol: "tcp", hostPort: 18010 }, { protocol: "tcp", hostPort: 18006 }] };
    expect((await failuresOf("endpoint", adding, parsed)).map((f) => f.property)).toEqual(["ports[1].hostPort"]);
    const before = await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"]);
    await expect(endpoint.update!(created.id, created.outs, adding)).rejects.toThrow("host port tcp/18006 is in use");
    expect(await ctx.sandbox.run(["nft", "list", "table", "ip", "hostnet"])).toBe(before);
    await endpoint.delete!(created.id, created.outs);
  });

  test("over SSH: forwarding port 22 of the machine is refused, naming the lock-out and its sshd", async () => {
    const providers = makePlacedProviders(ctx.sandbox.runner);
    const placement = { machine: "m1", connection: machines.lab.connection(1) };
    const failures = await failuresThrough(providers.portforward, { ...forward("tcp", 22, "10.78.0.2"), ...placement });
    const reasons = failures.map((f) => f.reason).join("\n");
    expect(reasons).toMatch(/host port tcp\/22 is the port this stack's SSH connection to machine m1 \(root@192\.168\.77\.1:22\) arrives on \(192\.168\.77\.1\): forwarding it would lock the stack out of its machine/);
    expect(reasons).toMatch(/host port tcp\/22 is in use on machine m1 .*sshd \(pid \d+\) listens on/);
    // A range over it, too; another port on that machine is free.
    expect(await failuresThrough(providers.portforward, { ...forward("tcp", "20-30", "10.78.0.2"), ...placement })).not.toEqual([]);
    expect(await failuresThrough(providers.portforward, { ...forward("tcp", 2222, "10.78.0.2"), ...placement })).toEqual([]);
  });

  describe("a failed ports update puts the previous forwards and proxies back", () => {
    test("endpoint: the new [::1] proxy cannot bind (its port taken after check); the old rules and proxy are back", async () => {
      const declared = (port: number) => ({ namespace: "pu2", bridge: "br-pu", hostInterface: "vh-pu2", address: "10.78.0.12/24", ipv6Address: "fd78::12/64", ports: [{ hostPort: port, targetPort: 80 }], firewallBackend: "nftables", tag: `${TAG}/rb` });
      const plain = makeProviders(ctx.sandbox.runner).endpoint;
      const created = await plain.create((await plain.check!({}, declared(18020))).inputs!);
      const next = (await plain.check!(created.outs, declared(18021))).inputs!;
      // Between check and the proxy's start, something else takes [::1]:18021 (a real listener).
      let squatter = 0;
      const runner = new FaultRunner(ctx.sandbox.runner, {
        match: /start-stop-daemon --start .*TCP6-LISTEN:18021/,
        sabotage: async () => {
          squatter = await listen("TCP6-LISTEN:18021,bind=[::1],reuseaddr", 18021, "tcp");
        },
      });
      const { endpoint } = makeProviders(runner);
      await expect(endpoint.update!(created.id, created.outs, next)).rejects.toThrow(/start the proxy \[::1\]:18021\/tcp .*socat did not stay up/);
      expect(squatter).toBeGreaterThan(0);
      // The kernel holds what the state still holds: the old forwards, by content, and the old proxy.
      const nft = new firewall.NftBackend(ctx.sandbox.runner);
      const old = (await plain.check!({}, declared(18020))).inputs!;
      const oldProxy = { protocol: "tcp" as const, port: 18020, target: "fd78::12", targetPort: 80 };
      const read = await plain.read!(created.id, created.outs);
      expect(read.props).toMatchObject({ ruleCount: created.outs.ruleCount, present: true });
      expect(read.props?.rulesDrifted).toBeUndefined();
      expect(read.props?.proxiesDown).toBe(0);
      expect(await proxyRunning(ctx.sandbox.runner, proxyPidFile(undefined, String(old.tag), oldProxy))).toBe(true);
      for (const family of ["ipv4", "ipv6"] as const) expect((await nft.taggedRules(undefined, family, String(old.tag))).join("\n")).not.toContain("18021");
      expect((await plain.diff!(created.id, read.props!, old)).changes).toBe(false);
      await stopAll();
      await plain.delete!(created.id, created.outs);
    });

    test("PortForward: the new family's transaction is refused by the kernel; the old family's rules are back", async () => {
      const plain = makeProviders(ctx.sandbox.runner).portforward;
      const created = await plain.create(forward("tcp", 18030, "10.78.0.2", { tag: `${TAG}/rbf` }));
      const runner = new FaultRunner(ctx.sandbox.runner, { match: /^nft -f -\n[\s\S]*table ip6 hostnet/ });
      const { portforward } = makeProviders(runner);
      await expect(portforward.update!(created.id, created.outs, forward("tcp", 18030, "fd78::2", { tag: `${TAG}/rbf` }))).rejects.toThrow(/Operation not permitted/);
      expect(runner.fired).toBeDefined();
      const read = await plain.read!(created.id, created.outs);
      expect(read.props).toMatchObject({ ruleCount: created.outs.ruleCount, family: "ipv4" });
      expect(read.props?.rulesDrifted).toBeUndefined();
      expect(await ctx.sandbox.run(["nft", "list", "ruleset"])).not.toContain("ip6 hostnet");
      await plain.delete!(created.id, created.outs);
      expect(await ctx.sandbox.run(["nft", "list", "ruleset"])).not.toContain("hostnet");
    });
  });
});
