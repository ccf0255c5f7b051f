// Probe provider against the real kernel, inside a sandbox, without the engine: real packets
// between two namespaces, each outcome the README names, drift, and no process left behind.
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("probe provider on the kernel", () => {
  const ctx = useSandbox();
  const probe = () => makeProviders(ctx.sandbox.runner).probe;
  const ip = (...args: string[]) => ctx.sandbox.run(["ip", ...args]);
  /** Checked inputs, as the engine would pass them. */
  const inputs = async (news: Record<string, unknown>) => {
    const checked = await probe().check!({}, news);
    if (!checked.inputs) throw new Error(JSON.stringify(checked.failures));
    return checked.inputs;
  };

  beforeAll(async () => {
    // pa (10.91.0.1) -- pb (10.91.0.2), pb answers tcp 8080; pb routes 10.92.0.0/24 to nowhere.
    ctx.addTeardown(async () => {
      for (const ns of ["pa", "pb"]) await ctx.sandbox.run(["ip", "netns", "del", ns]).catch(() => undefined);
    });
    await ip("netns", "add", "pa");
    await ip("netns", "add", "pb");
    await ip("-n", "pa", "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", "pb");
    await ip("-n", "pa", "addr", "add", "10.91.0.1/24", "dev", "va");
    await ip("-n", "pb", "addr", "add", "10.91.0.2/24", "dev", "vb");
    await ip("-n", "pa", "link", "set", "va", "up");
    await ip("-n", "pb", "link", "set", "vb", "up");
    await ip("-n", "pb", "link", "set", "lo", "up");
    await ip("-n", "pa", "route", "add", "10.92.0.0/24", "via", "10.91.0.2");
    await ip("-n", "pb", "route", "add", "unreachable", "10.92.0.0/24");
    await ctx.sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], { netns: "pb" });
    await ctx.sandbox.serve("pb", "tcp", 8080);
  });

  test("each outcome: an answer, a reset, a port unreachable, an ICMP error, no route", async () => {
    const p = probe();
    const outcomes = await Promise.all(
      [
        { protocol: "icmp", address: "10.91.0.2", expect: "reachable" },
        { protocol: "tcp", address: "10.91.0.2", port: 8080, expect: "reachable" },
        { protocol: "tcp", address: "10.91.0.2", port: 81, expect: "reachable", source: "10.91.0.1" },
        { protocol: "udp", address: "10.91.0.2", port: 53, expect: "reachable" },
        { protocol: "icmp", address: "10.92.0.9", expect: "blocked", timeout: 1 },
        { protocol: "tcp", address: "10.93.0.9", port: 80, expect: "blocked" },
      ].map(async (flow) => (await p.create(await inputs({ namespace: "pa", ...flow }))).outs),
    );
    expect(outcomes.map((o) => `${o.observed} ${o.evidence}`)).toEqual(["reachable answer", "reachable answer", "reachable refused", "reachable refused", "blocked unreachable", "blocked no-route"]);
    expect(outcomes[4]?.detail).toBe('ICMP "Destination Host Unreachable" from 10.91.0.2');
  });

  test("a flow that does not behave as declared fails with what was sent, what came back and the likely hop", async () => {
    const p = probe();
    await expect(p.create(await inputs({ namespace: "pa", protocol: "tcp", address: "10.91.0.2", port: 8080, expect: "blocked" }))).rejects.toThrow(
      "probe tcp 10.91.0.2:8080 from netns pa: expected blocked, observed reachable: connection to 10.91.0.2 port 8080 accepted (sent with: ip netns exec pa nc -n -v -z -w 2 10.91.0.2 8080); route in netns pa: dev va src 10.91.0.1; nothing on the way filters this flow",
    );
    await expect(p.create(await inputs({ namespace: "pa", protocol: "icmp", address: "10.92.0.9", expect: "reachable", timeout: 1 }))).rejects.toThrow(
      /observed blocked: ICMP "Destination Host Unreachable" from 10.91.0.2 .*route in netns pa: via 10.91.0.2 dev va src 10.91.0.1; likely hop: 10.91.0.2, which sent the ICMP error/,
    );
    await expect(p.create(await inputs({ namespace: "pa", protocol: "udp", address: "10.93.0.1", port: 53, expect: "reachable" }))).rejects.toThrow(
      /likely hop: the source namespace itself, which has no route to 10.93.0.1/,
    );
    // The host netns (no namespace) has no route anywhere but lo.
    await expect(p.create(await inputs({ protocol: "icmp", address: "10.91.0.2", expect: "reachable", timeout: 1 }))).rejects.toThrow(/from the host netns: expected reachable, observed blocked/);
    // A source address that is not local is the probe's own error, whatever is expected.
    await expect(p.create(await inputs({ namespace: "pa", protocol: "tcp", address: "10.91.0.2", port: 8080, source: "10.91.0.77", expect: "blocked" }))).rejects.toThrow(/bind failed: Cannot assign requested address/);
  });

  test("read shows a route deleted by hand as drift; diff asks for an update; nothing is left running", async () => {
    const p = probe();
    const flow = await inputs({ namespace: "pa", protocol: "icmp", address: "10.92.0.9", expect: "blocked", timeout: 1 });
    const reach = await inputs({ namespace: "pa", protocol: "tcp", address: "10.91.0.2", port: 8080, expect: "reachable" });
    const made = await p.create(reach);
    expect((await p.read!(made.id, made.outs)).props).toMatchObject({ observed: "reachable" });
    await ip("-n", "pa", "route", "del", "10.91.0.0/24", "dev", "va");
    try {
      const read = await p.read!(made.id, made.outs);
      expect(read.props).toMatchObject({ observed: "blocked", evidence: "no-route" });
      expect((await p.diff!(made.id, read.props!, reach)).changes).toBe(true);
      await expect(p.update!(made.id, read.props!, reach)).rejects.toThrow(/expected reachable, observed blocked/);
      // With the gateway's link route gone, the blocked flow is still blocked (now locally).
      expect((await p.create(flow)).outs).toMatchObject({ observed: "blocked" });
    } finally {
      await ip("-n", "pa", "route", "add", "10.91.0.0/24", "dev", "va", "proto", "kernel", "scope", "link", "src", "10.91.0.1");
    }
    // Only the peer service (in pb) runs in the namespaces: every ping and nc has ended.
    expect((await ip("netns", "pids", "pa")).trim()).toBe("");
    expect((await ip("netns", "pids", "pb")).trim().split("\n").filter(Boolean)).toHaveLength(1);
  });
});
