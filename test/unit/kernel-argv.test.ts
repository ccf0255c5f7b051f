// argv building and output parsing of provider/kernel, with the fake runner: no kernel needed.
import { CommandError, FakeRunner } from "../../provider/exec";
import { addRoute, addVeth, deleteLink, deleteNetns, deleteRoute, ip, ipCommands, ipJson, listNetns, setLink, showLink, showRoute } from "../../provider/kernel";

const addrShowJson = JSON.stringify([
  {
    ifindex: 7,
    link_index: 6,
    ifname: "vh-web",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    mtu: 1500,
    master: "br0",
    operstate: "UP",
    link_type: "ether",
    address: "3a:cd:85:a9:2b:0a",
    ifalias: "hostnet:demo/dev/web-veth",
    linkinfo: { info_kind: "veth", info_slave_kind: "bridge" },
    addr_info: [
      { family: "inet", local: "10.0.3.9", prefixlen: 24, scope: "global", label: "vh-web" },
      { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
    ],
  },
]);

describe("kernel wrappers build argv and parse output", () => {
  test("veth peer is created directly inside its namespace", async () => {
    const runner = new FakeRunner();
    await addVeth(runner, { name: "vh-web", netns: undefined }, { name: "eth0", netns: "web" }, 1400);
    expect(runner.lines).toEqual(["ip link add name vh-web mtu 1400 type veth peer name eth0 mtu 1400 netns web"]);
  });

  test("both ends in one namespace need no netns argument; a host netns uses -n", async () => {
    const runner = new FakeRunner();
    await addVeth(runner, { name: "a", netns: "h" }, { name: "b", netns: "h" });
    expect(runner.lines).toEqual(["ip -n h link add name a type veth peer name b"]);
  });

  test("link settings go in one command, master before up", async () => {
    const runner = new FakeRunner();
    await setLink(runner, "web", "eth0", { mtu: 1400, master: "br0", alias: "hostnet:p/s/r", up: true });
    await setLink(runner, undefined, "vh", { master: null });
    await setLink(runner, undefined, "vh", {});
    expect(runner.lines).toEqual(["ip -n web link set dev eth0 mtu 1400 master br0 alias hostnet:p/s/r up", "ip link set dev vh nomaster"]);
  });

  test("routes carry our protocol number and a family flag", async () => {
    const runner = new FakeRunner();
    await addRoute(runner, "r", { destination: "default", via: "10.0.1.1", family: "ipv4" });
    await addRoute(runner, undefined, { destination: "fd00:1::/64", device: "br0", metric: 10, table: "100", source: "fd00::1", family: "ipv6" });
    await deleteRoute(runner, "r", { destination: "10.1.0.0/16", metric: 5, family: "ipv4" });
    expect(runner.lines).toEqual([
      "ip -n r -4 route add default table main via 10.0.1.1 proto 212",
      "ip -6 route add fd00:1::/64 metric 10 table 100 dev br0 src fd00::1 proto 212",
      "ip -n r -4 route del 10.1.0.0/16 metric 5 table main",
    ]);
  });

  test("showLink parses ip -json into our link state, leaving out link-local addresses", async () => {
    const runner = new FakeRunner().on(["ip", "-json", "-details", "addr", "show"], { stdout: addrShowJson, stderr: "" });
    expect(await showLink(runner, undefined, "vh-web")).toEqual({
      name: "vh-web",
      ifindex: 7,
      mtu: 1500,
      up: true,
      mac: "3a:cd:85:a9:2b:0a",
      alias: "hostnet:demo/dev/web-veth",
      master: "br0",
      kind: "veth",
      addresses: ["10.0.3.9/24"],
    });
  });

  test("a missing link or namespace reads as undefined; other errors propagate", async () => {
    const gone = new FakeRunner().on(["ip"], new CommandError(["ip"], 1, 'Device "x" does not exist.'));
    expect(await showLink(gone, undefined, "x")).toBeUndefined();
    const noNs = new FakeRunner().on(["ip"], new CommandError(["ip"], 255, 'Cannot open network namespace "n": No such file or directory'));
    expect(await showLink(noNs, "n", "x")).toBeUndefined();
    const denied = new FakeRunner().on(["ip"], new CommandError(["ip"], 2, "RTNETLINK answers: Operation not permitted"));
    await expect(showLink(denied, undefined, "x")).rejects.toMatchObject({ kind: "permission" });
  });

  test("a changed ip -json shape fails loudly, naming the field", async () => {
    const runner = new FakeRunner().on(["ip"], { stdout: JSON.stringify([{ ifindex: "seven", ifname: "x", mtu: 1 }]), stderr: "" });
    await expect(showLink(runner, undefined, "x")).rejects.toThrow(/unexpected shape: 0\.ifindex/);
  });

  test("deletes of what is already gone succeed", async () => {
    const runner = new FakeRunner()
      .on(["ip", "link", "delete"], new CommandError(["ip"], 1, 'Cannot find device "x"'))
      .on(["ip", "netns", "delete"], new CommandError(["ip"], 1, 'Cannot remove namespace file "/run/netns/n": No such file or directory'))
      .on(["ip", "-4", "route", "del"], new CommandError(["ip"], 2, "RTNETLINK answers: No such process"));
    await deleteLink(runner, undefined, "x");
    await deleteNetns(runner, "n");
    await deleteRoute(runner, undefined, { destination: "default", family: "ipv4" });
    expect(runner.calls).toHaveLength(3);
  });

  test("netns list and route show parse their output", async () => {
    const runner = new FakeRunner()
      .on(["ip", "-json", "netns", "list"], { stdout: JSON.stringify([{ name: "web", id: 3 }, { name: "router" }]), stderr: "" })
      .on(["ip", "-json", "-n", "r", "-4", "route", "show"], {
        stdout: JSON.stringify([
          { dst: "default", gateway: "10.0.1.1", dev: "eth0", protocol: "212", flags: [] },
          { dst: "10.0.1.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: "10.0.1.2", flags: [] },
          { dst: "10.9.0.0/16", gateway: "10.0.1.9", dev: "eth0", metric: 20, flags: [] },
        ]),
        stderr: "",
      });
    expect(await listNetns(runner)).toEqual(["web", "router"]);
    expect(await showRoute(runner, "r", { destination: "default", family: "ipv4" })).toMatchObject({ via: "10.0.1.1", ours: true, protocol: "212" });
    expect(await showRoute(runner, "r", { destination: "10.9.0.0/16", metric: 20, family: "ipv4" })).toMatchObject({ ours: false, protocol: "boot" });
    expect(await showRoute(runner, "r", { destination: "10.9.0.0/16", family: "ipv4" })).toBeUndefined();
  });
});

describe("concurrent ip work in one namespace is merged into one ip -batch", () => {
  const batchOf = (runner: FakeRunner) => runner.calls.map((c) => ({ argv: c.argv.join(" "), stdin: c.stdin }));

  test("calls of one tick share one process; other namespaces and other flags get their own", async () => {
    const runner = new FakeRunner().on(["ip", "-json", "-details", "-batch", "-"], { stdout: `[lo]\n[lo]\n${addrShowJson}\n`, stderr: "" });
    const [, shown] = await Promise.all([
      ip(runner, undefined, ["netns", "add", "c1"]),
      ipCommands(runner, undefined, [["link", "set", "dev", "vh-web", "up"], ["addr", "show", "dev", "vh-web"]]),
      ip(runner, "c1", ["link", "set", "dev", "lo", "up"]),
      ip(runner, undefined, ["-4", "route", "add", "default", "via", "10.0.0.1"]),
    ]);
    expect(shown).toEqual(["", addrShowJson]);
    expect(batchOf(runner)).toEqual([
      { argv: "ip -json -details -batch -", stdin: "netns add c1\naddr show dev lo\nlink set dev vh-web up\naddr show dev lo\naddr show dev vh-web\n" },
      { argv: "ip -n c1 link set dev lo up", stdin: undefined },
      { argv: "ip -4 route add default via 10.0.0.1", stdin: undefined },
    ]);
  });

  test("a failing line fails only its own call: calls before it ran, calls after it run in the next batch", async () => {
    let call = 0;
    const runner = new FakeRunner().on(["ip", "-json", "-details", "-batch", "-"], (command) => {
      call++;
      // "netns add a" and "netns add b" ran (each followed by its progress mark), the third line failed.
      if (call === 1) return new CommandError(command.argv, 1, "RTNETLINK answers: File exists\nCommand failed -:5\n", undefined, "[lo]\n[lo]\n");
      return { stdout: "[lo]\n[lo]\n", stderr: "" };
    });
    const results = await Promise.allSettled([
      ip(runner, undefined, ["netns", "add", "a"]),
      ipCommands(runner, undefined, [["netns", "add", "b"], ["link", "add", "name", "x", "type", "bridge"], ["link", "set", "dev", "x", "alias", "mine"]]),
      ip(runner, undefined, ["netns", "add", "c"]),
      ip(runner, undefined, ["netns", "add", "d"]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    const error = (results[1] as PromiseRejectedResult).reason as CommandError;
    // The error names the failing command as a person would type it, and keeps its kind.
    expect(error.argv).toEqual(["ip", "link", "add", "name", "x", "type", "bridge"]);
    expect(error.kind).toBe("exists");
    // Its own later line never ran; the two calls after it went into a second batch.
    const mark = "addr show dev lo";
    expect(runner.calls.map((c) => c.stdin)).toEqual([
      `netns add a\n${mark}\nnetns add b\n${mark}\nlink add name x type bridge\n${mark}\nlink set dev x alias mine\n${mark}\nnetns add c\n${mark}\nnetns add d\n${mark}\n`,
      `netns add c\n${mark}\nnetns add d\n${mark}\n`,
    ]);
  });

  test("an error that names no line (ip just exits) is placed by the lines printed before it", async () => {
    // ip exits on a master that does not exist without "Command failed": one progress mark was printed.
    const runner = new FakeRunner().on(["ip", "-json", "-n", "c1", "-details", "-batch", "-"], (command) => new CommandError(command.argv, 255, 'Error: argument "br-nope" is wrong: Device does not exist', undefined, "[lo]\n"));
    const results = await Promise.allSettled([ip(runner, "c1", ["link", "set", "dev", "lo", "up"]), ip(runner, "c1", ["link", "set", "dev", "eth0", "master", "br-nope"]), ip(runner, "c1", ["link", "set", "dev", "eth1", "up"])]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ argv: ["ip", "-n", "c1", "link", "set", "dev", "eth0", "master", "br-nope"], kind: "not-found" });
    expect(runner.calls).toHaveLength(2);
  });

  test("a show's own output is its progress mark; every line printed yet a failure blames nobody wrongly", async () => {
    const runner = new FakeRunner().on(["ip", "-json", "-details", "-batch", "-"], { stdout: `[lo]\n${addrShowJson}\n`, stderr: "" });
    const [set, shown] = await Promise.all([ip(runner, undefined, ["link", "set", "dev", "x", "up"]), ipJson(runner, undefined, ["addr", "show", "dev", "vh-web"])]);
    expect(set).toBeUndefined();
    expect(shown).toBe(addrShowJson);
  });

  test("words that could break a batch line are refused before anything runs", async () => {
    const runner = new FakeRunner();
    await expect(ip(runner, undefined, ["link", "set", "dev", "x y", "up"])).rejects.toThrow(/refusing/);
    expect(runner.calls).toHaveLength(0);
  });
});
