import type * as pulumi from "@pulumi/pulumi";
import { defaultHost, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

export interface ProbeArgs extends Omit<PlacementArgs, "adopt"> {
  /** Namespace the packets leave from: one of ours, one made by others (by name), or unset for the host
   * (a `ContainerNetwork`'s `namespace` output fits, undefined in host mode). */
  namespace?: pulumi.Input<string | undefined>;
  protocol: pulumi.Input<"icmp" | "tcp" | "udp">;
  /** The target address (IPv4 or IPv6). */
  address: pulumi.Input<string>;
  /** Required for tcp and udp, refused for icmp. */
  port?: pulumi.Input<number>;
  /** `reachable`: the target's stack answers (a reply, a TCP reset or an ICMP port unreachable); `blocked`: it does not. */
  expect: pulumi.Input<"reachable" | "blocked">;
  /** Source address to send from (must be local to the namespace, of the target's family). */
  source?: pulumi.Input<string>;
  /** Echo requests (icmp) or attempts (tcp, udp); default 1. */
  count?: pulumi.Input<number>;
  /** Seconds to wait per attempt; default 2. A `blocked` flow costs all of it. */
  timeout?: pulumi.Input<number>;
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
  /** answer, refused (RST / ICMP port unreachable), unreachable (an ICMP error), no-route, nothing, error. */
  declare readonly evidence: pulumi.Output<string>;
  declare readonly detail: pulumi.Output<string>;

  constructor(name: string, args: ProbeArgs, opts?: pulumi.CustomResourceOptions) {
    super("probe", "Probe", name, { host: defaultHost(), ...args, observed: undefined, evidence: undefined, detail: undefined }, opts);
  }
}
