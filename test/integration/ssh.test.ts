// The SSH transport against real OpenSSH sshd daemons on simulated machines (test/support/lab.ts):
// hostile words, the kernel wrappers over ssh, each way a machine can be wrong, and a machine
// that goes away and comes back.
import { CommandError, hostKeyFingerprint, SshRunner, type SshConnection } from "../../provider/exec";
import { addBridge, deleteLink, ipCommands, showLink } from "../../provider/kernel";
import { connectionInput } from "../../provider/resources";
import { describeAsRoot, useLab, useSandbox } from "../support/guard";
import { LAN_PREFIX } from "../support/lab";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("ssh transport to real sshd", () => {
  const ctx = useSandbox();
  // m1 and m2 are plain; m3 has no `ip`; m4 has a login user without capabilities.
  const machines = useLab(ctx, 4, (i) => (i === 3 ? { withoutIp: true } : i === 4 ? { unprivilegedUser: "lab" } : {}));
  const runners: SshRunner[] = [];
  afterAll(() => runners.forEach((r) => r.close()));

  function runnerFor(i: number, overrides: Record<string, unknown> = {}): SshRunner {
    const connection = connectionInput.parse(machines.lab.connection(i, overrides)) as SshConnection;
    const runner = new SshRunner(`m${i}`, connection, ctx.sandbox.runner);
    runners.push(runner);
    return runner;
  }

  test("hostile words reach the remote program exactly", async () => {
    const words = ["a b", "it's", "$HOME", "$(id)", "`id`", "; rm -rf /", "x\ny", "-n", "", "*", "\\", "a=b", "é"];
    const { stdout } = await runnerFor(1).run({ argv: ["printf", "%s\\0", ...words] });
    expect(stdout.split("\0").slice(0, -1)).toEqual(words);
  });

  test("the kernel wrappers work over ssh, on that machine only; concurrent ip work is one batch", async () => {
    const m1 = runnerFor(1);
    await addBridge(m1, undefined, "br-remote", 1400);
    try {
      expect((await showLink(m1, undefined, "br-remote"))?.mtu).toBe(1400);
      expect(await ctx.sandbox.succeeds(["ip", "link", "show", "br-remote"])).toBe(false);
      expect(await machines.lab.hosts[1]!.succeeds(["ip", "link", "show", "br-remote"])).toBe(false);
      const outputs = await Promise.all([1, 2, 3].map(() => ipCommands(m1, undefined, [["link", "show", "dev", "br-remote"]])));
      expect(outputs.every(([o]) => o?.includes("br-remote"))).toBe(true);
      // Round trips, for the note (not asserted: speed lives in npm run bench).
      const started = Date.now();
      for (let i = 0; i < 10; i++) await m1.run({ argv: ["true"] });
      console.log(`one command through the multiplexed connection: ${((Date.now() - started) / 10).toFixed(1)} ms`);
    } finally {
      await deleteLink(m1, undefined, "br-remote");
    }
  });

  test.each([
    ["an unreachable address", 9, { host: `${LAN_PREFIX}.9`, perDialTimeout: 2 }, /on machine m9 .*cannot reach the machine over ssh/],
    ["a wrong key", 1, { privateKey: "WRONG" }, /on machine m1 .*authentication failed for user root/],
    ["a machine without ip", 3, {}, /on machine m3 .*`ip` tool \(iproute2\) is not installed/],
    ["a user without CAP_NET_ADMIN", 4, { user: "lab" }, /on machine m4 .*user lab lacks CAP_NET_ADMIN and CAP_SYS_ADMIN/],
  ])("%s is a clear error naming the machine", async (_what, i, overrides, message) => {
    const resolved: Record<string, unknown> = { ...overrides };
    if (resolved.privateKey === "WRONG") resolved.privateKey = machines.lab.keys.wrongKeyText;
    if (resolved.hostKey === "WRONG_HOST") resolved.hostKey = machines.lab.keys.wrongHostPublicKey;
    const err = await runnerFor(i, resolved).run({ argv: ["true"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as Error).message).toMatch(message);
  });

  test("a host-key mismatch names the machine, the key it presented and the declared one, never the provider's temporary known_hosts", async () => {
    const keys = machines.lab.keys;
    const err = await runnerFor(2, { hostKey: keys.wrongHostPublicKey }).run({ argv: ["true"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const message = (err as Error).message;
    expect(message).toContain(`on machine m2 (root@${LAN_PREFIX}.2:22): host key verification failed: it presented ED25519 ${hostKeyFingerprint(keys.hostPublicKey)}, but the Machine's declared hostKey is ssh-ed25519 ${hostKeyFingerprint(keys.wrongHostPublicKey)}`);
    expect(message).not.toMatch(/hostnet-ssh-|ssh-keygen|known_hosts|hostnet-machine|\/tmp\//);
  });

  test("a machine whose sshd goes away fails as unreachable, and works again once it is back", async () => {
    const m2 = runnerFor(2);
    await m2.run({ argv: ["true"] });
    await machines.lab.hosts[1]!.stopSshd();
    const err = await m2.run({ argv: ["true"] }).catch((e: unknown) => e);
    expect((err as CommandError).kind).toBe("unreachable");
    await machines.lab.hosts[1]!.startSshd();
    await expect(m2.run({ argv: ["echo", "back"] })).resolves.toEqual(expect.objectContaining({ stdout: "back\n" }));
  });
});
