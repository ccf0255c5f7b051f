import * as pulumi from "@pulumi/pulumi";
import { defaultHost, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

export interface RouteArgs extends PlacementArgs {
  /** Namespace whose routing table gets the route (default: the host). */
  namespace?: pulumi.Input<string>;
  /** "default" or a network in CIDR form, e.g. 10.11.1.0/24. */
  destination: pulumi.Input<string>;
  /** For "default" without an IPv6 `via`: which family (default ipv4). */
  family?: pulumi.Input<"ipv4" | "ipv6">;
  /** Gateway address. */
  via?: pulumi.Input<string>;
  /** Output device. */
  device?: pulumi.Input<string>;
  metric?: pulumi.Input<number>;
  /** Routing table: main (default), local, default, or a number. */
  table?: pulumi.Input<string>;
  /** Preferred source address. */
  source?: pulumi.Input<string>;
}

/** A static route, marked as ours by its protocol number (212). */
export class Route extends HostnetResource {
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly destination: pulumi.Output<string>;
  declare readonly via: pulumi.Output<string | undefined>;
  declare readonly device: pulumi.Output<string | undefined>;
  declare readonly metric: pulumi.Output<number | undefined>;
  declare readonly table: pulumi.Output<string>;
  declare readonly source: pulumi.Output<string | undefined>;
  declare readonly protocol: pulumi.Output<string>;

  constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
    super("route", "Route", name, { host: defaultHost(), table: "main", adopt: false, ...args, protocol: undefined }, opts);
  }
}
