// What registering a resource costs and leaves behind in the program (Pulumi's mocks, no engine):
// promise stack traces are skipped during the registration only.
import * as pulumi from "@pulumi/pulumi";

const stacks: string[] = [];
pulumi.runtime.setMocks({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) }, "proj", "stack", false);

import * as hostnet from "../../sdk";

describe("registration", () => {
  const limit = Error.stackTraceLimit;
  afterEach(() => {
    Error.stackTraceLimit = limit;
  });

  test("the program's stack trace limit is the same after a resource as before", () => {
    Error.stackTraceLimit = 17;
    new hostnet.Namespace("ns1", { name: "ns1" });
    expect(Error.stackTraceLimit).toBe(17);
  });

  test("during the registration promises get no frames; before and after they do", () => {
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, frames) => {
      stacks.push(`${frames.length}`);
      return prepare ? prepare(error, frames) : `${String(error)}\n${frames.map((f) => `    at ${String(f)}`).join("\n")}`;
    };
    try {
      new hostnet.Namespace("ns2", { name: "ns2" });
    } finally {
      Error.prepareStackTrace = prepare;
    }
    // Pulumi's own trace of the declaration is still taken in full (one long stack); the rest are empty.
    expect(stacks.filter((s) => Number(s) > 0)).toHaveLength(1);
    expect(stacks.filter((s) => s === "0").length).toBeGreaterThan(3);
    expect(new Error("after").stack).toMatch(/\n\s+at /);
  });

  test("an error thrown by the registration carries the declaration's stack", () => {
    let thrown: unknown;
    try {
      new hostnet.Namespace("ns3", { name: "ns3" }, { parent: {} as pulumi.Resource });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toMatch(/parent/);
    expect((thrown as Error).stack).toMatch(/registration\.test/);
  });
});
