import type * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import type { Runner } from "../exec";
import { deleteNeighbor, replaceNeighbor, showNeighbor, type NeighborSpec } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { familyOf, interfaceName, ipAddress, netnsName } from "./validation";

const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, "mac must be six hex bytes separated by ':' (e.g. 02:00:00:00:00:05)")
  .transform((m) => m.toLowerCase());

export const neighborInputs = z.object({
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  device: interfaceName,
  /** Kept in the kernel's spelling (IPv6 compressed) so reads compare as text. */
  address: ipAddress.transform((a) => ipaddr.parse(a).toString()),
  mac: macAddress,
  adopt: z.boolean().default(false),
});
export type NeighborInputs = z.infer<typeof neighborInputs>;

export interface NeighborOutputs extends NeighborInputs {
  readonly family: "ipv4" | "ipv6";
  readonly schemaVersion: number;
}

function specOf(n: Pick<NeighborInputs, "address" | "mac" | "device">): NeighborSpec {
  return { address: n.address, mac: n.mac, device: n.device, family: familyOf(n.address) };
}

/** The MAC this resource set, from its id: outputs hold what the kernel showed last, which may be a hand's. */
function macWeSet(id: string): string | undefined {
  return id.startsWith("neigh/") ? id.split("/").at(-1) : undefined;
}

/**
 * A static neighbour entry (`ip neigh replace ... nud permanent`). Entries carry no mark: the
 * id records what we set, and delete removes only an entry that still has exactly that (the
 * address, the MAC, permanent). All fields replace; the MAC is part of the id.
 */
export class NeighborProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(neighborInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "device", change: "replace" },
      { path: "address", change: "replace" },
      { path: "mac", change: "replace" },
    ], [["namespace", "host", "device", "address"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = neighborInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const spec = specOf(inputs);
    const existing = await showNeighbor(this.runner, where, spec);
    // A learned entry (reachable, stale, failed) is the kernel's cache, nobody's setting: replaced.
    // A permanent one with our MAC is as declared (perhaps ours, left by an interrupted run).
    if (existing?.permanent && existing.mac !== inputs.mac && !inputs.adopt) {
      throw new Error(`neighbour ${inputs.address} on ${inputs.device} in ${describeWhere(where)} already exists as a permanent entry with MAC ${existing.mac ?? "none"}, and neighbours carry no mark to tell whose it is; to manage it from this resource, set \`adopt: true\` (it is then set to ${inputs.mac} and deleted on destroy)`);
    }
    if (!(existing?.permanent && existing.mac === inputs.mac)) await replaceNeighbor(this.runner, where, spec);
    return { id: `neigh/${idPart(where)}/${inputs.device}/${inputs.address}/${inputs.mac}`, outs: this.outputs(inputs) };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as NeighborOutputs;
    const state = await showNeighbor(this.runner, whereOf(stored.namespace, stored.host), specOf(stored));
    // Only a permanent entry can be ours; a learned one at the address means ours was removed.
    if (!state?.permanent) return { id: "", props: {} };
    return { id, props: { ...stored, mac: state.mac ?? "" } };
  }

  async delete(id: string, props: Props): Promise<void> {
    const stored = props as unknown as NeighborOutputs;
    const where = whereOf(stored.namespace, stored.host);
    const state = await showNeighbor(this.runner, where, specOf(stored));
    const ours = macWeSet(id) ?? stored.mac;
    // Never delete an entry that no longer is exactly what we set (changed or replaced by hand).
    if (state?.permanent && state.mac === ours) await deleteNeighbor(this.runner, where, specOf(stored));
  }

  private outputs(inputs: NeighborInputs): NeighborOutputs {
    return { ...inputs, family: familyOf(inputs.address), schemaVersion: SCHEMA_VERSION };
  }
}
