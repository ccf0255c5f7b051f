import { createHash } from "node:crypto";
import { z } from "zod";
import type { Runner } from "../exec";
import { fileSystemType, netnsPath } from "../kernel";
import { firewallChoice, portOrRange } from "./firewall";
import { ANY_ADDRESS, portMappingIssues } from "./portforward";
import { existingNamespace, interfaceAddress, interfaceName, ipAddress, isUnknown, maybeFamilyOf, mtu, netnsName, ownershipTag } from "./validation";

// An endpoint's inputs: what check validates, and the netns checks that need the kernel.

/** A host port forwarded to the container, as `docker run -p` does. */
export const endpointPort = z
  .object({
    protocol: z.enum(["tcp", "udp"]).default("tcp"),
    /** A port, or a range "8000-8010" (forwarded to the same ports). */
    hostPort: portOrRange,
    /** Only this host address answers (default: every address of the host). */
    hostAddress: ipAddress.optional(),
    /** The container's port (default: hostPort). */
    targetPort: z.number().int().min(1, "port must be 1-65535").max(65535, "port must be 1-65535").optional(),
  });
export type EndpointPort = z.infer<typeof endpointPort>;

export const endpointInputs = z
  .object({
    /**
     * The container's netns: made by this resource, or, with `existingNamespace`, the name it is
     * reached by (check fills it in: the given name, or a name of ours for a path or a PID).
     */
    namespace: netnsName.optional(),
    /** A netns someone else made: used, never made or deleted (see foreignNamespaceName). */
    existingNamespace: existingNamespace.optional(),
    /** The netns that plays the host (where the bridge and the host end are). */
    host: netnsName.optional(),
    bridge: interfaceName,
    hostInterface: interfaceName,
    interfaceName: interfaceName.default("eth0"),
    /** The container end's address with its prefix, e.g. 10.88.0.2/16. */
    address: interfaceAddress,
    /** Default route inside the container via this address (none when unset). */
    gateway: ipAddress.optional(),
    /** Dual stack: the container end's IPv6 address with its prefix, beside an IPv4 `address`. */
    ipv6Address: interfaceAddress.optional(),
    /** Dual stack: the IPv6 default route's gateway (with ipv6Address). */
    ipv6Gateway: ipAddress.optional(),
    /** IPv6 forwards also answer the host on [::1], through a socat proxy (default true; see proxy.ts). */
    loopbackProxy: z.boolean().optional(),
    mtu: mtu.optional(),
    /** Port forwards from the host to the container (DNAT, hairpin, from the host itself). */
    ports: z.array(endpointPort).default([]),
    firewallBackend: firewallChoice,
    adopt: z.boolean().default(false),
    tag: ownershipTag.max(120),
  })
  .superRefine((e, ctx) => {
    const given = e.existingNamespace?.name;
    if (e.namespace === undefined && e.existingNamespace === undefined) ctx.addIssue({ code: "custom", path: ["namespace"], message: "namespace is required (the netns to make), unless existingNamespace names one that exists" });
    else if (e.namespace !== undefined && given !== undefined && !isUnknown(given) && !isUnknown(e.namespace) && e.namespace !== given) ctx.addIssue({ code: "custom", path: ["namespace"], message: `namespace ${e.namespace} differs from existingNamespace.name ${given}: give only existingNamespace` });
    const target = e.address.split("/")[0] ?? "";
    const families = [maybeFamilyOf(e.address), e.ipv6Address === undefined ? undefined : maybeFamilyOf(e.ipv6Address)].filter((f) => f !== undefined);
    // zod runs this even when a field failed its own check: ports may not be a list.
    for (const [i, port] of (Array.isArray(e.ports) ? e.ports : []).entries()) {
      for (const issue of portMappingIssues(port, target)) {
        if (issue.path !== "hostAddress") ctx.addIssue({ code: "custom", path: ["ports", i, issue.path], message: issue.message });
      }
      const wanted = typeof port.hostAddress === "string" ? maybeFamilyOf(port.hostAddress) : undefined;
      if (wanted && families.length && !families.includes(wanted) && !ANY_ADDRESS.includes(port.hostAddress ?? "")) {
        ctx.addIssue({ code: "custom", path: ["ports", i, "hostAddress"], message: `hostAddress ${port.hostAddress} is ${wanted} but the container has only ${families.join(" and ")} (its network has no ${wanted} subnet)` });
      }
    }
    dualStackIssues(e).forEach((issue) => ctx.addIssue({ code: "custom", ...issue }));
    if (isUnknown(e.gateway) || isUnknown(e.address) || !e.gateway) return;
    const [gatewayFamily, addressFamily] = [maybeFamilyOf(e.gateway), maybeFamilyOf(e.address)];
    if (gatewayFamily && addressFamily && gatewayFamily !== addressFamily) ctx.addIssue({ code: "custom", path: ["gateway"], message: `${e.gateway} is ${gatewayFamily} but the address ${e.address} is ${addressFamily}` });
  })
  .transform((e) => ({ ...e, namespace: e.namespace ?? e.existingNamespace?.name ?? foreignNamespaceName(e.tag) }));
export type EndpointInputs = z.output<typeof endpointInputs>;

/**
 * The name of ours under /run/netns for a netns given by path or PID: derived from the tag, so
 * it is this resource's alone and an interrupted run finds it again. Only this name is removed
 * on destroy; the namespace stays with whoever made it.
 */
export function foreignNamespaceName(tag: string): string {
  return `hostnet-${createHash("sha256").update(tag).digest("hex").slice(0, 12)}`;
}

/**
 * What is wrong with a dual-stack endpoint's second family: `ipv6Address` is IPv6 and sits
 * beside an IPv4 `address` (an IPv6-only endpoint has its one address in `address`), and
 * `ipv6Gateway` is IPv6 and needs `ipv6Address`.
 */
function dualStackIssues(e: { address: string; ipv6Address?: string; ipv6Gateway?: string }): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const known = (v: string | undefined): v is string => typeof v === "string" && !isUnknown(v);
  if (known(e.ipv6Address)) {
    if (maybeFamilyOf(e.ipv6Address) === "ipv4") issues.push({ path: ["ipv6Address"], message: `ipv6Address ${e.ipv6Address} is an IPv4 address` });
    else if (known(e.address) && maybeFamilyOf(e.address) === "ipv6") issues.push({ path: ["ipv6Address"], message: `address ${e.address} is IPv6 already: ipv6Address goes beside an IPv4 address (an IPv6-only endpoint has its address in address)` });
  }
  if (known(e.ipv6Gateway)) {
    if (maybeFamilyOf(e.ipv6Gateway) === "ipv4") issues.push({ path: ["ipv6Gateway"], message: `ipv6Gateway ${e.ipv6Gateway} is an IPv4 address` });
    else if (e.ipv6Address === undefined) issues.push({ path: ["ipv6Gateway"], message: "ipv6Gateway needs ipv6Address (the container's IPv6 address)" });
  }
  return issues;
}

/** Whether the netns is reached through a name this resource made (a path or a PID). */
export function namedByUs(e: Pick<EndpointInputs, "existingNamespace">): boolean {
  return e.existingNamespace !== undefined && e.existingNamespace.name === undefined;
}

export function hasUnknown(value: object): boolean {
  return Object.values(value).some(isUnknown);
}

/**
 * Why a foreign netns cannot be used, as a check failure; undefined when it can. A name must
 * exist under /run/netns, a path must be a namespace file (`stat -f` says nsfs), a PID must be
 * a live process.
 */
export async function foreignNamespaceProblem(runner: Runner, existing: NonNullable<EndpointInputs["existingNamespace"]>): Promise<{ property: string; reason: string } | undefined> {
  if (existing.name !== undefined) {
    if ((await fileSystemType(runner, netnsPath(existing.name))) !== undefined) return undefined;
    return { property: "existingNamespace.name", reason: `network namespace ${existing.name} does not exist (no ${netnsPath(existing.name)}; \`ip netns list\` shows the names there)` };
  }
  if (existing.path !== undefined) {
    const type = await fileSystemType(runner, existing.path);
    if (type === "nsfs") return undefined;
    return { property: "existingNamespace.path", reason: type === undefined ? `${existing.path} does not exist` : `${existing.path} is not a namespace file (stat -f says "${type}", a namespace says "nsfs"; e.g. /proc/PID/ns/net or /var/run/docker/netns/ID)` };
  }
  if ((await fileSystemType(runner, `/proc/${existing.pid}/ns/net`)) === "nsfs") return undefined;
  return { property: "existingNamespace.pid", reason: `no process ${existing.pid} (no /proc/${existing.pid}/ns/net): the container must be running` };
}
