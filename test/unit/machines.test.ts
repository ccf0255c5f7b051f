// Machines without a network: identity by name in diff, gone machines never reached, the
// address forms of `--machine`, and recover's judgement of a lock's holder.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { FakeRunner, stopNewCommands } from "../../provider/exec";
import { parseMachineAddress } from "../../provider/housekeeping/machine";
import { refuseLiveLocks } from "../../provider/housekeeping/recover";
import { parseStackRef } from "../../provider/housekeeping/stack";
import { makePlacedProviders } from "../../provider/resources";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n";
const at = (host: string, extra: Record<string, unknown> = {}) => ({ host, port: 22, user: "root", privateKey: KEY, hostKeyPolicy: "known-hosts", perDialTimeout: 15, ...extra });
const props = (connection: Record<string, unknown>, machine = "m1") => ({ name: "web", loopbackUp: true, adopt: false, tag: "hostnet:p/s/web@m1", machine, connection });

describe("a machine's name is its identity", () => {
  const providers = () => makePlacedProviders(new FakeRunner()).namespace;

  test("a new address, port or key of the same name is an update in place; a new name replaces", async () => {
    const p = providers();
    for (const changed of [at("192.168.77.11"), at("192.168.77.1", { port: 2222 }), at("192.168.77.1", { privateKey: KEY.replace("x", "y") })]) {
      const diff = await p.diff!("m1:netns/web", props(at("192.168.77.1")), props(changed));
      expect(diff).toEqual(expect.objectContaining({ changes: true }));
      expect(diff.replaces ?? []).toEqual([]);
    }
    const renamed = await p.diff!("m1:netns/web", props(at("192.168.77.1")), props(at("192.168.77.1"), "m9"));
    expect(renamed.replaces).toContain("machine");
  });

  test("an update of the connection alone runs nothing and stores the new connection", async () => {
    const runner = new FakeRunner();
    const p = makePlacedProviders(runner).namespace;
    const result = await p.update!("m1:netns/web", props(at("192.168.77.1")), props(at("192.168.77.11")));
    expect(runner.calls).toEqual([]);
    expect((result.outs as { connection: { host: string } }).connection.host).toBe("192.168.77.11");
  });

  test("a gone machine is never reached: check, update, read and delete run nothing; a new resource on it is refused", async () => {
    const runner = new FakeRunner();
    const p = makePlacedProviders(runner).namespace;
    const gone = props(at("192.168.77.1", { gone: true }));
    const checked = await p.check!(props(at("192.168.77.1")), gone);
    expect(checked.failures ?? []).toEqual([]);
    expect(await p.diff!("m1:netns/web", props(at("192.168.77.1")), checked.inputs)).toEqual({ changes: true });
    await p.update!("m1:netns/web", props(at("192.168.77.1")), checked.inputs);
    expect(await p.read!("m1:netns/web", gone)).toEqual({ id: "m1:netns/web", props: gone });
    await p.delete!("m1:netns/web", gone);
    expect(runner.calls).toEqual([]);
    const refused = await p.check!({}, gone);
    expect(refused.failures?.[0]?.reason).toMatch(/machine m1 is declared gone \(gone: true\): nothing can be made on it/);
  });

  test("HOSTNET_GONE_MACHINES makes a stored resource's delete leave its machine alone", async () => {
    const runner = new FakeRunner();
    const p = makePlacedProviders(runner).namespace;
    process.env.HOSTNET_GONE_MACHINES = "m0, m1";
    try {
      await p.delete!("m1:netns/web", props(at("192.168.77.1")));
    } finally {
      delete process.env.HOSTNET_GONE_MACHINES;
    }
    expect(runner.calls).toEqual([]);
  });
});

describe("--machine", () => {
  test.each([
    ["192.168.77.1", { host: "192.168.77.1" }],
    ["root@192.168.77.1:2222", { user: "root", host: "192.168.77.1", port: 2222 }],
    ["admin@host.example", { user: "admin", host: "host.example" }],
    ["root@[fd00::1]:22", { user: "root", host: "fd00::1", port: 22 }],
    ["fd00::1", { host: "fd00::1" }],
  ])("%s", (text, expected) => {
    expect(parseMachineAddress(text)).toEqual(expect.objectContaining(expected));
  });

  test("a malformed one is refused with the expected form", () => {
    expect(() => parseMachineAddress("a@b@c")).toThrow(/expected \[USER@\]HOST\[:PORT\]/);
  });
});

describe("recover and the lock's holder", () => {
  const stack = parseStackRef("organization/p/dev");
  const dir = mkdtempSync(join(tmpdir(), "hostnet-lock-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lock = (content: Record<string, unknown>) => {
    const file = join(dir, `${Math.random()}.json`);
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  test("a live process on this machine: refused, naming it", async () => {
    const holder = spawn("sleep", ["30"]);
    try {
      const file = lock({ pid: holder.pid, username: "root", hostname: hostname(), timestamp: "2026-01-01T00:00:00Z" });
      expect(() => refuseLiveLocks([file], stack, false)).toThrow(new RegExp(`held by process ${holder.pid} of root on ${hostname()}.*still running: an update is under way`));
      expect(() => refuseLiveLocks([file], stack, true)).toThrow(/still running/); // --force is for other machines only
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test("a process that has ended, or a cut lock file: recovered", async () => {
    const ended = spawn("true");
    await new Promise((r) => ended.on("exit", r));
    expect(() => refuseLiveLocks([lock({ pid: ended.pid, hostname: hostname() })], stack, false)).not.toThrow();
    const cut = join(dir, "cut.json");
    writeFileSync(cut, '{"pid": 12');
    expect(() => refuseLiveLocks([cut], stack, false)).not.toThrow();
  });

  test("another machine's lock: refused unless --force", () => {
    const file = lock({ pid: 1, hostname: "elsewhere" });
    expect(() => refuseLiveLocks([file], stack, false)).toThrow(/on elsewhere: recover cannot tell from here.*--force/);
    expect(() => refuseLiveLocks([file], stack, true)).not.toThrow();
  });
});

// Last in this file: it stops new commands for the rest of the module (each test file has its own).
describe("after the engine is gone", () => {
  test("an operation under way fails at its next command and its undo steps still run", async () => {
    const runner = new FakeRunner().on(["ip", "netns", "add"], () => {
      stopNewCommands("stopped: the Pulumi engine (pid 1234) that started this provider is gone");
      return { stdout: "", stderr: "" };
    });
    const p = makePlacedProviders(runner).namespace;
    await expect(p.create({ name: "web", loopbackUp: true, adopt: false, tag: "hostnet:p/s/web" })).rejects.toThrow(/stopped: the Pulumi engine \(pid 1234\)/);
    // The netns was made, its tag was not set: the rollback removed it.
    expect(runner.lines.join("\n")).toMatch(/netns add web[\s\S]*netns delete web/);
    expect(runner.lines.join("\n")).not.toMatch(/alias/);
  });
});
