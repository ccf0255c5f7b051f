import { isNotFound, type Runner } from "../exec";
import type { Netns } from "./ip";
import type { IpFamily, Protocol } from "./firewall/types";

/** Connections that a port forward destination-NATed to `target`: what a moved forward must forget. */
export interface ForwardedFlows {
  readonly family: IpFamily;
  readonly protocol: Protocol;
  /** The host port the clients sent to; undefined: any (conntrack matches one port, not a range). */
  readonly hostPort?: number;
  /** The host address they sent to; undefined: any. */
  readonly hostAddress?: string;
  readonly target: string;
  /** The target's port (the reply's source port); undefined: any. */
  readonly targetPort?: number;
}

export function deleteFlowsWords(f: ForwardedFlows): string[] {
  return [
    "conntrack", "-D", "-f", f.family, "-p", f.protocol,
    ...(f.hostAddress ? ["--orig-dst", f.hostAddress] : []),
    ...(f.hostPort !== undefined ? ["--orig-port-dst", String(f.hostPort)] : []),
    "--dst-nat", f.target,
    ...(f.targetPort !== undefined ? ["--reply-port-src", String(f.targetPort)] : []),
  ];
}

/**
 * Deletes the tracked connections of a forward, so that their next packets go through the
 * rules as they are now: a UDP flow (or a TCP one, picked up again mid-stream) would otherwise
 * keep its old destination for as long as it keeps sending (Docker's stale-conntrack bug).
 * None to delete is success.
 */
export async function deleteForwardedFlows(runner: Runner, netns: Netns, flows: ForwardedFlows): Promise<void> {
  try {
    await runner.run({ argv: deleteFlowsWords(flows), netns });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
