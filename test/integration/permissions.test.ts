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
});
