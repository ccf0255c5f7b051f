// Issue 20 part 1: the `ss -Htulnp` parser, which forwards clash with which listeners, and
// the refusal's words, with the FakeRunner: no kernel needed.
import { FakeRunner } from "../../provider/exec";
import { clashes, parseSsListeners, type SocketListener, type WantedPort } from "../../provider/kernel";
import { claimsOf, newClaims, portsInUseIssues } from "../../provider/resources/ports-in-use";
import { portForwardRules } from "../../provider/resources";

// Real output of iproute2 6.1's `ss -Htulnp` (socat and python listeners in a netns), spacing kept.
const SAMPLE = [
  'udp UNCONN 0      0      127.0.0.1:53   0.0.0.0:* users:(("socat",pid=9651,fd=5))',
  'udp UNCONN 0      0              *:5353       *:* users:(("socat",pid=9653,fd=5))',
  'tcp LISTEN 0      5        0.0.0.0:2222 0.0.0.0:* users:(("socat",pid=9650,fd=5))',
  'tcp LISTEN 0      5          [::1]:631     [::]:* users:(("socat",pid=9652,fd=5))',
  'tcp LISTEN 0      5           [::]:8080    [::]:* users:(("socat",pid=9654,fd=5))',
  'tcp LISTEN 0      5              *:22         *:* users:(("sshd",pid=123,fd=3),("sshd",pid=456,fd=3))',
  'udp UNCONN 0      0        0.0.0.0%d0:67   0.0.0.0:* users:(("python3",pid=10539,fd=4),("python3",pid=10536,fd=4))',
  'udp UNCONN 0      0              *%d0:547        *:* users:(("python3",pid=10539,fd=6))',
  'tcp LISTEN 0      128        10.9.9.1:80   0.0.0.0:* users:(("python3",pid=10539,fd=5))',
  'tcp LISTEN 0      128    [fe80::1]%d0:9000    [::]:* users:(("python3",pid=10539,fd=3))',
  // Without root, ss names only the caller's own processes.
  "tcp LISTEN 0      4096   0.0.0.0:3306 0.0.0.0:*",
  "",
].join("\n");

const byPort = (port: number, protocol = "tcp"): SocketListener => {
  const found = parseSsListeners(SAMPLE).find((l) => l.port === port && l.protocol === protocol);
  if (!found) throw new Error(`no listener on ${protocol}/${port}`);
  return found;
};

describe("ss -Htulnp parser", () => {
  test("every line of real output, with family, address, interface and processes", () => {
    const parsed = parseSsListeners(SAMPLE).map((l) => [l.protocol, l.port, l.family, l.address ?? "*", l.device ?? "", l.processes.map((p) => `${p.name}/${p.pid}`).join(",")]);
    expect(parsed).toEqual([
      ["udp", 53, "ipv4", "127.0.0.1", "", "socat/9651"],
      ["udp", 5353, "both", "*", "", "socat/9653"],
      ["tcp", 2222, "ipv4", "*", "", "socat/9650"],
      ["tcp", 631, "ipv6", "::1", "", "socat/9652"],
      ["tcp", 8080, "ipv6", "*", "", "socat/9654"],
      ["tcp", 22, "both", "*", "", "sshd/123,sshd/456"],
      ["udp", 67, "ipv4", "*", "d0", "python3/10539,python3/10536"],
      ["udp", 547, "both", "*", "d0", "python3/10539"],
      ["tcp", 80, "ipv4", "10.9.9.1", "", "python3/10539"],
      ["tcp", 9000, "ipv6", "fe80::1", "d0", "python3/10539"],
      ["tcp", 3306, "ipv4", "*", "", ""],
    ]);
  });

  test("an IPv4-mapped address is IPv4; a connected tcp socket and unknown lines are skipped", () => {
    const parsed = parseSsListeners(["tcp LISTEN 0 5 [::ffff:10.0.0.1]:443 *:*", "tcp ESTAB 0 0 10.0.0.1:22 10.0.0.9:5000", "garbage", "Netid State Recv-Q"].join("\n"));
    expect(parsed.map((l) => [l.family, l.address, l.port])).toEqual([["ipv4", "10.0.0.1", 443]]);
  });
});

describe("which forwards clash with which listeners", () => {
  const want = (protocol: "tcp" | "udp", port: number, family: "ipv4" | "ipv6", hostAddress?: string, to = port): WantedPort => ({ protocol, from: port, to, family, hostAddress });

  test("`*` (IPv6 without v6only) takes both families; [::] only IPv6; 0.0.0.0 only IPv4", () => {
    expect([clashes(want("tcp", 22, "ipv4"), byPort(22)), clashes(want("tcp", 22, "ipv6"), byPort(22))]).toEqual([true, true]);
    expect([clashes(want("tcp", 8080, "ipv4"), byPort(8080)), clashes(want("tcp", 8080, "ipv6"), byPort(8080))]).toEqual([false, true]);
    expect([clashes(want("tcp", 2222, "ipv4"), byPort(2222)), clashes(want("tcp", 2222, "ipv6"), byPort(2222))]).toEqual([true, false]);
  });

  test("a forward on every address clashes with a loopback or specific listener of its family", () => {
    expect(clashes(want("udp", 53, "ipv4"), byPort(53, "udp"))).toBe(true);
    expect(clashes(want("tcp", 631, "ipv6"), byPort(631))).toBe(true);
    expect(clashes(want("tcp", 80, "ipv4"), byPort(80))).toBe(true);
  });

  test("a forward on one address clashes with a listener on it or on a wildcard, not on another address", () => {
    expect(clashes(want("tcp", 80, "ipv4", "10.9.9.1"), byPort(80))).toBe(true);
    expect(clashes(want("tcp", 80, "ipv4", "10.9.9.2"), byPort(80))).toBe(false);
    expect(clashes(want("tcp", 22, "ipv4", "192.168.1.5"), byPort(22))).toBe(true);
    expect(clashes(want("udp", 53, "ipv4", "10.9.9.1"), byPort(53, "udp"))).toBe(false);
    expect(clashes(want("tcp", 631, "ipv6", "0:0:0:0:0:0:0:1"), byPort(631))).toBe(true);
    expect(clashes(want("tcp", 9000, "ipv6", "fe80::1"), byPort(9000))).toBe(true);
  });

  test("protocol and port range count: udp is not tcp, a range covers its ports", () => {
    expect(clashes(want("udp", 22, "ipv4"), byPort(22))).toBe(false);
    expect(clashes(want("tcp", 20, "ipv4", undefined, 30), byPort(22))).toBe(true);
    expect(clashes(want("tcp", 23, "ipv4", undefined, 30), byPort(22))).toBe(false);
    expect(clashes(want("udp", 60, "ipv4", undefined, 70), byPort(67, "udp"))).toBe(true);
  });
});

describe("refusing ports in use", () => {
  const TAG = "hostnet:p/s/fwd";
  const forward = (hostPort: number | string, target = "10.0.3.2", hostAddress?: string) =>
    claimsOf(portForwardRules({ protocol: "tcp", hostPort, hostAddress, target, fromHost: true, hairpin: true, firewallBackend: "auto", tag: TAG }, undefined));

  test("names port, protocol, address and process; one message per listener", async () => {
    const runner = new FakeRunner().on(["ss"], { stdout: SAMPLE, stderr: "" });
    const issues = await portsInUseIssues(runner, undefined, TAG, forward(22), "create");
    expect(issues).toEqual([{ index: 0, message: "host port tcp/22 is in use on this machine: sshd (pids 123, 456) listens on *:22 (a forward would take its connections); choose another host port, or stop that service first" }]);
    expect(runner.lines[0]).toBe("ss -H -t -u -l -n -p");
  });

  test("a listener ss cannot name a process of is still named by its address", async () => {
    const runner = new FakeRunner().on(["ss"], { stdout: SAMPLE, stderr: "" });
    const [issue] = await portsInUseIssues(runner, "hostns", TAG, forward(3306), "create");
    expect(issue?.message).toContain("host port tcp/3306 is in use on netns hostns on this machine: a socket (ss names no process: not ours to see) listens on 0.0.0.0:3306");
  });

  test("this resource's own [::1] proxy (its pid file) is no clash; another process on [::1] is", async () => {
    const proxyFile = "/run/pulumi-hostnet/proxy/-/abc-tcp-631-x.pid";
    const runner = new FakeRunner()
      .on(["ss"], { stdout: SAMPLE, stderr: "" })
      .on(["find"], { stdout: `${proxyFile}\n`, stderr: "" })
      .on(["cat", "--", proxyFile], { stdout: "9652\n", stderr: "" });
    expect(await portsInUseIssues(runner, undefined, TAG, forward(631, "fd00::2"), "create")).toEqual([]);
    const other = new FakeRunner().on(["ss"], { stdout: SAMPLE, stderr: "" }).on(["find"], { stdout: "", stderr: "" });
    expect((await portsInUseIssues(other, undefined, TAG, forward(631, "fd00::2"), "create")).map((i) => i.message)).toEqual([expect.stringContaining("socat (pid 9652) listens on [::1]:631")]);
  });

  test("no forward, no ss; a free port, no finding; preview says nothing it cannot read", async () => {
    const runner = new FakeRunner().on(["ss"], { stdout: SAMPLE, stderr: "" });
    expect(await portsInUseIssues(runner, undefined, TAG, [], "check")).toEqual([]);
    expect(runner.calls).toHaveLength(0);
    expect(await portsInUseIssues(runner, undefined, TAG, forward(8081), "check")).toEqual([]);
  });

  test("an update checks only the forwards it adds", () => {
    expect(newClaims(forward("20-30"), forward("20-30"))).toEqual([]);
    expect(newClaims([...forward(22), ...forward(80)], forward(80)).map((c) => c.port.from)).toEqual([22]);
  });

  test("over SSH, the port the connection arrives on is refused even when ss does not show it", async () => {
    const runner = Object.assign(new FakeRunner().on(["ss"], { stdout: "", stderr: "" }), {
      label: "m1 (root@192.168.77.2:22)",
      arrival: async () => ({ address: "192.168.77.2", port: 22 }),
    });
    const [issue] = await portsInUseIssues(runner, undefined, TAG, forward("20-25"), "check");
    expect(issue?.message).toBe(
      "host port tcp/22 is the port this stack's SSH connection to machine m1 (root@192.168.77.2:22) arrives on (192.168.77.2): forwarding it would lock the stack out of its machine (destroy included); choose another host port",
    );
    expect(await portsInUseIssues(runner, undefined, TAG, forward(22, "10.0.3.2", "10.0.3.1"), "check")).toEqual([]);
    expect(await portsInUseIssues(runner, "inner", TAG, forward(22), "check")).toEqual([]);
  });
});
