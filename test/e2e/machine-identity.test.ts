// A machine's name is its identity, through the real pulumi CLI and real sshd (test/support/lab.ts):
// a new address for a machine updates its resources in place and later deletes reach it there;
// a machine declared gone leaves the state without being reached; once it is back, `gc --machine`
// over SSH finds and removes what the stack left on it. And the messages about a secret key and a
// host key that is not the declared one, as `pulumi preview` prints them.
import { hostKeyFingerprint } from "../../provider/exec";
import { describeAsRoot, useLab, usePulumiProject, useSandbox } from "../support/guard";
import { LAN_PREFIX } from "../support/lab";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

const NEW_ADDRESS = `${LAN_PREFIX}.11`;

describeAsRoot("machines: identity by name, gone machines, gc over SSH", () => {
  const ctx = useSandbox();
  const machines = useLab(ctx, 2);
  const project = usePulumiProject(ctx, `mid${process.pid}`);
  const host = (i: number) => machines.lab.hosts[i - 1]!;
  const netnsOf = async (i: number) => (await host(i).run(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]).filter(Boolean).sort();
  const keys = () => machines.lab.keys;

  interface Shape {
    m1Host?: string;
    m2Gone?: boolean;
    withB?: boolean;
    withD?: boolean;
    withM1?: boolean;
  }
  function program({ m1Host = `${LAN_PREFIX}.1`, m2Gone = false, withB = true, withD = false, withM1 = true }: Shape): string {
    const m1 = withM1
      ? `const n1 = new hostnet.BridgeNetwork("n1", { bridgeName: "br-n1", subnet: "10.71.1.0/24", machine: m1 });
new hostnet.ContainerNetwork("a", { mode: "bridge", network: n1, machine: m1 });
${withB ? `new hostnet.ContainerNetwork("b", { mode: "bridge", network: n1, machine: m1 });` : ""}`
      : "";
    return `
const key = require("fs").readFileSync(${JSON.stringify(keys().clientKey)}, "utf8");
const m1 = new hostnet.Machine("m1", { host: "${m1Host}", privateKey: pulumi.secret(key), hostKey: ${JSON.stringify(keys().hostPublicKey)}, perDialTimeout: 5 });
const m2 = new hostnet.Machine("m2", { host: "${LAN_PREFIX}.2", privateKey: pulumi.secret(key), hostKey: ${JSON.stringify(keys().hostPublicKey)}, perDialTimeout: 5 }${m2Gone ? ", { gone: true }" : ""});
${m1}
const n2 = new hostnet.BridgeNetwork("n2", { bridgeName: "br-n2", subnet: "10.71.2.0/24", machine: m2 });
new hostnet.ContainerNetwork("c", { mode: "bridge", network: n2, machine: m2 });
${withD ? `new hostnet.ContainerNetwork("d", { mode: "bridge", network: n2, machine: m2 });` : ""}
`;
  }

  const gcOnM2 = (extra: string[] = []) =>
    project.hostnet(["gc", "--stack", project.qualifiedStack, "--machine", `root@${LAN_PREFIX}.2:22`, "--name", "m2", "--key", keys().clientKey, "--host-key", keys().hostPublicKey, ...extra]);
  const stateResources = async () => {
    const exported = await project.cli(["stack", "export", "--stack", "test"]);
    expect(exported.code).toBe(0);
    return (exported.stdout.match(/"type": "pulumi-nodejs:dynamic\/hostnet:/g) ?? []).length;
  };

  beforeAll(() => {
    // Machine 1 back at its first address (the leak guard compares its addresses), whatever happened.
    ctx.addTeardown(async () => {
      await host(1).run(["ip", "addr", "add", `${LAN_PREFIX}.1/24`, "dev", "eth0"]).catch(() => undefined);
      await host(1).run(["sh", "-c", "kill $(cat /run/sshd-new.pid) 2>/dev/null; true"]);
      await host(1).run(["ip", "addr", "del", `${NEW_ADDRESS}/24`, "dev", "eth0"]).catch(() => undefined);
      await host(2).startSshd().catch(() => undefined);
      await project.cli(["destroy", "--yes", "--skip-preview", "--stack", "test"]);
    });
  });

  test("up places networks and containers on both machines", async () => {
    project.writeProgram(program({}));
    await project.up();
    expect(await netnsOf(1)).toEqual(["a", "b"]);
    expect(await netnsOf(2)).toEqual(["c"]);
  });

  test("a new address for m1: preview and up update in place (no replacement), and a removed container is deleted at the new address", async () => {
    // Machine 1 moves: its new address answers ssh, its old one no longer exists.
    await host(1).run(["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"]);
    await host(1).run(["ip", "addr", "add", `${NEW_ADDRESS}/24`, "dev", "eth0"]);
    const k = keys();
    await host(1).run([
      "/usr/sbin/sshd", "-o", `ListenAddress=${NEW_ADDRESS}`, "-o", `HostKey=${k.hostKey}`, "-o", `AuthorizedKeysFile=${k.authorized}`,
      "-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no", "-o", "UsePAM=no", "-o", "StrictModes=no", "-o", "PidFile=/run/sshd-new.pid",
    ]);
    await host(1).run(["ip", "addr", "del", `${LAN_PREFIX}.1/24`, "dev", "eth0"]);

    project.writeProgram(program({ m1Host: NEW_ADDRESS, withB: false }));
    const preview = await project.preview();
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/~ .*hostnet:BridgeEndpoint/);
    expect(preview.stdout).not.toMatch(/replace/);
    const up = await project.up();
    expect(up.stdout).toMatch(/updated/);
    expect(up.stdout).not.toMatch(/replaced/);
    expect(up.stdout).toMatch(/- .*b .*deleted/);
    // Only machine 1's resources changed; machine 2's are untouched.
    expect(up.stdout).not.toMatch(/~ .*hostnet:\w+ +c\b/);
    expect(await netnsOf(1)).toEqual(["a"]);
    expect(await host(1).run(["ip", "-o", "link", "show", "br-n1"])).toContain("br-n1");
    expect(await host(1).succeeds(["ping", "-c1", "-W2", "10.71.1.1"], { netns: "a" })).toBe(true);
    // The state now holds the new address: a refresh reaches machine 1 there.
    await project.refresh();
  });

  test("m2 gone for good: a new resource on it is refused at preview; up records it and destroy leaves the state clean without reaching it", async () => {
    await host(2).stopSshd();
    project.writeProgram(program({ m1Host: NEW_ADDRESS, withB: false, m2Gone: true, withD: true }));
    const refused = await project.preview();
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/machine m2 is declared gone \(gone: true\): nothing can be made on it/);
    expect(refused.output).not.toMatch(/    at /);

    project.writeProgram(program({ m1Host: NEW_ADDRESS, withB: false, m2Gone: true }));
    const up = await project.up();
    expect(up.stdout).toMatch(/~ .*hostnet:BridgeEndpoint c.* updated/);
    expect(up.stdout).not.toMatch(/cannot reach/);
    const destroy = await project.destroy();
    expect(destroy.stdout).toMatch(/deleted/);
    expect(await stateResources()).toBe(0);
    // Machine 1 was reached at its new address and left clean; machine 2 was not reached at all.
    expect(await netnsOf(1)).toEqual([]);
    expect(await netnsOf(2)).toEqual(["c"]);
  });

  test("m2 back: gc --machine over SSH lists what the stack left there, and --delete removes it", async () => {
    await host(2).startSshd();
    const listed = await gcOnM2();
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/on machine m2 \(root@192\.168\.77\.2:22\): the state holds 0 resources/);
    expect(listed.stdout).toMatch(/^orphan netns netns c: /m);
    expect(listed.stdout).toMatch(/^orphan link link br-n2 \(host\): alias hostnet:mid\d+\/test\/\S+@m2,/m);
    expect(listed.stdout).toMatch(/dry run: nothing removed/);
    expect(await netnsOf(2)).toEqual(["c"]);
    const removed = await gcOnM2(["--delete"]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^removed netns c$/m);
    expect(await netnsOf(2)).toEqual([]);
    expect(await host(2).succeeds(["ip", "link", "show", "br-n2"])).toBe(false);
  });

  test("without editing the program: HOSTNET_GONE_MACHINES=m2 pulumi destroy drops m2's resources without reaching it", async () => {
    project.writeProgram(program({ m1Host: NEW_ADDRESS, withM1: false }));
    await project.up();
    expect(await netnsOf(2)).toEqual(["c"]);
    await host(2).stopSshd();
    project.extraEnv = { HOSTNET_GONE_MACHINES: "m2" };
    try {
      await project.destroy();
    } finally {
      project.extraEnv = {};
    }
    expect(await stateResources()).toBe(0);
    await host(2).startSshd();
    const removed = await gcOnM2(["--delete"]);
    expect(removed.code).toBe(0);
    expect(await netnsOf(2)).toEqual([]);
  });

  test("through the CLI: a truncated secret key says (got [secret]); a host-key mismatch names the machine and the declared key's fingerprint", async () => {
    const truncated = keys().clientKeyText.slice(0, 120);
    project.writeProgram(`
new hostnet.Bridge("b1", { name: "br-t1", machine: new hostnet.Machine("m1", { host: "${LAN_PREFIX}.2", privateKey: pulumi.secret(${JSON.stringify(truncated)}) }) });
`);
    const cut = await project.preview();
    expect(cut.code).not.toBe(0);
    expect(cut.output).toMatch(/property connection\.privateKey value .* has a problem: privateKey must be the text of a private key .*\(got \[secret\]\)/);
    expect(cut.output).not.toContain(truncated.split("\n")[1]!.slice(0, 20));

    const key = `require("fs").readFileSync(${JSON.stringify(keys().clientKey)}, "utf8")`;
    project.writeProgram(`
new hostnet.Bridge("b2", { name: "br-t2", machine: new hostnet.Machine("m2", { host: "${LAN_PREFIX}.2", privateKey: pulumi.secret(${key}), hostKey: ${JSON.stringify(keys().wrongHostPublicKey)} }) });
`);
    const mismatch = await project.preview();
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.output).toContain(`on machine m2 (root@${LAN_PREFIX}.2:22): host key verification failed: it presented ED25519 ${hostKeyFingerprint(keys().hostPublicKey)}, but the Machine's declared hostKey is ssh-ed25519 ${hostKeyFingerprint(keys().wrongHostPublicKey)}`);
    expect(mismatch.output).not.toMatch(/hostnet-ssh-|ssh-keygen|known_hosts/);
    expect(await netnsOf(2)).toEqual([]);
  });

  test("bad --machine options are a usage error naming the option", async () => {
    const bad = await project.hostnet(["gc", "--stack", project.qualifiedStack, "--machine", "root@-oProxyCommand=x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/host must not start with '-'|bad --machine/);
  });
});
