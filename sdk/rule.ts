import * as pulumi from "@pulumi/pulumi";
import { defaultHost, type PlacementArgs } from "./common";
import { HostnetResource } from "./stub";

export interface RoutingRuleArgs extends Omit<PlacementArgs, "adopt"> {
  /** Namespace whose rules get it (default: the host). */
  namespace?: pulumi.Input<string>;
  /** Required: rules are tried in priority order; 1 to 4294967295. */
  priority: pulumi.Input<number>;
  /** Inferred from `from`/`to`; ipv4 when neither is given. */
  family?: pulumi.Input<"ipv4" | "ipv6">;
  /** Source network or address, e.g. 10.0.3.0/24 or 10.0.3.7. */
  from?: pulumi.Input<string>;
  to?: pulumi.Input<string>;
  /** Incoming interface ("lo" for locally generated traffic). */
  iif?: pulumi.Input<string>;
  oif?: pulumi.Input<string>;
  fwmark?: pulumi.Input<number>;
  fwmask?: pulumi.Input<number>;
  /** lookup (default), blackhole, unreachable or prohibit. */
  action?: pulumi.Input<"lookup" | "blackhole" | "unreachable" | "prohibit">;
  /** For lookup: a number, or a name already in /etc/iproute2/rt_tables (main by default). */
  table?: pulumi.Input<string | number>;
}

/**
 * A policy routing rule (`ip rule add ... protocol 212`), marked as ours by its protocol like
 * our routes. Rules of others are never touched, so there is no `adopt`.
 */
export class RoutingRule extends HostnetResource {
  declare readonly namespace: pulumi.Output<string | undefined>;
  declare readonly priority: pulumi.Output<number>;
  declare readonly family: pulumi.Output<string>;
  declare readonly from: pulumi.Output<string | undefined>;
  declare readonly to: pulumi.Output<string | undefined>;
  declare readonly action: pulumi.Output<string>;
  declare readonly table: pulumi.Output<string | undefined>;
  declare readonly tableId: pulumi.Output<string | undefined>;
  declare readonly protocol: pulumi.Output<string>;

  constructor(name: string, args: RoutingRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super("rule", "RoutingRule", name, { host: defaultHost(), ...args, tableId: undefined, protocol: undefined }, opts);
  }
}
