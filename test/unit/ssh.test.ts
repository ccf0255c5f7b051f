// The one quoting function and the SSH transport's argv, without a network: hostile words must
// reach the remote program exactly as they were, and ssh's own failures must read as such.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { CommandError, FakeRunner, hostKeyFingerprint, shellLine, shellQuote, SshRunner, type SshConnection } from "../../provider/exec";
import { connectionInput, makePlacedProviders, validate } from "../../provider/resources";
import { SECRET_INPUTS_KEY } from "../../provider/resources/dry-run";

/** What bash (the login shell sshd runs a command with) makes of a quoted line: the words it passes on. */
function wordsThroughShell(words: string[]): string[] {
  const out = execFileSync("bash", ["-c", `printf '%s\\0' ${words.map(shellQuote).join(" ")}`]).toString();
  return out.split("\0").slice(0, -1);
}

const HOSTILE = ["a b", "it's", '"quoted"', "$HOME", "${PATH}", "$(id)", "`id`", "; rm -rf /", "a && b", "x | y", "x\ny", "tab\there", "-n", "--help", "", "*", "?", "~", "#comment", "\\", "a=b", "!", "{a,b}", "<in", ">out", "é ünïcode"];

describe("shellQuote", () => {
  test("every hostile word reaches the program as it was", () => {
    expect(wordsThroughShell(HOSTILE)).toEqual(HOSTILE);
  });

  test("property: any words (no NUL) survive the shell", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }).map((s) => s.replace(/\0/g, "")), { minLength: 1, maxLength: 6 }), (words) => {
        expect(wordsThroughShell(words)).toEqual(words);
      }),
      { numRuns: 100 },
    );
  });

  test("plain words stay readable; a first word with = is not an assignment", () => {
    expect(shellLine(["ip", "-n", "web", "link", "set", "dev", "eth0", "mtu", "1400"])).toBe("ip -n web link set dev eth0 mtu 1400");
    expect(shellQuote("a=b")).toBe("'a=b'");
    expect(() => shellLine([])).toThrow(/empty argv/);
  });
});

const connection: SshConnection = { host: "192.168.77.1", port: 2222, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample", hostKeyPolicy: "known-hosts", perDialTimeout: 5 };

describe("SshRunner", () => {
  test("a command runs as one quoted line through a multiplexed ssh, after a preflight", async () => {
    const local = new FakeRunner().on(["ssh"], (c) => ({ stdout: String(c.argv.at(-1)).includes("CapEff") ? "caps 000001ffffffffff\n" : "ok\n", stderr: "" }));
    const runner = new SshRunner("m1", connection, local);
    try {
      const result = await runner.run({ argv: ["ip", "link", "set", "dev", "a b", "alias", "x;y"], netns: "web" });
      expect(result.stdout).toBe("ok\n");
      const last = local.calls.at(-1)!;
      expect(last.argv.at(-1)).toBe("LC_ALL=C ip netns exec web ip link set dev 'a b' alias 'x;y'");
      expect(last.argv).toEqual(expect.arrayContaining(["-p", "2222", "-l", "root", "192.168.77.1", "-o", "ControlMaster=auto", "-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=hostnet-machine", "-o", "BatchMode=yes"]));
      expect(local.calls).toHaveLength(2); // the preflight, then the command: one connection check per machine
      await runner.run({ argv: ["true"] });
      expect(local.calls).toHaveLength(3);
    } finally {
      runner.close();
    }
  });

  test("ssh's own failures are named as the machine's, and never read as 'not found'", async () => {
    const local = new FakeRunner().on(["ssh"], (c) => new CommandError(c.argv, 255, "root@192.168.77.1: Permission denied (publickey).\n"));
    const runner = new SshRunner("m1", connection, local);
    try {
      const err = await runner.run({ argv: ["ip", "link", "show"] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect((err as CommandError).kind).toBe("unreachable");
      expect((err as CommandError).message).toMatch(/^on machine m1 \(root@192\.168\.77\.1:2222\): .*authentication failed for user root/);
    } finally {
      runner.close();
    }
  });

  test("a host-key mismatch names the machine and the declared key's fingerprint, not the provider's temporary known_hosts", async () => {
    const stderr = [
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "The fingerprint for the ED25519 key sent by the remote host is",
      "SHA256:pB4x2NkXtTfQmYvW8rJ0cE1dL5aZ3uH7gK9sO6iM2nQ.",
      "Add correct host key in /tmp/hostnet-ssh-123-AbC/known_hosts to get rid of this message.",
      "Offending ED25519 key in /tmp/hostnet-ssh-123-AbC/known_hosts:1",
      "  remove with:",
      "  ssh-keygen -f '/tmp/hostnet-ssh-123-AbC/known_hosts' -R 'hostnet-machine'",
      "Host key for hostnet-machine has changed and you have requested strict checking.",
      "Host key verification failed.",
    ].join("\n");
    const local = new FakeRunner().on(["ssh"], (c) => new CommandError(c.argv, 255, stderr));
    const runner = new SshRunner("m1", connection, local);
    try {
      const message = String(((await runner.run({ argv: ["true"] }).catch((e: unknown) => e)) as Error).message);
      expect(message).toMatch(/^on machine m1 \(root@192\.168\.77\.1:2222\): host key verification failed: it presented ED25519 SHA256:pB4x2NkXtTfQmYvW8rJ0cE1dL5aZ3uH7gK9sO6iM2nQ, but the Machine's declared hostKey is ssh-ed25519 SHA256:/);
      expect(message).toContain(hostKeyFingerprint(connection.hostKey!));
      expect(message).not.toMatch(/hostnet-ssh-|ssh-keygen|known_hosts|hostnet-machine/);
    } finally {
      runner.close();
    }
  });

  test("hostKeyFingerprint is ssh-keygen's SHA256 fingerprint", () => {
    const dir = execFileSync("mktemp", ["-d"]).toString().trim();
    try {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/k`]);
      const pub = execFileSync("cat", [`${dir}/k.pub`]).toString();
      const printed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${dir}/k.pub`]).toString().split(" ")[1];
      expect(hostKeyFingerprint(pub)).toBe(printed);
    } finally {
      execFileSync("rm", ["-rf", dir]);
    }
  });

  test("a user without CAP_NET_ADMIN is refused at the preflight, naming the machine", async () => {
    const local = new FakeRunner().on(["ssh"], () => ({ stdout: "caps 0000000000000000\n", stderr: "" }));
    const runner = new SshRunner("m2", connection, local);
    try {
      await expect(runner.run({ argv: ["true"] })).rejects.toThrow(/on machine m2 .*lacks CAP_NET_ADMIN and CAP_SYS_ADMIN/);
    } finally {
      runner.close();
    }
  });

  test("a machine without ip is refused at the preflight", async () => {
    const local = new FakeRunner().on(["ssh"], () => ({ stdout: "missing-ip\ncaps 000001ffffffffff\n", stderr: "" }));
    const runner = new SshRunner("m3", connection, local);
    try {
      await expect(runner.run({ argv: ["true"] })).rejects.toThrow(/on machine m3 .*`ip` tool \(iproute2\) is not installed/);
    } finally {
      runner.close();
    }
  });
});

describe("connection validation", () => {
  test.each([
    [{ host: "-oProxyCommand=evil" }, "connection.host"],
    [{ host: "a b" }, "connection.host"],
    [{ host: "h", port: 0 }, "connection.port"],
    [{ host: "h", user: "-x" }, "connection.user"],
    [{ host: "h", privateKey: "/root/.ssh/id_ed25519" }, "connection.privateKey"],
    [{ host: "h", hostKey: "AAAA" }, "connection.hostKey"],
    [{ host: "h", hostKeyPolicy: "trust-me" }, "connection.hostKeyPolicy"],
  ])("%j is refused at %s", (value, property) => {
    const failures = validate(connectionInput, value).failures.map((f) => `connection.${f.property}`);
    expect(failures).toContain(property);
  });
});

describe("secret inputs are never echoed in a failure", () => {
  // A key cut in the middle: its start is there, its end is not.
  const truncated = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW";

  test("a truncated private key says (got [secret]), with no part of the key", () => {
    const failures = validate(connectionInput, { host: "h", privateKey: truncated }).failures;
    expect(failures).toEqual([{ property: "privateKey", reason: expect.stringMatching(/privateKey must be the text of a private key.*\(got \[secret\]\)$/) }]);
    expect(JSON.stringify(failures)).not.toMatch(/b3BlbnNz|BEGIN OPENSSH/);
  });

  test("a password is never shown, even when the program did not mark it secret", () => {
    const failures = validate(connectionInput, { host: "h", password: 42 }).failures;
    expect(failures[0]?.reason).toMatch(/\(got \[secret\]\)$/);
  });

  test("through the provider's check: a Machine's key and any pulumi.secret input the SDK marked", async () => {
    const providers = makePlacedProviders(new FakeRunner());
    const remote = await providers.namespace.check!({}, { name: "web", tag: "hostnet:p/s/web@m1", machine: "m1", connection: { host: "h", privateKey: truncated }, [SECRET_INPUTS_KEY]: ["connection.privateKey"] });
    expect(remote.failures).toEqual([{ property: "connection.privateKey", reason: expect.stringMatching(/\(got \[secret\]\)$/) }]);
    expect(JSON.stringify(remote.failures)).not.toContain("b3BlbnNz");
    // A secret value of the resource's own inputs: the reason names the field, not the value.
    const local = await providers.namespace.check!({}, { name: "bad name with secret words", tag: "hostnet:p/s/web", [SECRET_INPUTS_KEY]: ["name"] });
    expect(local.failures).toEqual([{ property: "name", reason: expect.stringMatching(/\(got \[secret\]\)$/) }]);
    expect(JSON.stringify(local.failures)).not.toContain("secret words");
    // Not secret: the value is quoted as before.
    const plain = await providers.namespace.check!({}, { name: "bad name", tag: "hostnet:p/s/web" });
    expect(JSON.stringify(plain.failures)).toContain("bad name");
  });
});
