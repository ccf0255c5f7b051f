// npm run bench [-- --sizes 10,50,200 --runs 3] [--probes 100 --probe-containers 50]
// N bridge-mode containers with masquerade and one port forward each, built four ways side by
// side in one run, each in a fresh sandbox:
//   shell   the seeds' way: one ip/iptables process per step
//   floor   one `ip -batch` for the host, one per container netns, one `nft -f`
//   direct  the provider's create functions called directly (no engine)
//   pulumi  `pulumi up` of the same topology with the components, then a no-op up, refresh,
//           destroy; and `pulumi up` and `destroy` with PULUMI_SKIP_CHECKPOINTS=true (tuned)
//   engine  as many dynamic resources, whose provider does nothing: Pulumi's own cost, the
//           floor under every pulumi row
// Prints a table (median and min-max of the runs, ratio to the floor) and writes bench-results.json.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Lab } from "../test/support/lab";
import { Sandbox } from "../test/support/sandbox";

const root = resolve(__dirname, "../..");

const addressOf = (i: number) => `10.88.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;

function shellScript(n: number): string {
  const lines = [
    "set -e",
    "ip link add br0 type bridge",
    "ip addr add 10.88.0.1/16 dev br0",
    "ip link set br0 up",
    "sysctl -qw net.ipv4.ip_forward=1",
    "sysctl -qw net.ipv4.conf.br0.route_localnet=1",
    "iptables -w -t nat -A POSTROUTING -s 10.88.0.0/16 ! -d 10.88.0.0/16 -j MASQUERADE",
  ];
  // As the seeds do it: make the pair, move one end into the namespace, then configure each
  // end with its own process, using `ip netns exec` inside the namespace.
  for (let i = 0; i < n; i++) {
    const a = addressOf(i);
    lines.push(
      `ip netns add c${i}`,
      `ip link add vh-c${i} type veth peer name ce-c${i}`,
      `ip link set ce-c${i} netns c${i}`,
      `ip link set vh-c${i} master br0`,
      `ip link set vh-c${i} up`,
      `ip netns exec c${i} ip addr add ${a}/16 dev ce-c${i}`,
      `ip netns exec c${i} ip link set ce-c${i} up`,
      `ip netns exec c${i} ip link set lo up`,
      `ip netns exec c${i} ip route add default via 10.88.0.1`,
      `iptables -w -t nat -A PREROUTING -m addrtype --dst-type LOCAL -p tcp --dport ${20000 + i} -j DNAT --to-destination ${a}:80`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function floorFiles(n: number, dir: string): string {
  const host = ["link add br0 type bridge", "addr add 10.88.0.1/16 dev br0", "link set br0 up"];
  const nft = ["table ip floor {", "  chain pre { type nat hook prerouting priority dstnat; }", "  chain post { type nat hook postrouting priority srcnat; ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade; }", "}"];
  const driver = ["set -e", "sysctl -qw net.ipv4.ip_forward=1", `ip -batch ${dir}/host.batch`, "sysctl -qw net.ipv4.conf.br0.route_localnet=1"];
  for (let i = 0; i < n; i++) {
    host.push(`netns add c${i}`, `link add vh-c${i} type veth peer name eth0 netns c${i}`, `link set vh-c${i} master br0 up`);
    writeFileSync(join(dir, `c${i}.batch`), [`addr add ${addressOf(i)}/16 dev eth0`, "link set eth0 up", "link set lo up", "route add default via 10.88.0.1"].join("\n") + "\n");
    driver.push(`ip -n c${i} -batch ${dir}/c${i}.batch`);
    nft.push(`add rule ip floor pre fib daddr type local tcp dport ${20000 + i} dnat to ${addressOf(i)}:80`);
  }
  writeFileSync(join(dir, "host.batch"), host.join("\n") + "\n");
  writeFileSync(join(dir, "rules.nft"), nft.join("\n") + "\n");
  driver.push(`nft -f ${dir}/rules.nft`);
  writeFileSync(join(dir, "floor.sh"), driver.join("\n") + "\n");
  return join(dir, "floor.sh");
}

function pulumiProgram(n: number, options: { movedForward?: boolean } = {}): string {
  // movedForward: the first container's forward moves from host port 20000 to 30000.
  return `"use strict";
const hostnet = require("pulumi-hostnet");
const net = new hostnet.BridgeNetwork("net", { bridgeName: "br0", subnet: "10.88.0.0/16", masquerade: true });
for (let i = 0; i < ${n}; i++) {
  const a = "10.88." + Math.floor((i + 2) / 256) + "." + ((i + 2) % 256);
  const hostPort = ${options.movedForward ? "i === 0 ? 30000 : " : ""}20000 + i;
  new hostnet.ContainerNetwork("c" + i, { mode: "bridge", network: net, address: a, ports: [{ hostPort, containerPort: 80 }] });
}
`;
}

/**
 * Pulumi's engine alone: as many dynamic resources as the pulumi program's state holds, with
 * inputs of the same shape, served by a provider that does nothing (no process, no kernel).
 * What `pulumi` costs on this machine before any work of ours.
 */
function engineProgram(resources: number): string {
  return `"use strict";
const pulumi = require("@pulumi/pulumi");
const providerModule = \`exports.handler = () => ({
  async check(olds, news) { return { inputs: news }; },
  async diff() { return { changes: false }; },
  async create(inputs) { return { id: "x", outs: inputs }; },
  async read(id, props) { return { id, props }; },
  async delete() {},
});\\n\`;
class Nothing extends pulumi.CustomResource {
  constructor(name, props) { super("pulumi-nodejs:dynamic/bench:Nothing", name, { ...props, __provider: providerModule }); }
}
for (let i = 0; i < ${resources}; i++) {
  new Nothing("r" + i, { namespace: "c" + i, bridge: "br0", hostInterface: "vh-c" + i, address: "10.88.0." + (i % 250) + "/16", gateway: "10.88.0.1", ports: [{ protocol: "tcp", hostPort: 20000 + i, targetPort: 80 }], tag: "hostnet:bench/bench/c" + i });
}
`;
}

async function timed(sandbox: Sandbox, argv: string[], env: Record<string, string> = {}): Promise<number> {
  const envArgv = Object.keys(env).length ? ["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`)] : [];
  const start = performance.now();
  await sandbox.runner.run({ argv: [...envArgv, ...argv], timeoutMs: 1_800_000 });
  return performance.now() - start;
}

/** Fraction of the wall time [start, end] during which at least one provider call ran. */
function providerShare(traceFile: string, start: number, end: number): number {
  const calls = readFileSync(traceFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { start: number; end: number });
  const inside = calls.filter((c) => c.start >= start && c.end <= end).sort((a, b) => a.start - b.start);
  let busy = 0;
  let cursor = start;
  for (const c of inside) {
    const from = Math.max(c.start, cursor);
    if (c.end > from) busy += c.end - from;
    cursor = Math.max(cursor, c.end);
  }
  return busy / (end - start);
}

type Sample = Record<string, number>;

async function runOnce(n: number, work: string): Promise<Sample> {
  const sample: Sample = {};
  // shell
  let sandbox = await Sandbox.create();
  writeFileSync(join(work, "shell.sh"), shellScript(n));
  sample.shell = await timed(sandbox, ["bash", join(work, "shell.sh")]);
  await sandbox.destroy();
  // floor
  sandbox = await Sandbox.create();
  const floor = floorFiles(n, work);
  sample.floor = await timed(sandbox, ["bash", floor]);
  await sandbox.destroy();
  // direct
  sandbox = await Sandbox.create();
  const direct = JSON.parse(await sandbox.run([process.execPath, join(root, "dist/bench/direct.js"), String(n)])) as { ms: number; processesPerContainer: number };
  sample.direct = direct.ms;
  sample.directProcessesPerContainer = direct.processesPerContainer;
  await sandbox.destroy();
  // pulumi
  sandbox = await Sandbox.create();
  const project = join(root, "test", ".work", `bench-${n}`);
  rmSync(project, { recursive: true, force: true });
  mkdirSync(join(project, "state"), { recursive: true });
  writeFileSync(join(project, "Pulumi.yaml"), "name: bench\nruntime: nodejs\nmain: index.js\n");
  writeFileSync(join(project, "index.js"), pulumiProgram(n));
  const trace = join(project, "trace.jsonl");
  writeFileSync(trace, "");
  const env = { PULUMI_BACKEND_URL: `file://${join(project, "state")}`, PULUMI_CONFIG_PASSPHRASE: "bench", HOSTNET_TRACE_FILE: trace, NODE_OPTIONS: "" };
  const pulumi = (args: string[]) => ["pulumi", ...args, "--non-interactive", "--cwd", project, "--stack", "bench"];
  await timed(sandbox, ["pulumi", "stack", "init", "bench", "--non-interactive", "--cwd", project], env);
  const upStart = Date.now();
  sample.pulumiUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  sample.providerShareOfUp = providerShare(trace, upStart, Date.now());
  sample.pulumiNoopUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  sample.pulumiPreview = await timed(sandbox, pulumi(["preview"]), env);
  sample.pulumiRefresh = await timed(sandbox, pulumi(["refresh", "--yes", "--skip-preview"]), env);
  // What the state holds: engine resources and bytes, per container.
  const exported = JSON.parse((await sandbox.runner.run({ argv: ["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...pulumi(["stack", "export"])] })).stdout) as { deployment: { resources: unknown[] } };
  sample.engineResourcesPerContainer = exported.deployment.resources.length / n;
  sample.stateBytesPerContainer = JSON.stringify(exported).length / n;
  // One change on a stack of N: a container added, then a forward moved to another port.
  writeFileSync(join(project, "index.js"), pulumiProgram(n + 1));
  sample.pulumiUpAddOne = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  writeFileSync(join(project, "index.js"), pulumiProgram(n + 1, { movedForward: true }));
  sample.pulumiUpMoveForward = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  sample.pulumiDestroy = await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), env);
  writeFileSync(join(project, "index.js"), pulumiProgram(n));
  await sandbox.destroy();
  // The engine's lever: no checkpoint after every step (the file backend rewrites the whole
  // state each time; the final state is still written), at the default parallelism.
  sandbox = await Sandbox.create();
  const tuned = { ...env, PULUMI_SKIP_CHECKPOINTS: "true" };
  sample.pulumiUpTuned = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), tuned);
  sample.pulumiDestroyTuned = await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), tuned);
  await sandbox.destroy();
  // The engine alone, on as many resources as the state held: the floor under every pulumi row.
  const resources = Math.round(sample.engineResourcesPerContainer * n);
  sandbox = await Sandbox.create();
  rmSync(join(project, "state"), { recursive: true, force: true });
  mkdirSync(join(project, "state"), { recursive: true });
  writeFileSync(join(project, "index.js"), engineProgram(resources));
  await timed(sandbox, ["pulumi", "stack", "init", "bench", "--non-interactive", "--cwd", project], env);
  sample.engineUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  sample.engineNoopUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  sample.enginePreview = await timed(sandbox, pulumi(["preview"]), env);
  sample.engineRefresh = await timed(sandbox, pulumi(["refresh", "--yes", "--skip-preview"]), env);
  writeFileSync(join(project, "index.js"), engineProgram(resources + 1));
  sample.engineUpAddOne = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  sample.engineDestroy = await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), env);
  writeFileSync(join(project, "index.js"), engineProgram(resources));
  sample.engineUpTuned = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), tuned);
  await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), tuned);
  await sandbox.destroy();
  rmSync(project, { recursive: true, force: true });
  return sample;
}

/** The multi-machine program: the same containers, `perMachine` on each of two machines over SSH, one overlay. */
function overlayProgram(lab: Lab, perMachine: number): string {
  return `"use strict";
const pulumi = require("@pulumi/pulumi");
const hostnet = require("pulumi-hostnet");
${lab.machinesSource(2)}
const net = new hostnet.OverlayNetwork("net", { subnet: "10.88.0.0/16", vni: 42, machines: [{ machine: m1, address: "192.168.77.1" }, { machine: m2, address: "192.168.77.2" }] });
for (const [m, machine] of [[0, m1], [1, m2]]) {
  for (let i = 0; i < ${perMachine}; i++) {
    const k = m * ${perMachine} + i + 3;
    const a = "10.88." + Math.floor(k / 256) + "." + (k % 256);
    new hostnet.ContainerNetwork("c" + m + "-" + i, { mode: "bridge", network: net, machine, address: a, namespaceName: "c" + i, hostInterfaceName: "vh-c" + i, ports: [{ hostPort: 20000 + i, containerPort: 80 }] });
  }
}
`;
}

/**
 * 2 x N containers on two machines over SSH against 2N on the local machine, both with
 * Pulumi's defaults, in one run; and SSH round trips per remote container.
 */
async function runMultihost(perMachine: number): Promise<Sample> {
  const sample: Sample = {};
  const project = join(root, "test", ".work", `bench-mh-${perMachine}`);
  const prepare = (program: string) => {
    rmSync(project, { recursive: true, force: true });
    mkdirSync(join(project, "state"), { recursive: true });
    writeFileSync(join(project, "Pulumi.yaml"), "name: bench\nruntime: nodejs\nmain: index.js\n");
    writeFileSync(join(project, "index.js"), program);
    writeFileSync(join(project, "trace.jsonl"), "");
  };
  const env = { PULUMI_BACKEND_URL: `file://${join(project, "state")}`, PULUMI_CONFIG_PASSPHRASE: "bench", HOSTNET_TRACE_FILE: join(project, "trace.jsonl"), NODE_OPTIONS: "" };
  const pulumi = (args: string[]) => ["pulumi", ...args, "--non-interactive", "--cwd", project, "--stack", "bench"];
  // Local: 2N containers on one machine.
  let sandbox = await Sandbox.create();
  prepare(pulumiProgram(2 * perMachine));
  await timed(sandbox, ["pulumi", "stack", "init", "bench", "--non-interactive", "--cwd", project], env);
  sample.localUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
  await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), env);
  await sandbox.destroy();
  // Remote: N on each of two machines.
  sandbox = await Sandbox.create();
  const lab = await Lab.create(sandbox, 2);
  try {
    prepare(overlayProgram(lab, perMachine));
    await timed(sandbox, ["pulumi", "stack", "init", "bench", "--non-interactive", "--cwd", project], env);
    sample.remoteUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
    const trips = readFileSync(join(project, "trace.jsonl"), "utf8").split("\n").filter((l) => l.includes('"kind":"ssh"')).length;
    sample.roundTripsPerContainer = trips / (2 * perMachine);
    sample.remoteNoopUp = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), env);
    sample.remoteDestroy = await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), env);
  } finally {
    await lab.destroy();
    await sandbox.destroy();
    rmSync(project, { recursive: true, force: true });
  }
  return sample;
}

/** The flows of the probe bench, as JavaScript objects: a quarter each icmp to the gateway, tcp to a neighbour (a reset), udp to the gateway (port unreachable), and a blocked flow. */
function flowsSource(n: number): string {
  return `function flowOf(i) {
  const from = "c" + (i % ${n});
  const neighbour = "10.88." + Math.floor((((i + 1) % ${n}) + 2) / 256) + "." + ((((i + 1) % ${n}) + 2) % 256);
  const flow = [
    { protocol: "icmp", address: "10.88.0.1", expect: "reachable" },
    { protocol: "tcp", address: neighbour, port: 80, expect: "reachable" },
    { protocol: "udp", address: "10.88.0.1", port: 9, expect: "reachable" },
    { protocol: "icmp", address: "10.99.0.1", expect: "blocked", timeout: 1 },
  ][i % 4];
  return { namespace: from, ...flow };
}
`;
}

/** The same containers with `probes` flows over them: one Probe each, or all of them in one Reachability. */
function probeProgram(n: number, probes: number, asOneSet = false): string {
  const declare = asOneSet
    ? `new hostnet.Reachability("flows", { flows: Array.from({ length: ${probes} }, (_, i) => flowOf(i)) }, { dependsOn: Object.values(byName) });`
    : `for (let i = 0; i < ${probes}; i++) new hostnet.Probe("p" + i, flowOf(i), { dependsOn: [byName[flowOf(i).namespace]] });`;
  return `${pulumiProgram(n)}
${flowsSource(n)}
${declare}
`.replace("new hostnet.ContainerNetwork(", "byName[\"c\" + i] = new hostnet.ContainerNetwork(").replace("for (let i = 0;", "const byName = {};\nfor (let i = 0;");
}

/**
 * `pulumi up` of N containers without and with `probes` flows (as Probes, and as one
 * Reachability), each in a fresh sandbox, with Pulumi's defaults and with checkpoints skipped,
 * and a refresh with them.
 */
async function runProbes(n: number, probes: number): Promise<Sample> {
  const sample: Sample = {};
  const project = join(root, "test", ".work", `bench-probe-${n}`);
  const env = { PULUMI_BACKEND_URL: `file://${join(project, "state")}`, PULUMI_CONFIG_PASSPHRASE: "bench", NODE_OPTIONS: "" };
  const tuned = { ...env, PULUMI_SKIP_CHECKPOINTS: "true" };
  const pulumi = (args: string[]) => ["pulumi", ...args, "--non-interactive", "--cwd", project, "--stack", "bench"];
  const variants = [
    ["upWithout", pulumiProgram(n), env],
    ["upWith", probeProgram(n, probes), env],
    ["upWithSet", probeProgram(n, probes, true), env],
    ["upWithoutTuned", pulumiProgram(n), tuned],
    ["upWithTuned", probeProgram(n, probes), tuned],
  ] as const;
  for (const [key, program, environment] of variants) {
    rmSync(project, { recursive: true, force: true });
    mkdirSync(join(project, "state"), { recursive: true });
    writeFileSync(join(project, "Pulumi.yaml"), "name: bench\nruntime: nodejs\nmain: index.js\n");
    writeFileSync(join(project, "index.js"), program);
    const sandbox = await Sandbox.create();
    try {
      await timed(sandbox, ["pulumi", "stack", "init", "bench", "--non-interactive", "--cwd", project], environment);
      sample[key] = await timed(sandbox, pulumi(["up", "--yes", "--skip-preview"]), environment);
      if (key === "upWith") sample.refreshWith = await timed(sandbox, pulumi(["refresh", "--yes", "--skip-preview"]), environment);
      if (key === "upWithSet") sample.refreshWithSet = await timed(sandbox, pulumi(["refresh", "--yes", "--skip-preview"]), environment);
      await timed(sandbox, pulumi(["destroy", "--yes", "--skip-preview"]), environment);
    } finally {
      await sandbox.destroy();
      rmSync(project, { recursive: true, force: true });
    }
  }
  return sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sizes: { type: "string", default: "10,50,200" }, runs: { type: "string", default: "3" }, multihost: { type: "string", default: "50" }, probes: { type: "string", default: "0" }, "probe-containers": { type: "string", default: "50" }, out: { type: "string", default: "bench-results.json" } },
  });
  const sizes = (values.sizes ?? "10,50,200").split(",").filter(Boolean).map(Number);
  const perMachine = Number(values.multihost ?? "50");
  const runs = Number(values.runs ?? "3");
  const work = join(tmpdir(), `hostnet-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const results: Record<string, Record<string, { median: number; min: number; max: number }>> = {};
  for (const n of sizes) {
    const samples: Sample[] = [];
    for (let r = 0; r < runs; r++) {
      process.stderr.write(`N=${n} run ${r + 1}/${runs}...\n`);
      samples.push(await runOnce(n, work));
    }
    results[n] = Object.fromEntries(
      Object.keys(samples[0]!).map((k) => {
        const xs = samples.map((s) => s[k]!);
        return [k, { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }];
      }),
    );
  }
  rmSync(work, { recursive: true, force: true });
  const multihost: Sample[] = [];
  for (let r = 0; perMachine > 0 && r < runs; r++) {
    process.stderr.write(`2 machines x ${perMachine} run ${r + 1}/${runs}...\n`);
    multihost.push(await runMultihost(perMachine));
  }
  // Optional (--probes 100): N containers with and without that many Probes, once.
  const probes = Number(values.probes ?? "0");
  const probeContainers = Number(values["probe-containers"] ?? "50");
  const probeSample = probes > 0 ? await runProbes(probeContainers, probes) : undefined;
  const mh = multihost.length
    ? Object.fromEntries(Object.keys(multihost[0]!).map((k) => { const xs = multihost.map((s) => s[k]!); return [k, { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }]; }))
    : undefined;
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, Linux, ${process.version}`;
  writeFileSync(values.out ?? "bench-results.json", JSON.stringify({ date: new Date().toISOString(), machine, runs, results, ...(mh ? { multihost: { perMachine, ...mh } } : {}), ...(probeSample ? { probes: { containers: probeContainers, probes, ...probeSample } } : {}) }, null, 2) + "\n");
  const fmt = (v: { median: number; min: number; max: number }) => `${(v.median / 1000).toFixed(2)} s (${(v.min / 1000).toFixed(2)}-${(v.max / 1000).toFixed(2)})`;
  const rows = ["shell", "floor", "direct", "pulumiUp", "pulumiNoopUp", "pulumiPreview", "pulumiRefresh", "pulumiUpAddOne", "pulumiUpMoveForward", "pulumiDestroy", "pulumiUpTuned", "pulumiDestroyTuned", "engineUp", "engineNoopUp", "enginePreview", "engineRefresh", "engineUpAddOne", "engineDestroy", "engineUpTuned"];
  console.log(`machine: ${machine}; median of ${runs} runs (min-max); ratio to floor`);
  if (mh) {
    console.log(`| several machines (Pulumi's defaults) | time |`);
    console.log(`|---|---|`);
    console.log(`| pulumi up, ${2 * perMachine} containers on the local machine | ${fmt(mh.localUp!)} |`);
    console.log(`| pulumi up, ${perMachine} on each of 2 machines over SSH | ${fmt(mh.remoteUp!)} (${(mh.remoteUp!.median / mh.localUp!.median).toFixed(2)}x local) |`);
    console.log(`| no-op pulumi up / destroy, over SSH | ${fmt(mh.remoteNoopUp!)} / ${fmt(mh.remoteDestroy!)} |`);
    console.log(`| SSH round trips per remote container (up) | ${mh.roundTripsPerContainer!.median.toFixed(1)} |`);
  }
  if (probeSample) {
    const s = (k: string) => `${((probeSample[k] ?? NaN) / 1000).toFixed(2)} s`;
    console.log(`| probes (one run) | time |`);
    console.log(`|---|---|`);
    console.log(`| pulumi up, ${probeContainers} containers | ${s("upWithout")} |`);
    const added = (a: string, b: string) => `+${(((probeSample[a] ?? NaN) - (probeSample[b] ?? NaN)) / 1000).toFixed(2)} s`;
    console.log(`| pulumi up, ${probeContainers} containers and ${probes} Probes | ${s("upWith")} (${added("upWith", "upWithout")}) |`);
    console.log(`| pulumi up, ${probeContainers} containers and one Reachability of ${probes} flows | ${s("upWithSet")} (${added("upWithSet", "upWithout")}) |`);
    console.log(`| pulumi up, checkpoints skipped: ${probeContainers} containers / and ${probes} Probes | ${s("upWithoutTuned")} / ${s("upWithTuned")} (${added("upWithTuned", "upWithoutTuned")}) |`);
    console.log(`| pulumi refresh, with the Probes / with the Reachability | ${s("refreshWith")} / ${s("refreshWithSet")} |`);
  }
  if (sizes.length === 0) return;
  console.log(`| method | ${sizes.map((n) => `N=${n}`).join(" | ")} |`);
  console.log(`|---|${sizes.map(() => "---").join("|")}|`);
  for (const row of rows) {
    console.log(`| ${row} | ${sizes.map((n) => { const v = results[n]![row]!; return `${fmt(v)} ${(v.median / results[n]!.floor!.median).toFixed(1)}x`; }).join(" | ")} |`);
  }
  console.log(`| provider processes per container | ${sizes.map((n) => results[n]!.directProcessesPerContainer!.median.toFixed(1)).join(" | ")} |`);
  console.log(`| engine resources per container (state) | ${sizes.map((n) => results[n]!.engineResourcesPerContainer!.median.toFixed(2)).join(" | ")} |`);
  console.log(`| state bytes per container | ${sizes.map((n) => results[n]!.stateBytesPerContainer!.median.toFixed(0)).join(" | ")} |`);
  console.log(`| share of pulumi up inside provider calls | ${sizes.map((n) => `${(results[n]!.providerShareOfUp!.median * 100).toFixed(0)}%`).join(" | ")} |`);
  if (sizes.includes(50) && sizes.includes(200)) {
    const slope = (k: string) => ((results[200]![k]!.median - results[50]![k]!.median) / 150).toFixed(1);
    console.log(`slope from N=50 to N=200, ms per added container: shell ${slope("shell")}, floor ${slope("floor")}, direct ${slope("direct")}, pulumi up ${slope("pulumiUp")}, pulumi up with checkpoints skipped ${slope("pulumiUpTuned")}`);
  }
  if (sizes.includes(200)) {
    const at = (k: string) => results[200]![k]!.median;
    console.log(`the engine alone at N=200 (a provider that does nothing): up ${(at("engineUp") / 1000).toFixed(1)} s = ${(at("engineUp") / at("shell")).toFixed(2)}x shell, checkpoints skipped ${(at("engineUpTuned") / 1000).toFixed(1)} s, no-op up ${(at("engineNoopUp") / 1000).toFixed(1)} s, refresh ${(at("engineRefresh") / 1000).toFixed(1)} s, one added resource ${(at("engineUpAddOne") / 1000).toFixed(1)} s`);
    console.log(`targets at N=200: pulumi up (defaults) / shell = ${(at("pulumiUp") / at("shell")).toFixed(2)} (target <= 1.2); checkpoints skipped / shell = ${(at("pulumiUpTuned") / at("shell")).toFixed(2)} (target < 1); no-op up ${(at("pulumiNoopUp") / 1000).toFixed(1)} s, refresh ${(at("pulumiRefresh") / 1000).toFixed(1)} s, one added container ${(at("pulumiUpAddOne") / 1000).toFixed(1)} s (targets <= 3 s)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
