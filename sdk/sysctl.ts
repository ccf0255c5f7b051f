import * as pulumi from "@pulumi/pulumi";
import { defaultHost, ownershipTag } from "./common";
import type { Machine } from "./machine";
import { HostnetResource } from "./stub";

export interface SysctlArgs {
  /** A key under net, e.g. net.ipv4.ip_forward or net.ipv4.conf.br0.route_localnet. */
  key: pulumi.Input<string>;
  value: pulumi.Input<string | number>;
  /** Namespace whose value to set (default: the host). */
  namespace?: pulumi.Input<string>;
  host?: pulumi.Input<string>;
  /** The machine to act on, over SSH (default: the one Pulumi runs on). */
  machine?: Machine;
}

/** A sysctl under /proc/sys/net; the value found is restored on delete unless changed since. */
export class Sysctl extends HostnetResource {
  declare readonly key: pulumi.Output<string>;
  declare readonly value: pulumi.Output<string>;
  /** The value found before `pulumi up` set it. */
  declare readonly previous: pulumi.Output<string>;

  constructor(name: string, args: SysctlArgs, opts?: pulumi.CustomResourceOptions) {
    super("sysctl", "Sysctl", name, { host: defaultHost(), ...args, tag: ownershipTag(name), previous: undefined }, opts);
  }
}
