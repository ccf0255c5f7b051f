import type { LinkState } from "../../provider/kernel";
import type { NamespaceView, Topology } from "./topology";

interface Node {
  readonly id: string;
  readonly label: string;
  readonly kind: "bridge" | "link" | "port";
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly kind: "veth" | "bridge-port" | "forward";
  readonly label?: string;
}

interface Graph {
  readonly clusters: { id: string; label: string; nodes: Node[] }[];
  readonly edges: Edge[];
}

const idOf = (ns: NamespaceView, link: string) => `${ns.label.replace(/\W/g, "_")}__${link.replace(/\W/g, "_")}`;

function linkLabel(link: LinkState): string {
  const addresses = link.addresses.length ? `\n${link.addresses.join("\n")}` : "";
  return `${link.name}${addresses}`;
}

/**
 * The picture's structure: namespaces as boxes, links as nodes in them, bridges as hubs,
 * veth pairs as edges between their ends (both carry the same hostnet tag), bridge ports as
 * edges to their bridge, port forwards as arrows from a host port to the target's link.
 */
export function toGraph(topology: Topology): Graph {
  const views = [topology.host, ...topology.namespaces];
  const clusters = views.map((ns) => ({
    id: `cluster_${ns.label.replace(/\W/g, "_")}`,
    label: ns.label,
    nodes: ns.links.map<Node>((l) => ({ id: idOf(ns, l.name), label: linkLabel(l), kind: l.kind === "bridge" ? "bridge" : "link" })),
  }));
  const edges: Edge[] = [];
  const ends = new Map<string, string[]>();
  for (const ns of views) {
    for (const link of ns.links) {
      if (link.master) edges.push({ from: idOf(ns, link.master), to: idOf(ns, link.name), kind: "bridge-port" });
      if (link.kind === "veth" && link.alias?.startsWith("hostnet:")) ends.set(link.alias, [...(ends.get(link.alias) ?? []), idOf(ns, link.name)]);
    }
  }
  for (const [, pair] of ends) if (pair.length === 2) edges.push({ from: pair[0]!, to: pair[1]!, kind: "veth" });
  const ports: Node[] = [];
  for (const forward of topology.forwards) {
    const port = { id: `port_${forward.protocol}_${forward.ports.replace(/\W/g, "_")}`, label: `host :${forward.ports}/${forward.protocol}`, kind: "port" as const };
    ports.push(port);
    const targetAddress = forward.to.replace(/:\d+(-\d+)?$/, "");
    const target = views.flatMap((ns) => ns.links.filter((l) => l.addresses.some((a) => a.split("/")[0] === targetAddress)).map((l) => idOf(ns, l.name)))[0];
    if (target) edges.push({ from: port.id, to: target, kind: "forward", label: forward.to });
  }
  if (ports.length) clusters[0]!.nodes.push(...ports);
  return { clusters, edges };
}

const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

export function toDot(graph: Graph): string {
  const lines = ["digraph hostnet {", "  rankdir=LR;", '  graph [fontname="Helvetica"];', '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  for (const cluster of graph.clusters) {
    lines.push(`  subgraph ${cluster.id} {`, `    label=${quote(cluster.label)};`, "    style=rounded; color=gray40;");
    for (const node of cluster.nodes) {
      const shape = node.kind === "bridge" ? "shape=hexagon, style=filled, fillcolor=lightblue" : node.kind === "port" ? "shape=cds, style=filled, fillcolor=lightyellow" : "shape=box";
      lines.push(`    ${node.id} [label=${quote(node.label)}, ${shape}];`);
    }
    lines.push("  }");
  }
  for (const edge of graph.edges) {
    const style = edge.kind === "veth" ? "dir=none, penwidth=2, label=veth" : edge.kind === "bridge-port" ? "dir=none, style=dashed" : `color=darkorange, label=${quote(edge.label ?? "")}`;
    lines.push(`  ${edge.from} -> ${edge.to} [${style}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

export function toMermaid(graph: Graph): string {
  const text = (s: string) => `"${s.replace(/"/g, "'").replace(/\n/g, "<br/>")}"`;
  const lines = ["flowchart LR"];
  for (const cluster of graph.clusters) {
    lines.push(`  subgraph ${cluster.id}[${text(cluster.label)}]`);
    for (const node of cluster.nodes) lines.push(node.kind === "bridge" ? `    ${node.id}{{${text(node.label)}}}` : `    ${node.id}[${text(node.label)}]`);
    lines.push("  end");
  }
  for (const edge of graph.edges) {
    lines.push(edge.kind === "veth" ? `  ${edge.from} ===|veth| ${edge.to}` : edge.kind === "bridge-port" ? `  ${edge.from} --- ${edge.to}` : `  ${edge.from} -->|${edge.label ?? ""}| ${edge.to}`);
  }
  return `${lines.join("\n")}\n`;
}

/** SVG of the DOT text, laid out by Graphviz (compiled to WebAssembly by @viz-js/viz). */
export async function toSvg(dot: string): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  return viz.renderString(dot, { format: "svg", engine: "dot" });
}
