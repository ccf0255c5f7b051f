import type * as pulumi from "@pulumi/pulumi";
import { defaultHost, type PlacementArgs } from "./common";
import { pendingNamespaces, type ProbeArgs } from "./probe";
import { HostnetResource } from "./stub";

/** One declared flow: a Probe's fields, without where it acts (the Reachability gives that). */
export type FlowArgs = Omit<ProbeArgs, "host" | "machine">;

export interface ReachabilityArgs extends Omit<PlacementArgs, "adopt"> {
  /** The flows, each proven with real packets; a flow without `namespace` leaves from `host`. */
  flows: pulumi.Input<pulumi.Input<FlowArgs>[]>;
  /** Flows in flight at once (default 16): blocked flows wait out their timeouts side by side. */
  parallel?: pulumi.Input<number>;
}

/**
 * A network policy's flows as one resource: each is proven as a Probe proves one, side by side,
 * on create, update and refresh. `pulumi up` fails naming every flow that does not behave;
 * `pulumi refresh` shows a change of any flow's `observed` as drift. One engine resource for the
 * whole table: at a hundred flows, far less engine and state work than a hundred Probes.
 */
export class Reachability extends HostnetResource {
  /** One per flow, in order: observed ("reachable" or "blocked"), evidence, detail. */
  declare readonly results: pulumi.Output<{ observed: string; evidence: string; detail: string }[]>;

  constructor(name: string, args: ReachabilityArgs, opts?: pulumi.CustomResourceOptions) {
    super("reachability", "Reachability", name, { host: defaultHost(), ...args, ...pendingNamespaces(args.flows, opts), results: undefined }, opts);
  }
}
