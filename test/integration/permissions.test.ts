// Without CAP_NET_ADMIN the provider fails with a message that says what it needs.
import { ExecaRunner } from "../../provider/exec";
import { makeProviders } from "../../provider/resources";
import { describeAsRoot, useSandbox } from "../support/guard";

describeAsRoot("running without the capabilities", () => {
  const ctx = useSandbox();

  test("a bridge create names CAP_NET_ADMIN, and nothing is made", async () => {
    // setpriv drops the capabilities from the bounding set: even root then lacks them.
    const drop = ["setpriv", "--bounding-set=-net_admin,-sys_admin", "--inh-caps=-net_admin,-sys_admin", "--"];
    const weak = new ExecaRunner({ prefix: [...ctx.sandbox.prefix(), ...drop] });
    const { bridge } = makeProviders(weak);
    const inputs = (await bridge.check!({}, { name: "br-weak", tag: "hostnet:p/s/weak" })).inputs!;
    await expect(bridge.create(inputs)).rejects.toThrow(/Operation not permitted.*needs CAP_NET_ADMIN/);
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });

  test("a Sysctl that cannot write its record names the path, not a capability", async () => {
    // The records' directory as a real host has it (root's, 0755); the provider runs as nobody.
    await ctx.sandbox.run(["chmod", "0755", "/run/pulumi-hostnet"]);
    try {
      const nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
      const { sysctl } = makeProviders(new ExecaRunner({ prefix: [...ctx.sandbox.prefix(), ...nobody] }));
      const inputs = (await sysctl.check!({}, { key: "net.ipv4.ip_forward", value: "1", tag: "hostnet:p/s/weak" })).inputs!;
      const failure = sysctl.create(inputs);
      await expect(failure).rejects.toThrow(/mkdir: cannot create directory '\/run\/pulumi-hostnet\/sysctl': Permission denied/);
      await expect(failure).rejects.toThrow(/needs permission to write \/run\/pulumi-hostnet\/sysctl/);
      await expect(failure).rejects.not.toThrow(/CAP_NET_ADMIN/);
    } finally {
      await ctx.sandbox.run(["chmod", "1777", "/run/pulumi-hostnet"]);
    }
    expect(await ctx.sandbox.snapshot()).toEqual(ctx.before);
  });
});
