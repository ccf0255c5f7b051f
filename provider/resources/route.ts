import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addRoute, deleteRoute, OUR_ROUTE_PROTOCOL, replaceRoute, showRoute, type RouteSpec } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { familyOf, interfaceName, ipAddress, maybeFamilyOf, netnsName, networkCidr } from "./validation";

const tableName = z.union([
  z.enum(["main", "local", "default"]),
  z.string().regex(/^[0-9]+$/, "table must be main, local, default or a number from 1 to 4294967295"),
]);

export const routeInputs = z
  .object({
    namespace: netnsName.optional(),
    host: netnsName.optional(),
    destination: z.union([z.literal("default"), networkCidr]),
    /** IPv6 default routes are written "default" too; this says which family it is for. */
    family: z.enum(["ipv4", "ipv6"]).optional(),
    via: ipAddress.optional(),
    device: interfaceName.optional(),
    metric: z.number().int().min(0).max(4294967295).optional(),
    table: tableName.default("main"),
    source: ipAddress.optional(),
    adopt: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    if (!r.via && !r.device) ctx.addIssue({ code: "custom", path: ["via"], message: "a route needs `via` (a gateway), `device`, or both" });
    const family = r.destination === "default" ? (r.family ?? (r.via ? maybeFamilyOf(r.via) : "ipv4")) : maybeFamilyOf(r.destination);
    for (const field of ["via", "source"] as const) {
      const value = r[field];
      const valueFamily = value ? maybeFamilyOf(value) : undefined;
      if (family && valueFamily && valueFamily !== family) ctx.addIssue({ code: "custom", path: [field], message: `${value} is ${valueFamily} but the route is ${family}` });
    }
  });
export type RouteInputs = z.infer<typeof routeInputs>;

export interface RouteOutputs extends RouteInputs {
  readonly protocol: string;
  readonly schemaVersion: number;
}

function specOf(r: RouteInputs): RouteSpec {
  return { destination: r.destination, via: r.via, device: r.device, metric: r.metric, table: r.table, source: r.source, family: isV6(r) ? "ipv6" : "ipv4" };
}

function isV6(r: RouteInputs): boolean {
  return r.destination === "default" ? r.family === "ipv6" || (!!r.via && familyOf(r.via) === "ipv6") : familyOf(r.destination) === "ipv6";
}

function describe(r: RouteInputs): string {
  return `route ${r.destination}${r.metric !== undefined ? ` metric ${r.metric}` : ""} (table ${r.table}) in ${describeWhere(whereOf(r.namespace, r.host))}`;
}

/**
 * A route. Routes carry no alias, so ours are marked by their protocol number; one that
 * exists with another protocol is refused unless adopted.
 */
export class RouteProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(routeInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "destination", change: "replace" },
      { path: "family", change: "replace" },
      { path: "table", change: "replace" },
      { path: "via", change: "update" },
      { path: "device", change: "update", optional: true },
      { path: "metric", change: "update" },
      { path: "source", change: "update" },
    ], [["namespace", "host", "destination", "table", "metric"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = routeInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const spec = specOf(inputs);
    try {
      // Add first and look only when the route is there already: one process in the usual case.
      await addRoute(this.runner, where, spec);
    } catch (err) {
      const existing = isExists(err) ? await showRoute(this.runner, where, spec) : undefined;
      if (!existing) throw err;
      if (!existing.ours && !inputs.adopt) {
        throw new Error(`${describe(inputs)} already exists (proto ${existing.protocol}) and was not created by pulumi-hostnet; to manage it from this resource, set \`adopt: true\``);
      }
      await replaceRoute(this.runner, where, spec);
    }
    return { id: `route/${idPart(where)}/${inputs.table}/${inputs.destination}/${inputs.metric ?? "-"}`, outs: this.outputs(inputs) };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as RouteOutputs;
    const state = await showRoute(this.runner, whereOf(stored.namespace, stored.host), specOf(stored));
    if (!state) return { id: "", props: {} };
    return { id, props: { ...stored, via: state.via, device: stored.device === undefined ? undefined : state.device, source: state.source, protocol: state.protocol } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const before = olds as unknown as RouteOutputs;
    const inputs = routeInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    if ((before.metric ?? undefined) !== (inputs.metric ?? undefined)) {
      // The metric is part of the route's key: add the new route, then remove the old one.
      await addRoute(this.runner, where, specOf(inputs));
      await deleteRoute(this.runner, where, specOf(before));
    } else {
      await replaceRoute(this.runner, where, specOf(inputs));
    }
    return { outs: this.outputs(inputs) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as RouteOutputs;
    await deleteRoute(this.runner, whereOf(stored.namespace, stored.host), specOf(stored));
  }

  /** What we just wrote; `ip route add/replace` fails rather than half-apply, so no read-back. */
  private outputs(inputs: RouteInputs): RouteOutputs {
    return { ...inputs, protocol: String(OUR_ROUTE_PROTOCOL), schemaVersion: SCHEMA_VERSION };
  }
}
