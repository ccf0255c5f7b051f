import * as pulumi from "@pulumi/pulumi";
import { NAMESPACES_PENDING_KEY } from "../provider/resources/dry-run";
import { defaultHost, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

/** A listener for the probe's duration where the target is (see README, "Probes"). */
export interface ResponderArgs {
  /** The namespace that holds the target address; unset: the host. */
  namespace?: pulumi.Input<string | undefined>;
  /** The port the packets arrive on there; default: the probe's `port` (another one after a DNAT). */
  port?: pulumi.Input<number>;
}

export interface ProbeArgs extends Omit<PlacementArgs, "adopt"> {
  /** Namespace the packets leave from: one of ours, one made by others (by name), or unset for the host
   * (a `ContainerNetwork`'s `namespace` output fits, undefined in host mode). */
  namespace?: pulumi.Input<string | undefined>;
  protocol: pulumi.Input<"icmp" | "tcp" | "udp">;
  /** The target address (IPv4 or IPv6). */
  address: pulumi.Input<string>;
  /** Required for tcp and udp, refused for icmp. */
  port?: pulumi.Input<number>;
  /**
   * `reachable`: the target's stack answers (a reply, a TCP reset or an ICMP port unreachable;
   * a firewall's reject looks the same); with a `responder`, the packets arrived at it. `blocked`: not so.
   */
  expect: pulumi.Input<"reachable" | "blocked">;
  /** Source address to send from (must be local to the namespace, of the target's family). */
  source?: pulumi.Input<string>;
  /** Echo requests (icmp) or attempts (tcp, udp); default 1. */
  count?: pulumi.Input<number>;
  /** Seconds to wait per attempt; default 2. A `blocked` flow costs all of it. */
  timeout?: pulumi.Input<number>;
  /** tcp and udp: listen on the target's port in its namespace while probing, for a definite answer. */
  responder?: pulumi.Input<ResponderArgs>;
}

/** Whether a value holds an output or a promise anywhere: a namespace it names may be made by this program. */
function mayBeMadeHere(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return true;
  if (Array.isArray(value)) return value.some(mayBeMadeHere);
  return typeof value === "object" && value !== null && Object.values(value).some(mayBeMadeHere);
}

/**
 * What a Probe or Reachability adds to its inputs: during a preview, whether a namespace it
 * names may not be made yet, so check does not refuse it as missing (see dry-run.ts).
 */
export function pendingNamespaces(namespaces: unknown, opts: pulumi.CustomResourceOptions | undefined): Record<string, boolean> {
  const pending = pulumi.runtime.isDryRun() && (mayBeMadeHere(namespaces) || opts?.dependsOn !== undefined);
  return pending ? { [NAMESPACES_PENDING_KEY]: true } : {};
}

/**
 * A declared flow, proven with real packets on create, update and refresh: `pulumi up` fails
 * when the flow does not behave as `expect` says, and `pulumi refresh` shows a change in
 * `observed` as drift. Use `dependsOn` for what must exist before the packets are sent.
 */
export class Probe extends HostnetResource {
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly protocol: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;
  declare readonly expect: pulumi.Output<string>;
  /** What the last probe saw: "reachable" or "blocked". */
  declare readonly observed: pulumi.Output<string>;
  /** answer, refused (RST / ICMP port unreachable, the target's or a firewall's), unreachable (an ICMP error), no-route, nothing, error. */
  declare readonly evidence: pulumi.Output<string>;
  declare readonly detail: pulumi.Output<string>;

  constructor(name: string, args: ProbeArgs, opts?: pulumi.CustomResourceOptions) {
    const pending = pendingNamespaces([args.namespace, args.responder], opts);
    super("probe", "Probe", name, { host: defaultHost(), ...args, ...pending, observed: undefined, evidence: undefined, detail: undefined }, opts);
  }
}
