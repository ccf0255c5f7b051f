// Namespaces and bridges someone else made: check's shape and kernel probes, and the commands
// create and delete run (never `ip netns add`/`delete` of theirs, never a bridge made or deleted).
import { CommandError, FakeRunner, type Command } from "../../provider/exec";
import { makeProviders } from "../../provider/resources";
import { foreignNamespaceName } from "../../provider/resources/endpoint-inputs";

const TAG = "hostnet:proj/stack/c1-endpoint";
const OURS = foreignNamespaceName(TAG);
const declared = (extra: Record<string, unknown>) => ({ bridge: "br0", hostInterface: "vh-c1", address: "10.0.3.2/24", gateway: "10.0.3.1", tag: TAG, ...extra });

/** An `ip -batch` that succeeds: one line per command, a link's JSON for a show, a mark otherwise. */
function ipAnswer(command: Command): { stdout: string; stderr: string } {
  const alone = command.argv.slice(command.argv.findIndex((w, i) => i > 0 && !w.startsWith("-") && !(command.argv[i - 1] === "-n"))).join(" ");
  const lines = command.stdin === undefined ? [alone] : command.stdin.split("\n").filter(Boolean);
  const out = lines.map((line) => {
    const words = line.split(" ");
    if (words[0] === "route") return "[]";
    if (words[1] !== "show") return undefined; // prints nothing: its progress mark is the next line
    const name = words.at(-1) ?? "x";
    return JSON.stringify([{ ifindex: 7, ifname: name, flags: ["UP"], mtu: 1500, operstate: "UP", address: "02:00:00:00:00:07", ifalias: TAG, addr_info: name === "eth0" ? [{ family: "inet", local: "10.0.3.2", prefixlen: 24 }] : [] }]);
  });
  return { stdout: `${out.filter((l) => l !== undefined).join("\n")}\n`, stderr: "" };
}

function kernel(statTypes: Record<string, string | undefined>): FakeRunner {
  return new FakeRunner()
    .on(["stat", "-L", "-f"], (c) => {
      const path = c.argv.at(-1) ?? "";
      const type = statTypes[path];
      return type === undefined ? new CommandError(c.argv, 1, `stat: cannot read file system information for '${path}': No such file or directory`) : { stdout: `${type}\n`, stderr: "" };
    })
    .on(["stat", "-L", "-c"], (c) => new CommandError(c.argv, 1, `stat: cannot statx '${c.argv.at(-1)}': No such file or directory`))
    .on(["ip"], ipAnswer);
}

describe("a BridgeEndpoint in a namespace someone else made", () => {
  test.each([
    [{ existingNamespace: { pid: "1234" } }, "existingNamespace.pid", /pid must be a number/],
    [{ existingNamespace: { pid: 1.5 } }, "existingNamespace.pid", /whole number/],
    [{ existingNamespace: { pid: 0 } }, "existingNamespace.pid", /at least 1/],
    [{ existingNamespace: { path: "proc/1/ns/net" } }, "existingNamespace.path", /absolute path/],
    [{ existingNamespace: { path: "/proc/../etc/passwd" } }, "existingNamespace.path", /'\.\.'/],
    [{ existingNamespace: { pid: 12, name: "web" } }, "existingNamespace", /exactly one of name, path or pid/],
    [{ existingNamespace: {} }, "existingNamespace", /exactly one/],
    [{ existingNamespace: { pid: 12, netns: "x" } }, "existingNamespace", /netns/],
    [{ existingNamespace: { name: "web" }, namespace: "other" }, "namespace", /differs from existingNamespace.name web/],
    [{}, "namespace", /namespace is required/],
  ])("check refuses %j at %s", async (extra, property, reason) => {
    const result = await makeProviders(kernel({})).endpoint.check!({}, declared(extra));
    expect(result.failures).toEqual(expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringMatching(reason) })]));
  });

  test.each([
    [{ path: "/etc/passwd" }, { "/etc/passwd": "ext2/ext3" }, "existingNamespace.path", /not a namespace file \(stat -f says "ext2\/ext3"/],
    [{ path: "/var/run/docker/netns/nope" }, {}, "existingNamespace.path", /does not exist/],
    [{ pid: 999999 }, {}, "existingNamespace.pid", /no process 999999/],
    [{ name: "nosuch" }, {}, "existingNamespace.name", /network namespace nosuch does not exist/],
  ])("check asks the kernel about %j and says why it cannot be used", async (existing, types, property, reason) => {
    const result = await makeProviders(kernel(types)).endpoint.check!({}, declared({ existingNamespace: existing }));
    expect(result.failures).toEqual([{ property, reason: expect.stringMatching(reason) }]);
  });

  test("check names a path's or a PID's netns with a name of ours, and a named one by its name", async () => {
    const runner = kernel({ "/proc/4242/ns/net": "nsfs", "/run/netns/web": "nsfs" });
    const { endpoint } = makeProviders(runner);
    expect((await endpoint.check!({}, declared({ existingNamespace: { pid: 4242 } }))).inputs).toMatchObject({ namespace: OURS });
    expect(OURS).toMatch(/^hostnet-[0-9a-f]{12}$/);
    expect((await endpoint.check!({}, declared({ existingNamespace: { name: "web" } }))).inputs).toMatchObject({ namespace: "web" });
    // Known already: a container gone since does not block `up` of the stack that holds it.
    const before = runner.calls.length;
    const again = await endpoint.check!(declared({ existingNamespace: { pid: 4242 } }), declared({ existingNamespace: { pid: 4242 } }));
    expect(again.failures ?? []).toEqual([]);
    expect(runner.calls.slice(before).filter((c) => c.argv[0] === "stat")).toEqual([]);
  });

  test("create names the PID's netns, puts the pair in it and leaves its lo alone; delete removes the pair and our name only", async () => {
    const runner = kernel({ "/proc/4242/ns/net": "nsfs" });
    const { endpoint } = makeProviders(runner);
    const inputs = (await endpoint.check!({}, declared({ existingNamespace: { pid: 4242 } }))).inputs!;
    const created = await endpoint.create(inputs);
    const lines = runner.calls.map((c) => `${c.argv.join(" ")}${c.stdin ? ` <<< ${c.stdin.trim().replace(/\n/g, "; ")}` : ""}`);
    expect(lines).toContain(`ip netns attach ${OURS} 4242`);
    expect(lines.join("\n")).not.toMatch(/netns add/);
    expect(lines.join("\n")).toMatch(new RegExp(`link add name vh-c1 .*peer name eth0 netns ${OURS}`));
    expect(lines.join("\n")).not.toMatch(/link set dev lo/);
    expect(created.outs).toMatchObject({ namespace: OURS, path: `/run/netns/${OURS}`, existingNamespace: { pid: 4242 } });

    const deletes = kernel({});
    await makeProviders(deletes).endpoint.delete!(created.id, created.outs);
    expect(deletes.lines).toEqual(expect.arrayContaining(["ip link delete dev vh-c1", `ip netns delete ${OURS}`]));
    expect(deletes.lines.join("\n")).not.toMatch(/show dev lo/);
  });

  test("delete of one in a named foreign netns never deletes that netns", async () => {
    const runner = kernel({});
    const stored = { ...declared({ existingNamespace: { name: "web" } }), namespace: "web", interfaceName: "eth0", ports: [], firewallBackend: "auto", adopt: false };
    await makeProviders(runner).endpoint.delete!("endpoint/-/vh-c1", stored);
    expect(runner.lines.join("\n")).not.toMatch(/netns del/);
    expect(runner.lines).toContain("ip link delete dev vh-c1");
  });
});

describe("a Bridge someone else made (existing: true)", () => {
  const BTAG = "hostnet:proj/stack/net-bridge";
  const docker0 = (addresses: string[]) =>
    new FakeRunner().on(["ip", "-json", "-details", "addr", "show", "dev", "docker0"], {
      stdout: JSON.stringify([{ ifindex: 3, ifname: "docker0", flags: ["UP"], mtu: 1500, address: "02:42:00:00:00:01", linkinfo: { info_kind: "bridge" }, addr_info: addresses.map((a) => ({ family: "inet", local: a.split("/")[0], prefixlen: Number(a.split("/")[1]) })) }]),
      stderr: "",
    });
  const missing = () => new FakeRunner().on(["ip"], (c) => new CommandError(c.argv, 1, 'Device "docker0" does not exist.'));
  const inputs = { name: "docker0", addresses: ["172.17.0.1/16"], existing: true, tag: BTAG };

  test.each([
    ["a bridge that does not exist", missing(), /bridge docker0 does not exist in the host netns: an existing bridge is used, not made/],
    ["a gateway the bridge does not have", docker0(["172.18.0.1/16"]), /does not have 172\.17\.0\.1\/16 \(it has 172\.18\.0\.1\/16\)/],
  ])("check refuses %s at preview", async (_what, runner, reason) => {
    const result = await makeProviders(runner).bridge.check!({}, inputs);
    expect(result.failures).toEqual([{ property: "name", reason: expect.stringMatching(reason) }]);
  });

  test("check refuses adopt, mac and mtu on an existing bridge", async () => {
    const result = await makeProviders(docker0(["172.17.0.1/16"])).bridge.check!({}, { ...inputs, adopt: true, mtu: 1400 });
    expect(result.failures?.map((f) => f.property).sort()).toEqual(["adopt", "mtu"]);
  });

  test("create only looks; delete touches nothing; a bridge gone since reads as gone", async () => {
    const runner = docker0(["172.17.0.1/16"]);
    const { bridge } = makeProviders(runner);
    const checked = (await bridge.check!({}, inputs)).inputs!;
    expect(checked.mac).toBeUndefined();
    const created = await bridge.create(checked);
    expect(created.outs).toMatchObject({ name: "docker0", addresses: ["172.17.0.1/16"], existing: true });
    expect(runner.lines.every((l) => l === "ip -json -details addr show dev docker0")).toBe(true);
    const deletes = new FakeRunner();
    await makeProviders(deletes).bridge.delete!(created.id, created.outs);
    expect(deletes.lines).toEqual([]);
    expect((await makeProviders(missing()).bridge.read!(created.id, created.outs)).id).toBe("");
    await expect(makeProviders(missing()).bridge.create(checked)).rejects.toThrow(/does not exist/);
  });
});
