// The one quoting function and the SSH transport's argv, without a network: hostile words must
// reach the remote program exactly as they were, and ssh's own failures must read as such.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { CommandError, FakeRunner, shellLine, shellQuote, SshRunner, type SshConnection } from "../../provider/exec";
import { connectionInput, validate } from "../../provider/resources";

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
