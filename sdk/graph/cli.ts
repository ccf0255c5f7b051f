// npm run graph -- [--host NETNS] [--stack PROJECT/STACK] [--out DIR]
// Reads the live topology from the kernel and writes topology.svg, topology.dot and topology.mmd.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ExecaRunner } from "../../provider/exec";
import { toDot, toGraph, toMermaid, toSvg } from "./render";
import { readTopology } from "./topology";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { host: { type: "string" }, stack: { type: "string" }, out: { type: "string", default: "graph" } },
  });
  const tagPrefix = values.stack ? `hostnet:${values.stack}/` : undefined;
  const topology = await readTopology(new ExecaRunner(), { host: values.host, tagPrefix });
  const graph = toGraph(topology);
  const dot = toDot(graph);
  const out = values.out ?? "graph";
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "topology.dot"), dot);
  writeFileSync(join(out, "topology.mmd"), toMermaid(graph));
  writeFileSync(join(out, "topology.svg"), await toSvg(dot));
  const links = [topology.host, ...topology.namespaces].reduce((n, ns) => n + ns.links.length, 0);
  console.log(`${topology.namespaces.length + 1} namespaces, ${links} links, ${topology.forwards.length} port forwards -> ${join(out, "topology.svg")} (.dot, .mmd beside it)`);
}

main().catch((err: unknown) => {
  console.error(`graph: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
