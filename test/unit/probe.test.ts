// Probe without a kernel: the argv it sends, how ping's and nc's words are read, check, diff,
// and the message `pulumi up` fails with.
import { CommandError, FakeRunner } from "../../provider/exec";
import { arrivalIn, judgeByArrival, MissingNetnsError, parseNc, parsePing, probeCommand, responderArgv, routeHint, runProbe, type ProbeSpec } from "../../provider/kernel";
import { makeProviders } from "../../provider/resources";

const tcp: ProbeSpec = { protocol: "tcp", address: "10.0.3.2", port: 80, count: 1, timeout: 2 };
const udp: ProbeSpec = { ...tcp, protocol: "udp", port: 53 };
const icmp: ProbeSpec = { protocol: "icmp", address: "10.0.3.2", count: 3, timeout: 1 };

describe("probe argv", () => {
  test("icmp: ping in the source netns, quick interval for several echoes, source with -I", () => {
    const c = probeCommand("web", { ...icmp, source: "10.0.3.1" });
    expect(c.netns).toBe("web");
    expect(c.argv.join(" ")).toBe("ping -n -c 3 -i 0.2 -W 1 -I 10.0.3.1 10.0.3.2");
    expect(probeCommand(undefined, { ...icmp, count: 1 }).argv.join(" ")).toBe("ping -n -c 1 -W 1 10.0.3.2");
  });

  test("tcp and udp: nc, verbose (it tells why only then), connect-only, source with -s", () => {
    expect(probeCommand(undefined, tcp).argv.join(" ")).toBe("nc -n -v -z -w 2 10.0.3.2 80");
    expect(probeCommand("web", { ...udp, source: "10.0.3.1" }).argv.join(" ")).toBe("nc -n -v -z -u -w 2 -s 10.0.3.1 10.0.3.2 53");
  });

  test("the runner's own timeout bounds every attempt", () => {
    expect(probeCommand(undefined, icmp).timeoutMs).toBeGreaterThan(3 * 1000);
  });
});

describe("probe outcomes, from the words measured here (iputils 20221126, netcat-openbsd 1.219)", () => {
  test("ping", () => {
    expect(parsePing(0, "1 packets transmitted, 1 received, 0% packet loss", "", icmp)).toMatchObject({ reached: true, evidence: "answer" });
    const icmpError = "PING 10.9.7.1 (10.9.7.1) 56(84) bytes of data.\nFrom 10.9.0.2 icmp_seq=1 Destination Host Unreachable\n\n--- 10.9.7.1 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n";
    expect(parsePing(1, icmpError, "", icmp)).toMatchObject({ reached: false, evidence: "unreachable", from: "10.9.0.2", detail: 'ICMP "Destination Host Unreachable" from 10.9.0.2' });
    expect(parsePing(1, "From 10.9.0.2 icmp_seq=1 Packet filtered\n", "", icmp)).toMatchObject({ evidence: "unreachable", detail: 'ICMP "Packet filtered" from 10.9.0.2' });
    expect(parsePing(1, "1 packets transmitted, 0 received, 100% packet loss", "", icmp)).toMatchObject({ reached: false, evidence: "nothing" });
    expect(parsePing(2, "", "ping: connect: Network is unreachable\n", icmp)).toMatchObject({ evidence: "no-route" });
    expect(parsePing(2, "", "ping: bind: Cannot assign requested address\n", icmp)).toMatchObject({ evidence: "error" });
  });

  test("nc, tcp: an accepted connection and a reset both reach the target's stack", () => {
    expect(parseNc(0, "Connection to 10.0.3.2 80 port [tcp/*] succeeded!\n", tcp)).toMatchObject({ reached: true, evidence: "answer" });
    // A firewall's `reject with tcp reset` reads the same: the words say so.
    expect(parseNc(1, "nc: connect to 10.0.3.2 port 80 (tcp) failed: Connection refused\n", tcp)).toEqual({
      reached: true,
      evidence: "refused",
      detail: "connection refused by 10.0.3.2: nothing listens on port 80, or a firewall rejects with a tcp reset; the two look the same from here (a responder tells them apart)",
    });
    expect(parseNc(1, "nc: connect to 10.0.3.2 port 81 (tcp) timed out: Operation now in progress\n", tcp)).toMatchObject({ reached: false, evidence: "nothing" });
    expect(parseNc(1, "nc: connect to 10.9.9.2 port 80 (tcp) failed: Network is unreachable\n", tcp)).toMatchObject({ evidence: "no-route" });
    expect(parseNc(1, "nc: connect to 10.9.7.1 port 80 (tcp) failed: No route to host\n", tcp)).toMatchObject({ reached: false, evidence: "unreachable" });
    expect(parseNc(1, "nc: bind failed: Cannot assign requested address\n", tcp)).toMatchObject({ evidence: "error" });
  });

  test("nc, udp: a silent exit 1 is the target's ICMP port unreachable; success means nothing came back", () => {
    expect(parseNc(1, "", udp)).toMatchObject({ reached: true, evidence: "refused", detail: expect.stringContaining("nothing listens on port 53, or a firewall rejects with an icmp port unreachable; the two look the same from here") });
    expect(parseNc(0, "Connection to 10.0.3.2 53 port [udp/*] succeeded!\n", udp)).toMatchObject({ reached: false, evidence: "nothing" });
    expect(parseNc(1, "nc: connect to 10.9.9.2 port 53 (udp) failed: Network is unreachable\n", udp)).toMatchObject({ evidence: "no-route" });
  });

  test("route hint: the next hop, or the kernel's words when there is no route", async () => {
    const routed = new FakeRunner().on(["ip"], { stdout: '[{"dst":"10.9.7.1","gateway":"10.9.0.2","dev":"va","prefsrc":"10.9.0.1","flags":[],"uid":0,"cache":[]}]\n', stderr: "" });
    expect(await routeHint(routed, "a", "10.9.7.1", undefined)).toEqual({ routed: true, text: "via 10.9.0.2 dev va src 10.9.0.1", gateway: "10.9.0.2" });
    expect(routed.lines).toEqual(["ip -json -n a route get 10.9.7.1"]);
    const none = new FakeRunner().on(["ip"], new CommandError(["ip"], 2, "RTNETLINK answers: Network is unreachable\nCommand failed -:1\n"));
    expect(await routeHint(none, "a", "10.9.9.3", "10.9.0.1")).toEqual({ routed: false, text: "RTNETLINK answers: Network is unreachable" });
  });
});

describe("a missing source namespace", () => {
  // `ip netns exec` of a missing name: exit 255 and these words, which nc -u would read as a silent port unreachable.
  const missing = new CommandError(["ip", "netns", "exec", "gone"], 255, 'Cannot open network namespace "gone": No such file or directory\n');

  test.each([tcp, udp, icmp])("fails the probe, naming it ($protocol)", async (spec) => {
    const runner = new FakeRunner().on(spec.protocol === "icmp" ? ["ping"] : ["nc"], missing);
    await expect(runProbe(runner, "gone", spec)).rejects.toThrow(new MissingNetnsError("gone"));
  });

  test("check refuses it where the kernel can be read; one the program may make (a preview says so) is left to create", async () => {
    const runner = new FakeRunner().on(["ip", "-json", "netns", "list"], { stdout: '[{"name":"web"}]\n', stderr: "" });
    const p = makeProviders(runner).probe;
    const flow = { namespace: "gone", protocol: "udp", address: "10.0.3.2", port: 53, expect: "reachable" };
    expect((await p.check!({}, flow)).failures).toEqual([{ property: "namespace", reason: "netns gone does not exist (`ip netns list` shows the names there)" }]);
    expect((await p.check!({}, { ...flow, namespace: "web" })).failures).toBeUndefined();
    const pending = await p.check!({}, { ...flow, __hostnetNamespacesPending: true });
    expect(pending.inputs).toMatchObject({ namespace: "gone" });
    expect(pending.inputs).not.toHaveProperty("__hostnetNamespacesPending");
    // Without a namespace the flow leaves from `host`, which must exist too.
    expect((await p.check!({}, { ...flow, namespace: undefined, host: "lab" })).failures).toEqual([{ property: "host", reason: expect.stringContaining("netns lab does not exist") }]);
  });
});

describe("responder", () => {
  test("socat listens for both families on the port, logs arrivals, and ends by itself", () => {
    expect(responderArgv({ netns: "web", protocol: "tcp", port: 80, lifetime: 7.5 }).join(" ")).toBe("socat -d -d -u -T 8 TCP6-LISTEN:80,ipv6only=0,reuseaddr,accept-timeout=8 OPEN:/dev/null");
    expect(responderArgv({ netns: "web", protocol: "udp", port: 53, lifetime: 7 }).join(" ")).toBe("socat -d -d -u -T 7 UDP6-RECV:53,ipv6only=0 OPEN:/dev/null");
  });

  test("an arrival is read from socat's log (socat 1.7.4), IPv4 as itself", () => {
    const tcpLog = "2026/12/02 17:37:19 socat[11212] N listening on AF=10 [0000:0000:0000:0000:0000:0000:0000:0000]:8080\n2026/12/02 17:37:20 socat[11212] N accepting connection from AF=10 [0000:0000:0000:0000:0000:ffff:0a4d:0001]:36352 on AF=10 [0000:0000:0000:0000:0000:ffff:0a4d:0001]:8080\n";
    expect(arrivalIn(tcpLog)).toBe("10.77.0.1");
    expect(arrivalIn("socat[1] N received packet with 1 bytes from AF=10 [fd00:0000:0000:0000:0000:0000:0000:0001]:45574\n")).toBe("fd00::1");
    expect(arrivalIn("socat[1] N listening on AF=10 [0000:0000:0000:0000:0000:0000:0000:0000]:8080\n")).toBeUndefined();
  });

  test("what the sender saw is judged by what arrived", () => {
    const place = { netns: "web", port: 80 };
    const refused = parseNc(1, "nc: connect to 10.0.3.2 port 80 (tcp) failed: Connection refused\n", tcp);
    expect(judgeByArrival(refused, "10.0.3.1", tcp, place)).toEqual({ reached: true, evidence: "answer", detail: "arrived at the responder on tcp port 80 in netns web, from 10.0.3.1" });
    expect(judgeByArrival(refused, undefined, tcp, place)).toMatchObject({ reached: false, evidence: "refused", detail: expect.stringContaining("a firewall on the way rejects it") });
    const accepted = parseNc(0, "Connection to 10.0.3.2 80 port [tcp/*] succeeded!\n", tcp);
    expect(judgeByArrival(accepted, undefined, tcp, place)).toMatchObject({ reached: false, detail: expect.stringContaining("but nothing arrived at the responder on tcp port 80 in netns web: something else answers (a proxy on the way") });
    const silent = parseNc(0, "", udp);
    expect(judgeByArrival(silent, undefined, udp, place)).toEqual(silent);
  });

  test("check: tcp and udp only", async () => {
    const result = await makeProviders(new FakeRunner()).probe.check!({}, { protocol: "icmp", address: "10.0.3.2", expect: "reachable", responder: { namespace: "web" } });
    expect(result.failures).toEqual([expect.objectContaining({ property: "responder", reason: expect.stringMatching(/tcp and udp/) })]);
  });
});

describe("Probe provider", () => {
  const base = { protocol: "tcp", address: "10.0.3.2", port: 80, expect: "reachable" };

  test.each([
    [{ ...base, port: 0 }, "port", /1-65535 \(0 is not a port\)/],
    [{ ...base, port: undefined }, "port", /required for protocol tcp/],
    [{ ...base, protocol: "icmp" }, "port", /port 80 given for protocol icmp/],
    [{ ...base, source: "fd00::1" }, "source", /source fd00::1 is ipv6 but address 10.0.3.2 is ipv4/],
    [{ ...base, namespace: "../etc" }, "namespace", /namespace name may use only/],
    [{ ...base, address: "10.0.3" }, "address", /four decimal parts/],
    [{ ...base, expect: "open" }, "expect", /./],
  ])("check refuses %j at %s", async (news, property, reason) => {
    const result = await makeProviders(new FakeRunner()).probe.check!({}, news);
    const failure = result.failures?.find((f) => f.property === property);
    expect(failure?.reason).toMatch(reason);
  });

  test("create proves the flow; a mismatch fails with what was sent, what came back and the likely hop", async () => {
    const ok = new FakeRunner().on(["nc"], new CommandError(["nc"], 1, "nc: connect to 10.0.3.2 port 80 (tcp) failed: Connection refused\n"));
    const made = await makeProviders(ok).probe.create({ ...base, count: 1, timeout: 2 });
    expect(made.outs).toMatchObject({ observed: "reachable", evidence: "refused" });
    expect(made.id).toBe("probe/-/tcp/10.0.3.2/80");

    const broken = new FakeRunner()
      .on(["nc"], new CommandError(["nc"], 1, "nc: connect to 10.0.3.2 port 80 (tcp) failed: Network is unreachable\n"))
      .on(["ip"], new CommandError(["ip"], 2, "RTNETLINK answers: Network is unreachable"));
    await expect(makeProviders(broken).probe.create({ ...base, namespace: "web", count: 1, timeout: 2 })).rejects.toThrow(
      "probe tcp 10.0.3.2:80 from netns web: expected reachable, observed blocked: network is unreachable (sent with: ip netns exec web nc -n -v -z -w 2 10.0.3.2 80); route in netns web: RTNETLINK answers: Network is unreachable; likely hop: the source namespace itself, which has no route to 10.0.3.2",
    );
    expect(broken.calls.map((c) => c.argv[0])).toEqual(["nc", "ip"]);
  });

  test("a blocked flow that answers fails too; tcp tries `count` times until one gets through", async () => {
    let attempts = 0;
    const runner = new FakeRunner().on(["nc"], () => (++attempts < 2 ? new CommandError(["nc"], 1, "nc: connect to 10.0.3.2 port 80 (tcp) timed out: Operation now in progress\n") : { stdout: "", stderr: "" }));
    await expect(makeProviders(runner).probe.create({ ...base, expect: "blocked", count: 3, timeout: 1 })).rejects.toThrow(/expected blocked, observed reachable: connection to 10.0.3.2 port 80 accepted .*nothing on the way filters this flow/);
    expect(attempts).toBe(2);
  });

  test("read reports what it sees; diff asks for an update when refresh saw a flow differ from expect", async () => {
    const runner = new FakeRunner().on(["ping"], new CommandError(["ping"], 1, "", undefined, "1 packets transmitted, 0 received, 100% packet loss\n"));
    const p = makeProviders(runner).probe;
    const stored = { protocol: "icmp", address: "10.0.3.2", expect: "reachable", count: 1, timeout: 1, observed: "reachable", evidence: "answer", detail: "echo reply from 10.0.3.2", schemaVersion: 1 };
    const read = await p.read!("probe/-/icmp/10.0.3.2/-", stored);
    expect(read.props).toMatchObject({ observed: "blocked", evidence: "nothing" });
    const inputs = { protocol: "icmp", address: "10.0.3.2", expect: "reachable", count: 1, timeout: 1 };
    expect((await p.diff!("id", stored, inputs)).changes).toBe(false);
    expect((await p.diff!("id", read.props ?? {}, inputs)).changes).toBe(true);
    expect((await p.diff!("id", stored, { ...inputs, timeout: 2 })).replaces).toEqual([]);
  });
});

describe("Reachability provider", () => {
  const icmp = { protocol: "icmp", address: "10.0.3.1", expect: "reachable" };
  const tcp = { namespace: "web", protocol: "tcp", address: "10.0.3.2", port: 80, expect: "reachable" };

  test.each([
    [{ flows: [] }, "flows", /at least one flow/],
    [{ flows: [icmp, { ...tcp, port: 0 }] }, "flows[1].port", /0 is not a port/],
    [{ flows: [{ ...icmp, port: 80 }] }, "flows[0].port", /port 80 given for protocol icmp/],
    [{ flows: [{ ...tcp, namespace: "../x" }] }, "flows[0].namespace", /namespace name may use only/],
    [{ flows: [icmp], parallel: 0 }, "parallel", /1-64/],
  ])("check refuses %j at %s", async (news, property, reason) => {
    const result = await makeProviders(new FakeRunner()).reachability.check!({}, news);
    expect(result.failures?.find((f) => f.property === property)?.reason).toMatch(reason);
  });

  test("create proves every flow; the failure names each flow that does not behave, by index", async () => {
    const runner = new FakeRunner()
      .on(["ping"], { stdout: "1 packets transmitted, 1 received\n", stderr: "" })
      .on(["nc"], new CommandError(["nc"], 1, "nc: connect to 10.0.3.2 port 80 (tcp) timed out: Operation now in progress\n"))
      .on(["ip", "-json", "netns", "list"], { stdout: '[{"name":"web"}]', stderr: "" })
      .on(["ip"], { stdout: JSON.stringify([{ dst: "10.0.3.2", dev: "eth0", prefsrc: "10.0.3.9" }]), stderr: "" });
    const p = makeProviders(runner).reachability;
    const checked = await p.check!({}, { flows: [icmp, tcp, { ...icmp, address: "10.0.3.7" }] });
    await expect(p.create(checked.inputs!)).rejects.toThrow(/^1 of 3 flows did not behave as declared:\nflows\[1\]: probe tcp 10.0.3.2:80 from netns web: expected reachable, observed blocked: no answer/);
    const good = await p.create((await p.check!({}, { flows: [icmp, { ...tcp, expect: "blocked" }] })).inputs!);
    expect(good.outs.results).toEqual([
      { observed: "reachable", evidence: "answer", detail: "echo reply from 10.0.3.1" },
      { observed: "blocked", evidence: "nothing", detail: "no answer to 1 connection attempt(s) within 2 s" },
    ]);
  });

  test("read re-proves every flow; diff asks for an update when any flow differs from expect", async () => {
    const runner = new FakeRunner().on(["ping"], new CommandError(["ping"], 1, "", undefined, "1 packets transmitted, 0 received, 100% packet loss\n"));
    const p = makeProviders(runner).reachability;
    const inputs = (await p.check!({}, { flows: [icmp, icmp] })).inputs!;
    const stored = { ...inputs, results: [0, 1].map(() => ({ observed: "reachable", evidence: "answer", detail: "echo reply from 10.0.3.1" })), schemaVersion: 1 };
    expect((await p.diff!("id", stored, inputs)).changes).toBe(false);
    const read = await p.read!("id", stored);
    expect((read.props?.results as { observed: string }[]).map((r) => r.observed)).toEqual(["blocked", "blocked"]);
    expect((await p.diff!("id", read.props ?? {}, inputs)).changes).toBe(true);
    expect(runner.calls.filter((c) => c.argv[0] === "ping")).toHaveLength(2);
  });
});
