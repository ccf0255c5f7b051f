// The provider's own kernel work for N bridge-mode containers, no engine: the create functions
// of the same resources the components declare (a bridge endpoint with its port forward), called directly, eight containers at a time
// (Pulumi's parallelism here). Runs inside a sandbox; prints {ms, processes} as JSON.
import type * as pulumi from "@pulumi/pulumi";
import { ExecaRunner, type Command, type CommandResult, type Runner } from "../provider/exec";
import { makeProviders } from "../provider/resources";

class CountingRunner implements Runner {
  count = 0;
  constructor(private readonly inner: Runner) {}
  run(command: Command): Promise<CommandResult> {
    this.count++;
    return this.inner.run(command);
  }
}

const TAG = "hostnet:bench/direct";

async function create(provider: pulumi.dynamic.ResourceProvider, news: Record<string, unknown>): Promise<void> {
  const checked = await provider.check!({}, news);
  if (checked.failures?.length) throw new Error(JSON.stringify(checked.failures));
  await provider.create(checked.inputs!);
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? "10");
  const runner = new CountingRunner(new ExecaRunner());
  const p = makeProviders(runner);
  const start = performance.now();
  await create(p.bridge, { name: "br0", addresses: ["10.88.0.1/16"], tag: `${TAG}/br0` });
  await Promise.all([
    create(p.sysctl, { key: "net.ipv4.ip_forward", value: "1" }),
    create(p.sysctl, { key: "net.ipv4.conf.br0.route_localnet", value: "1" }),
    create(p.natrule, { type: "masquerade", source: "10.88.0.0/16", excludeDestination: "10.88.0.0/16", tag: `${TAG}/masq` }),
  ]);
  const afterNetwork = runner.count;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const address = `10.88.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
      const ports = [{ protocol: "tcp", hostPort: 20000 + i, targetPort: 80 }];
      await create(p.endpoint, { namespace: `c${i}`, bridge: "br0", hostInterface: `vh-c${i}`, address: `${address}/16`, gateway: "10.88.0.1", ports, tag: `${TAG}/e${i}` });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const ms = performance.now() - start;
  console.log(JSON.stringify({ ms, processes: runner.count, processesPerContainer: (runner.count - afterNetwork) / n }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
