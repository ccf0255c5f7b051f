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

  test("a probe from a namespace that does not exist: check names it, create and read fail naming it", async () => {
    const p = probe();
    for (const protocol of ["udp", "tcp"]) {
      const flow = { namespace: "nosuch", protocol, address: "10.91.0.2", port: 53, expect: "reachable" };
      const checked = await p.check!({}, flow);
      expect(checked.failures).toEqual([{ property: "namespace", reason: "netns nosuch does not exist (`ip netns list` shows the names there)" }]);
      // Made by the same program, as a preview may say: left to create, which names it.
      const pending = await inputs({ ...flow, __hostnetNamespacesPending: true });
      expect(pending).not.toHaveProperty("__hostnetNamespacesPending");
      await expect(p.create(pending)).rejects.toThrow(`probe ${protocol} 10.91.0.2:53 from netns nosuch: netns nosuch does not exist`);
      await expect(p.read!("probe/nosuch", { ...pending, observed: "reachable", evidence: "refused", detail: "" })).rejects.toThrow(/from netns nosuch: netns nosuch does not exist/);
    }
    const missingResponder = await p.check!({}, { namespace: "pa", protocol: "tcp", address: "10.91.0.2", port: 80, expect: "reachable", responder: { namespace: "gone" } });
    expect(missingResponder.failures).toEqual([{ property: "responder.namespace", reason: expect.stringContaining("netns gone does not exist") }]);

    const set = makeProviders(ctx.sandbox.runner).reachability;
    const flows = [{ namespace: "pa", protocol: "icmp", address: "10.91.0.2", expect: "reachable" }, { namespace: "nosuch", protocol: "udp", address: "10.91.0.2", port: 53, expect: "reachable" }];
    expect((await set.check!({}, { flows })).failures).toEqual([{ property: "flows[1].namespace", reason: expect.stringContaining("netns nosuch does not exist") }]);
    const checked = (await set.check!({}, { flows, __hostnetNamespacesPending: true })).inputs!;
    await expect(set.create(checked)).rejects.toThrow(/^1 of 2 flows did not behave as declared:\nflows\[1\]: probe udp 10.91.0.2:53 from netns nosuch: netns nosuch does not exist/);
  });

  test("a responder makes an unlistened port definite, and tells a firewall's reject from the target's own", async () => {
    const p = probe();
    const flow = (protocol: string, port: number, more: Record<string, unknown> = {}) => inputs({ namespace: "pa", protocol, address: "10.91.0.2", port, expect: "reachable", ...more });
    const inPb = { responder: { namespace: "pb" } };
    // Without a responder, nothing listening reads as "refused", and says what else it may be.
    const plain = (await p.create(await flow("tcp", 9090))).outs;
    expect(plain).toMatchObject({ observed: "reachable", evidence: "refused", detail: "connection refused by 10.91.0.2: nothing listens on port 9090, or a firewall rejects with a tcp reset; the two look the same from here (a responder tells them apart)" });
    // With one, the packets are seen arriving in pb, from pa's address.
    for (const [protocol, port] of [["tcp", 9090], ["udp", 5353]] as const) {
      const outs = (await p.create(await flow(protocol, port, inPb))).outs;
      expect(outs).toMatchObject({ observed: "reachable", evidence: "answer", detail: `arrived at the responder on ${protocol} port ${port} in netns pb, from 10.91.0.1` });
    }
    // A firewall in pb that rejects: the same reset as before without a responder; with one, blocked.
    await ctx.sandbox.run(["nft", "-f", "-"], { netns: "pb", stdin: "table inet probe-test {\n chain input {\n type filter hook input priority 0;\n tcp dport 9091 reject with tcp reset\n udp dport 5354 reject\n }\n}\n" });
    try {
      expect((await p.create(await flow("tcp", 9091))).outs).toMatchObject({ observed: "reachable", evidence: "refused" });
      expect((await p.create(await flow("tcp", 9091, { ...inPb, expect: "blocked" }))).outs).toMatchObject({
        observed: "blocked",
        evidence: "refused",
        detail: "connection refused, and nothing arrived at the responder on tcp port 9091 in netns pb: a firewall on the way rejects it, or the packets go elsewhere (10.91.0.2 is not in that namespace, or a DNAT changes the port (set responder.port))",
      });
      await expect(p.create(await flow("udp", 5354, inPb))).rejects.toThrow(/expected reachable, observed blocked: ICMP port unreachable from 10.91.0.2, and nothing arrived at the responder on udp port 5354 in netns pb: .*likely hop: a firewall on the way that rejects it/);
    } finally {
      await ctx.sandbox.run(["nft", "delete", "table", "inet", "probe-test"], { netns: "pb" });
    }
    // A DNAT in pb that moves the port: the responder listens where the packets arrive (responder.port).
    await ctx.sandbox.run(["nft", "-f", "-"], { netns: "pb", stdin: "table ip probe-nat {\n chain pre {\n type nat hook prerouting priority -100;\n tcp dport 9092 redirect to :9093\n }\n}\n" });
    try {
      expect((await p.create(await flow("tcp", 9092, { responder: { namespace: "pb", port: 9093 } }))).outs).toMatchObject({ observed: "reachable", detail: "arrived at the responder on tcp port 9093 in netns pb, from 10.91.0.1" });
      expect((await p.create(await flow("tcp", 9092, { ...inPb, expect: "blocked" }))).outs).toMatchObject({ observed: "blocked", detail: expect.stringContaining("a DNAT changes the port (set responder.port)") });
    } finally {
      await ctx.sandbox.run(["nft", "delete", "table", "ip", "probe-nat"], { netns: "pb" });
    }
    // A port something listens on already needs no responder: it says so rather than steal it.
    await expect(p.create(await flow("tcp", 8080, inPb))).rejects.toThrow(/start a responder on tcp port 8080 in netns pb: .*Address already in use \(something listens there already/);
    await expect(p.create(await flow("tcp", 80, { responder: { namespace: "gone" }, __hostnetNamespacesPending: true }))).rejects.toThrow("probe tcp 10.91.0.2:80 from netns pa (responder in netns gone): netns gone does not exist");
    // Every responder was stopped by its pid and its files removed: only the peer service runs.
    expect((await ip("netns", "pids", "pb")).trim().split("\n").filter(Boolean)).toHaveLength(1);
    expect((await ctx.sandbox.run(["find", "/run/pulumi-hostnet", "-name", "responder-*"])).trim()).toBe("");
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
