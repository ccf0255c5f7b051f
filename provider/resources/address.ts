import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addAddress, deleteAddress, showLink } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, neverTaken, ownerOf, SCHEMA_VERSION, stackPrefixOf, whereOf, type Props } from "./common";
import { canonicalInterfaceAddress, interfaceAddress, interfaceName, netnsName, ownershipTag } from "./validation";

export const addressInputs = z.object({
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  device: interfaceName,
  address: interfaceAddress,
  adopt: z.boolean().default(false),
  /** The resource's tag (unset in state written before it was passed): tells this stack's links from another's. */
  tag: ownershipTag.optional(),
});
export type AddressInputs = z.infer<typeof addressInputs>;

export interface AddressOutputs extends AddressInputs {
  readonly schemaVersion: number;
}

/**
 * One address on any link (e.g. a loopback service address). Addresses carry no mark of their
 * own: one that already exists is taken over only when its link is this stack's (its alias is
 * a tag of this stack; `lo` of a namespace we made carries one) or, on an untagged link, with
 * `adopt: true`; on another stack's link, never.
 */
export class AddressProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(addressInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    return diffByRules(olds, news, [
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "device", change: "replace" },
      { path: "address", change: "replace" },
    ], [["namespace", "host", "address"]]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = addressInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const cidr = canonicalInterfaceAddress(inputs.address);
    try {
      await addAddress(this.runner, where, inputs.device, cidr);
    } catch (err) {
      if (!isExists(err)) throw err;
      const link = await showLink(this.runner, where, inputs.device);
      const alias = link?.alias;
      // On another stack's link the address is that stack's: never taken, adopt or not.
      if (alias?.startsWith("hostnet:") && inputs.tag !== undefined && !alias.startsWith(stackPrefixOf(inputs.tag))) {
        throw new Error(neverTaken(`address ${cidr} on ${inputs.device} in ${describeWhere(where)}`, ownerOf(alias, inputs.tag)));
      }
      if (!inputs.adopt && !alias?.startsWith("hostnet:")) {
        throw new Error(`address ${cidr} is already on ${inputs.device} in ${describeWhere(where)} and was not made by pulumi-hostnet; to manage it from this resource, set \`adopt: true\``);
      }
    }
    return { id: `addr/${idPart(where)}/${inputs.device}/${cidr}`, outs: { ...inputs, address: cidr, schemaVersion: SCHEMA_VERSION } };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as AddressOutputs;
    const link = await showLink(this.runner, whereOf(stored.namespace, stored.host), stored.device);
    if (!link?.addresses.includes(canonicalInterfaceAddress(stored.address))) return { id: "", props: {} };
    return { id, props: { ...stored } };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as AddressOutputs;
    await deleteAddress(this.runner, whereOf(stored.namespace, stored.host), stored.device, stored.address);
  }
}
