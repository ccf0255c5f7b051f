import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Runner } from "../exec";
import { connectedNetworkOf, deleteForwardedFlows, deleteFlowsWords, type firewall, type ForwardedFlows, type Netns } from "../kernel";
import { checkWith, diffByRules, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { applyRules, firewallChoice, portOrRange, takenPortIssues, toRange, type BackendName } from "./firewall";
import { deleteRules, moveRules, readRules, repairsDrift, type TaggedOutputs } from "./natrule";
import { claimsOf, newClaims, portsInUseIssues } from "./ports-in-use";
import { familyOf, ipAddress, maybeFamilyOf, netnsName, ownershipTag } from "./validation";

export const ANY_ADDRESS = ["0.0.0.0", "::"];

/**
 * What is wrong with a forward's ports and listening address for this target: a port range
 * forwards to the same ports (no other targetPort), and one host address must be of the
 * target's family. Shared by PortForward and BridgeEndpoint's ports.
 */
export function portMappingIssues(f: { hostPort: unknown; targetPort?: number; hostAddress?: string }, target: string): { path: "targetPort" | "hostAddress"; message: string }[] {
  const issues: { path: "targetPort" | "hostAddress"; message: string }[] = [];
  // zod runs refinements even when hostPort failed its own check (or is unknown at preview).
  const hostPort = portOrRange.safeParse(f.hostPort);
  if (hostPort.success) {
    const range = toRange(hostPort.data);
    if (range.from !== range.to && f.targetPort !== undefined && f.targetPort !== range.from) {
      issues.push({ path: "targetPort", message: "a port range forwards to the same ports on the target: leave targetPort unset" });
    }
  }
  const [hostFamily, targetFamily] = [maybeFamilyOf(f.hostAddress ?? ""), maybeFamilyOf(target)];
  if (f.hostAddress && !ANY_ADDRESS.includes(f.hostAddress) && hostFamily && targetFamily && hostFamily !== targetFamily) {
    issues.push({ path: "hostAddress", message: `hostAddress ${f.hostAddress} and target ${target} are of different families` });
  }
  return issues;
}

export const portForwardInputs = z
  .object({
    protocol: z.enum(["tcp", "udp"]),
    hostPort: portOrRange,
    /** One host address to listen on; unset, 0.0.0.0 or :: mean every address of the host. */
    hostAddress: ipAddress.optional(),
    target: ipAddress,
    targetPort: z.number().int().min(1, "port must be 1-65535").max(65535, "port must be 1-65535").optional(),
    /** Also answer connections the host makes itself, to its own addresses and 127.0.0.1. */
    fromHost: z.boolean().default(true),
    /** SNAT traffic from the target's own subnet, so a neighbour on the same bridge gets replies. */
    hairpin: z.boolean().default(true),
    namespace: netnsName.optional(),
    host: netnsName.optional(),
    firewallBackend: firewallChoice,
    tag: ownershipTag.max(120),
  })
  .superRefine((f, ctx) => {
    for (const issue of portMappingIssues(f, f.target)) ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
  });
export type PortForwardInputs = z.infer<typeof portForwardInputs>;

export interface PortForwardOutputs extends PortForwardInputs, Omit<TaggedOutputs, "namespace" | "host" | "tag"> {
  /** The target's directly connected network, whose members are SNATed for hairpin. */
  readonly hairpinNetwork?: string;
  readonly schemaVersion: number;
}

/**
 * The rules of a port forward, as CNI's portmap lays them out: DNAT in prerouting (from
 * outside) and output (from the host itself), masquerade of 127.0.0.0/8 sources (which needs
 * route_localnet on the target's interface) and of the target's own subnet (hairpin), and a
 * forward accept.
 */
export function portForwardRules(f: PortForwardInputs, hairpinNetwork: string | undefined): firewall.TaggedRules {
  const family = familyOf(f.target);
  const hostPorts = toRange(f.hostPort);
  const ranged = hostPorts.from !== hostPorts.to;
  const targetPorts = ranged ? hostPorts : { from: f.targetPort ?? hostPorts.from, to: f.targetPort ?? hostPorts.from };
  const listen = f.hostAddress && !ANY_ADDRESS.includes(f.hostAddress) ? { destination: f.hostAddress } : { localDestination: true };
  const dnat: firewall.RuleAction = { kind: "dnat", to: f.target, port: ranged ? undefined : targetPorts };
  const toTarget = { destination: f.target, protocol: f.protocol, destinationPort: targetPorts };
  const rules: firewall.FirewallRule[] = [{ chain: "prerouting", match: { ...listen, protocol: f.protocol, destinationPort: hostPorts }, action: dnat }];
  // IPv6: never [::1] (a DNAT of it cannot work: the kernel drops the answers on their way back to
  // ::1 from a non-loopback link); a connection to it is left to a proxy that listens there (proxy.ts).
  const notLoopback = family === "ipv6" && "localDestination" in listen ? { notDestination: "::1" } : {};
  if (f.fromHost && f.hostAddress !== "::1") {
    rules.push({ chain: "output", match: { ...listen, ...notLoopback, protocol: f.protocol, destinationPort: hostPorts }, action: dnat });
    if (family === "ipv4") rules.push({ chain: "postrouting", match: { source: "127.0.0.0/8", ...toTarget, dnatted: true }, action: { kind: "masquerade" } });
  }
  if (f.hairpin && hairpinNetwork) rules.push({ chain: "postrouting", match: { source: hairpinNetwork, ...toTarget, dnatted: true }, action: { kind: "masquerade" } });
  rules.push({ chain: "forward", match: toTarget, action: { kind: "accept" } });
  return { tag: f.tag, family, rules };
}

/** The connections a rule set's forwards (prerouting DNATs) make, as conntrack filters. */
export function forwardedFlowsOf(set: firewall.TaggedRules): ForwardedFlows[] {
  return set.rules.flatMap((r) => {
    const ports = r.match.destinationPort;
    if (r.chain !== "prerouting" || r.action.kind !== "dnat" || !r.match.protocol || !ports) return [];
    const single = ports.from === ports.to;
    // A range forwards to the same ports: matched by target alone. One port: by both ports.
    const targetPort = single ? (r.action.port?.from ?? ports.from) : undefined;
    return [{ family: set.family, protocol: r.match.protocol, hostPort: single ? ports.from : undefined, hostAddress: r.match.destination, target: r.action.to, targetPort }];
  });
}

/**
 * After a forward changed or went (its rules already replaced): deletes the tracked connections
 * of every forward `before` had and `after` has not, so that none keeps going to the old target.
 */
export async function forgetMovedFlows(runner: Runner, where: Netns, before: firewall.TaggedRules | undefined, after: firewall.TaggedRules | undefined): Promise<void> {
  if (!before) return;
  const key = (f: ForwardedFlows) => deleteFlowsWords(f).join(" ");
  const kept = new Set((after ? forwardedFlowsOf(after) : []).map(key));
  const gone = new Map(forwardedFlowsOf(before).filter((f) => !kept.has(key(f))).map((f) => [key(f), f]));
  for (const flows of gone.values()) await deleteForwardedFlows(runner, where, flows);
}

/** The rules a forward's stored outputs stood for; undefined for state this version cannot read. */
function storedRules(olds: Props): firewall.TaggedRules | undefined {
  const parsed = portForwardInputs.safeParse(olds);
  return parsed.success ? portForwardRules(parsed.data, (olds as unknown as PortForwardOutputs).hairpinNetwork) : undefined;
}

/** The host ports a forward's stored inputs claimed (none for a new resource or unreadable state). */
function claimsOfStored(olds: Props): ReturnType<typeof claimsOf> {
  const stored = portForwardInputs.safeParse(olds);
  return stored.success ? claimsOf(portForwardRules(stored.data, undefined)) : [];
}

/** The create's own look at the ports (preview's may be old): fails naming every port in use. */
export async function refusePortsInUse(runner: Runner, where: Netns, tag: string, claims: ReturnType<typeof claimsOf>): Promise<void> {
  const issues = await portsInUseIssues(runner, where, tag, claims, "create");
  if (issues.length) throw new Error([...new Set(issues.map((i) => i.message))].join("; "));
}

/** After a failed update: the previous rules again, and none of the new ones under another tag or family. */
async function restorePrevious(runner: Runner, where: Netns, before: PortForwardOutputs, previous: firewall.TaggedRules, attempted: firewall.TaggedRules): Promise<void> {
  if (attempted.tag !== previous.tag || attempted.family !== previous.family) await applyRules(runner, where, before.backend, { tag: attempted.tag, family: attempted.family, rules: [] });
  await applyRules(runner, whereOf(before.namespace, before.host), before.backend, previous);
}

/** A port forward from the host to an address behind it (a container), tcp or udp, one port or a range. */
export class PortForwardProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(portForwardInputs, news);
    // Preview already names another owner's forward on the port, or a service listening
    // there, where the kernel can be read.
    const known = portForwardInputs.safeParse(result.inputs ?? {});
    if (result.failures?.length || !known.success) return result;
    const where = whereOf(known.data.namespace, known.data.host);
    const set = portForwardRules(known.data, undefined);
    const inUse = await portsInUseIssues(this.runner, where, known.data.tag, newClaims(claimsOf(set), claimsOfStored(olds)), "check");
    const issues = [...(await takenPortIssues(this.runner, where, set)), ...inUse];
    return issues.length ? { failures: issues.map(({ message }) => ({ property: "hostPort", reason: message })) } : result;
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const result = diffByRules(olds, news, [
      { path: "namespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "firewallBackend", change: "replace" },
      ...(["protocol", "hostPort", "hostAddress", "target", "targetPort", "fromHost", "hairpin", "tag"] as const).map((path) => ({ path, change: "update" as const })),
    ], []);
    const hairpinNetwork = (olds as unknown as PortForwardOutputs).hairpinNetwork;
    return repairsDrift(result, olds, news, portForwardInputs, (inputs) => portForwardRules(inputs, hairpinNetwork));
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = portForwardInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const hairpinNetwork = inputs.hairpin ? (await connectedNetworkOf(this.runner, where, inputs.target))?.network : undefined;
    const set = portForwardRules(inputs, hairpinNetwork);
    await refusePortsInUse(this.runner, where, inputs.tag, claimsOf(set));
    const backend = await applyRules(this.runner, where, inputs.firewallBackend, set);
    return { id: `forward/${idPart(where)}/${inputs.tag}`, outs: this.outputs(inputs, backend, set, hairpinNetwork) };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    return readRules(this.runner, id, props as unknown as PortForwardOutputs, storedRules(props));
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const before = olds as unknown as PortForwardOutputs;
    const inputs = portForwardInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    const hairpinNetwork = inputs.hairpin ? (await connectedNetworkOf(this.runner, where, inputs.target))?.network : undefined;
    const set = portForwardRules(inputs, hairpinNetwork);
    await refusePortsInUse(this.runner, where, inputs.tag, newClaims(claimsOf(set), claimsOfStored(olds)));
    const previous = storedRules(olds);
    try {
      await moveRules(this.runner, where, before, set);
      await forgetMovedFlows(this.runner, where, previous, set);
    } catch (err) {
      // The state keeps the previous forward: so does the kernel (an emptied family or tag included).
      if (previous) await restorePrevious(this.runner, where, before, previous, set).catch((restoring: unknown) => Promise.reject(new Error(`${(err as Error).message}; putting the previous forward back failed too: ${(restoring as Error).message}`)));
      throw err;
    }
    return { outs: this.outputs(inputs, before.backend, set, hairpinNetwork) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as PortForwardOutputs;
    await deleteRules(this.runner, stored);
    await forgetMovedFlows(this.runner, whereOf(stored.namespace, stored.host), storedRules(props), undefined);
  }

  private outputs(inputs: PortForwardInputs, backend: BackendName, set: firewall.TaggedRules, hairpinNetwork: string | undefined): PortForwardOutputs {
    return { ...inputs, backend, family: set.family, ruleCount: set.rules.length, hairpinNetwork, schemaVersion: SCHEMA_VERSION };
  }
}
