// examples/overlay through the real pulumi CLI against three simulated machines with real sshd:
// the README's multi-machine example works as written (stack config, a key file, pinned host keys).
import { resolve } from "node:path";
import { describeAsRoot, useLab, usePulumiProject, useSandbox } from "../support/guard";
import { LAN_PREFIX, OPERATOR_ADDRESS } from "../support/lab";
import { TEST_LIMIT_MS } from "../support/limits";

jest.setTimeout(TEST_LIMIT_MS);

describeAsRoot("examples/overlay: one network across three machines", () => {
  const ctx = useSandbox();
  const machines = useLab(ctx, 3);
  const project = usePulumiProject(ctx, "example-overlay", resolve(__dirname, "../../examples/overlay"));

  test("containers on every machine reach each other; machine 1's forward answers the LAN", async () => {
    const listed = [1, 2, 3].map((i) => ({ name: `m${i}`, host: `${LAN_PREFIX}.${i}`, hostKey: machines.lab.keys.hostPublicKey }));
    await project.config("machines", JSON.stringify(listed));
    await project.config("privateKeyFile", machines.lab.keys.clientKey);
    await project.up();
    const outputs = await project.outputs();
    const addresses = outputs.addresses as string[];
    expect(outputs.gateways).toEqual(["10.60.0.1", "10.60.0.2", "10.60.0.3"]);
    expect(outputs.mtu).toBe(1450);
    const [m1, , m3] = machines.lab.hosts;
    expect(await m3!.succeeds(["ping", "-c1", "-W2", addresses[0]!], { netns: "web-m3" })).toBe(true);
    await m1!.serve("web-m1", "tcp", 80);
    expect(await ctx.sandbox.ask(undefined, "tcp", `${LAN_PREFIX}.1`, 8080)).toBe(OPERATOR_ADDRESS);
    expect(await m3!.ask("web-m3", "tcp", addresses[0]!, 80)).toBe(addresses[2]);
  });

  test("destroy leaves every machine as it was", async () => {
    await project.destroy();
    for (const host of machines.lab.hosts) expect(await host.run(["ip", "netns", "list"])).toBe("");
  });
});
