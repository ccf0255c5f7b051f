import type { Runner } from "../../provider/exec";
import { firewall, listLinks, listNetns, type LinkState, type Netns } from "../../provider/kernel";

export interface NamespaceView {
  /** The netns name, or undefined for the host when it is the namespace the tool runs in. */
  readonly name: Netns;
  readonly label: string;
  readonly links: LinkState[];
}

export interface Topology {
  readonly host: NamespaceView;
  readonly namespaces: NamespaceView[];
  readonly forwards: firewall.ForwardSummary[];
}

/**
 * Reads what the kernel holds, through the provider's own wrappers: the host, every named
 * namespace whose `lo` carries a hostnet tag (optionally only tags starting with `tagPrefix`,
 * i.e. one stack's), their links and addresses, and our port forwards on the host.
 */
export async function readTopology(runner: Runner, options: { host?: string; tagPrefix?: string } = {}): Promise<Topology> {
  const prefix = options.tagPrefix ?? "hostnet:";
  const host: NamespaceView = { name: options.host, label: options.host ? `${options.host} (host)` : "host", links: await listLinks(runner, options.host) };
  const namespaces: NamespaceView[] = [];
  for (const name of (await listNetns(runner)).sort()) {
    if (name === options.host) continue;
    const links = await listLinks(runner, name);
    const lo = links.find((l) => l.name === "lo");
    if (lo?.alias?.startsWith(prefix)) namespaces.push({ name, label: name, links });
  }
  const backend = await firewall.chooseBackend(runner, "auto");
  const forwards = (await backend.forwards(options.host)).filter((f) => f.tag.startsWith(prefix));
  return { host, namespaces, forwards };
}
