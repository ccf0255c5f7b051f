import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { z } from "zod";
import { isExists, isNotFound, type Runner } from "../exec";
import type { firewall } from "../kernel";
import { addNetns, addNetnsWords, addrWords, addVethWords, deleteLink, deleteNetns, failedCommandIndex, fileSystemType, nameNetns, netnsInode, findRoute, ipCommands, linkSetWords, linkStateFrom, netnsPath, ourRouteWords, routeShowWords, showLink, showLinkWords, showRoute, type LinkState } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, ownershipOf, refusal, Rollback, SCHEMA_VERSION, type Props } from "./common";
import { applyRules, countRules, firewallChoice, portOrRange, takenPortIssues, type BackendName } from "./firewall";
import { freshLink, reconcileLink } from "./links";
import { deleteRules, moveRules, repairsDrift } from "./natrule";
import { forgetMovedFlows, portForwardRules, portMappingIssues } from "./portforward";
import { canonicalInterfaceAddress, canonicalNetwork, existingNamespace, familyOf, interfaceAddress, interfaceName, ipAddress, isUnknown, maybeFamilyOf, mtu, netnsName, ownershipTag } from "./validation";

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
    // zod runs this even when a field failed its own check: ports may not be a list.
    for (const [i, port] of (Array.isArray(e.ports) ? e.ports : []).entries()) {
      for (const issue of portMappingIssues(port, target)) ctx.addIssue({ code: "custom", path: ["ports", i, issue.path], message: issue.message });
    }
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

/** Whether the netns is reached through a name this resource made (a path or a PID). */
function namedByUs(e: Pick<EndpointInputs, "existingNamespace">): boolean {
  return e.existingNamespace !== undefined && e.existingNamespace.name === undefined;
}

/** What the kernel was seen to have: compared with the inputs to find drift. */
interface Observed {
  readonly hostUp: boolean;
  readonly containerUp: boolean;
  readonly loopbackUp: boolean;
  /** The container end's addresses other than the declared one. */
  readonly strayAddresses: string[];
  readonly ifindex: number;
  readonly mac: string | undefined;
  readonly containerMac: string | undefined;
  /** Whether the host end and the netns were there (false: only our port forward rules were). */
  readonly present: boolean;
  /** Port forward rules found carrying our tag. */
  readonly ruleCount: number;
}

export interface EndpointOutputs extends EndpointInputs, Observed {
  readonly backend: BackendName | undefined;
  readonly family: firewall.IpFamily;
  readonly path: string;
  readonly schemaVersion: number;
}

/**
 * A container's place on a bridge, the way a CNI bridge plugin's ADD makes it: the container's
 * netns, a veth pair from the bridge into it, the container end's address, `lo` up and the
 * default route via the gateway, and its port forwards (CNI's portmap, chained after it). The
 * container's side is one `ip -batch` in its namespace, the host's side joins the host's
 * batch, and the forwards join the host's `nft -f`: a container costs about one and a half
 * processes and one engine resource, where the same objects as separate resources cost
 * seven processes and four resources.
 */
export class EndpointProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    const result = checkWith(endpointInputs, news);
    // Preview already names another owner's forward on a port, where the kernel can be read.
    const known = endpointInputs.safeParse(result.inputs ?? {});
    if (result.failures?.length || !known.success) return result;
    // A namespace someone else made is looked at when it is new to this resource: one that
    // vanished since does not block `up` of a stack that still holds our name for it.
    const existing = known.data.existingNamespace;
    const sameAsBefore = JSON.stringify((olds as Partial<EndpointInputs>).existingNamespace) === JSON.stringify(existing);
    const missing = existing && !sameAsBefore && !hasUnknown(existing) ? await foreignNamespaceProblem(this.runner, existing) : undefined;
    // One prerouting DNAT per port, in order: an issue's index is its port's.
    const issues = await takenPortIssues(this.runner, known.data.host, endpointRules(known.data));
    const failures = [...(missing ? [missing] : []), ...issues.map(({ index, message }) => ({ property: `ports[${index}].hostPort`, reason: message }))];
    return failures.length ? { failures } : result;
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const result = diffByRules(olds, news, [
      { path: "namespace", change: "replace" },
      { path: "existingNamespace", change: "replace" },
      { path: "host", change: "replace" },
      { path: "hostInterface", change: "replace" },
      { path: "interfaceName", change: "replace" },
      { path: "bridge", change: "update" },
      { path: "address", change: "update" },
      { path: "gateway", change: "update", optional: true },
      { path: "mtu", change: "update", optional: true },
      { path: "ports", change: "update" },
      { path: "firewallBackend", change: "replace" },
      { path: "tag", change: "update" },
    ], [["namespace"], ["hostInterface", "host"]]);
    // Drift that refresh saw in what the inputs do not name: a link down, an address added by
    // hand, links gone while the forwards stayed, forward rules flushed.
    const seen = olds as Partial<Observed>;
    // A foreign netns's lo is its owner's: not ours to judge.
    const loopbackDown = seen.loopbackUp === false && (olds as Partial<EndpointInputs>).existingNamespace === undefined;
    const drifted = seen.present === false || seen.hostUp === false || seen.containerUp === false || loopbackDown || (seen.strayAddresses?.length ?? 0) > 0;
    if (!result.changes && drifted) return { ...result, changes: true };
    return repairsDrift(result, olds, news, endpointInputs, endpointRules);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    return this.make(endpointInputs.parse(raw), false);
  }

  /** Create, and update when refresh found only the forward rules (`rulesMayExist`). */
  private async make(inputs: EndpointInputs, rulesMayExist: boolean): Promise<pulumi.dynamic.CreateResult> {
    return Rollback.guard(async (rollback) => {
      let namespaceMade = false;
      // Create first and look only when a name is taken. `ip netns add` must run where the
      // provider runs (under `ip -n` it would mount the namespace in a private mount namespace),
      // so it joins the host's batch only when the host is that namespace.
      const foreign = inputs.existingNamespace !== undefined;
      const namespaceInBatch = !inputs.host && !foreign;
      if (foreign) await this.reachForeign(inputs, rollback);
      else if (!namespaceInBatch) namespaceMade = await this.addNamespace(inputs, rollback);
      const prefix = namespaceInBatch ? [addNetnsWords(inputs.namespace)] : [];
      const commands = [...prefix, ...this.pairCommands(inputs)];
      let hostEnd: LinkState;
      let inside: Inside | undefined;
      try {
        const outputs = await ipCommands(this.runner, inputs.host, commands);
        if (namespaceInBatch) rollback.push(() => deleteNetns(this.runner, inputs.namespace));
        namespaceMade ||= namespaceInBatch;
        rollback.push(() => deleteLink(this.runner, inputs.host, inputs.hostInterface));
        hostEnd = linkStateFrom(outputs.at(-1), inputs.hostInterface);
        inside = { lo: freshLink("lo"), link: freshLink(inputs.interfaceName, inputs.mtu), gateway: undefined };
      } catch (err) {
        // What ran before the failing line is ours to undo; what failed on a taken name is looked at.
        const failed = failedCommandIndex(err, inputs.host, commands);
        if (failed === undefined) throw err;
        if (namespaceInBatch && failed > 0) rollback.push(() => deleteNetns(this.runner, inputs.namespace));
        if (failed > prefix.length) rollback.push(() => deleteLink(this.runner, inputs.host, inputs.hostInterface));
        if (!isExists(err) || failed > prefix.length) throw err;
        if (failed < prefix.length) await this.addNamespace(inputs, rollback);
        else namespaceMade ||= namespaceInBatch;
        hostEnd = await this.addPairOrTakeOver(inputs, rollback);
      }
      const configured = await this.configureInside(inputs, inside);
      // Last, so that a refused rule set rolls back the links; the rules go with their tag.
      // A namespace made just now has no rules of ours yet: rules are made after it, and a
      // leftover of an interrupted run would have left its namespace too.
      const set = { ...endpointRules(inputs), fresh: namespaceMade && !rulesMayExist };
      const backend = set.rules.length ? await applyRules(this.runner, inputs.host, inputs.firewallBackend, set) : undefined;
      return { id: `endpoint/${idPart(inputs.host)}/${inputs.hostInterface}`, outs: outputsOf(inputs, hostEnd, configured, backend, set.rules.length) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as EndpointOutputs;
    const hostEnd = await showLink(this.runner, stored.host, stored.hostInterface);
    // A link of that name without our mark is someone else's: ours is gone.
    const inside = hostEnd?.alias === stored.tag ? await this.readInside(stored) : undefined;
    const ruleCount = await this.countForwards(stored);
    if (!hostEnd || !inside) {
      // Gone only when nothing of ours is left: rules alone stay in the state, so that `up`
      // makes the rest again and `destroy` still removes them.
      return ruleCount === 0 ? { id: "", props: {} } : { id, props: { ...stored, present: false, ruleCount } };
    }
    // Either end's MTU changed by hand is drift: report the end that differs from what was declared.
    const mtuSeen = hostEnd.mtu !== stored.mtu ? hostEnd.mtu : inside.link.mtu;
    const observed = { ...stored, bridge: hostEnd.master ?? "", gateway: inside.gateway, mtu: stored.mtu === undefined ? undefined : mtuSeen };
    return { id, props: outputsOf(observed, hostEnd, inside, stored.backend, ruleCount) };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = endpointInputs.parse(news);
    const before = olds as unknown as EndpointOutputs;
    const current = await showLink(this.runner, inputs.host, inputs.hostInterface);
    // Refresh found only our forward rules (the netns was deleted by hand): make it all again,
    // as create does (which refuses a same-named link that is not ours).
    if (!current || current.alias !== inputs.tag) {
      const made = await this.make(inputs, true);
      // make only adds: forwards no longer declared (or of the other family) go here.
      if (before.backend) await moveRules(this.runner, inputs.host, { ...before, backend: before.backend }, endpointRules(inputs));
      await forgetMovedFlows(this.runner, inputs.host, storedRules(olds), endpointRules(inputs));
      return { outs: made.outs };
    }
    const hostEnd = await this.configureHostEnd(inputs, current);
    const inside = await this.configureInside(inputs);
    const set = endpointRules(inputs);
    let backend = before.backend;
    if (backend) await moveRules(this.runner, inputs.host, { ...before, backend }, set);
    else if (set.rules.length) backend = await applyRules(this.runner, inputs.host, inputs.firewallBackend, set);
    await forgetMovedFlows(this.runner, inputs.host, storedRules(olds), set);
    return { outs: outputsOf(inputs, hostEnd, inside, backend, set.rules.length) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as EndpointOutputs;
    // Never delete what no longer carries our mark (replaced by someone else's).
    const hostEnd = await showLink(this.runner, stored.host, stored.hostInterface);
    const pairIsOurs = hostEnd?.alias === stored.tag;
    // Our host end's peer lives in that namespace, so the namespace is the one we made: only
    // without it is the namespace's own mark looked at (one process fewer per container).
    // A namespace someone else made is never ours: only what we put in it goes.
    const foreign = stored.existingNamespace !== undefined;
    const namespaceIsOurs = !foreign && (pairIsOurs || (await showLink(this.runner, stored.namespace, "lo"))?.alias === stored.tag);
    // Either deletion takes the pair with it; run side by side, they share the host's batch.
    await Promise.all([
      pairIsOurs ? deleteLink(this.runner, stored.host, stored.hostInterface) : undefined,
      namespaceIsOurs ? deleteNetns(this.runner, stored.namespace) : undefined,
      // Rules are found by their tag alone: none of another owner's can match.
      stored.backend ? deleteRules(this.runner, { host: stored.host, tag: stored.tag, backend: stored.backend, family: stored.family, ruleCount: stored.ruleCount }) : undefined,
    ]);
    // A container that comes back under another address (or another that takes its ports)
    // must not find the old one's flows still tracked to this address.
    await forgetMovedFlows(this.runner, stored.host, storedRules(props), undefined);
    // Last, so that nothing above needed it: our name for a path's or a PID's netns (unmount and
    // unlink; the namespace stays with its owner). Its name is derived from our tag.
    if (namedByUs(stored) && stored.namespace === foreignNamespaceName(stored.tag)) await deleteNetns(this.runner, stored.namespace);
  }

  /**
   * A netns someone else made, reachable by `inputs.namespace`: a name that must exist, or our
   * name for a path or a PID, made here (and taken back if create fails later).
   */
  private async reachForeign(inputs: EndpointInputs, rollback: Rollback): Promise<void> {
    const existing = inputs.existingNamespace;
    if (!existing) return;
    const problem = await foreignNamespaceProblem(this.runner, existing);
    if (problem) throw new Error(problem.reason);
    if (existing.name !== undefined) return;
    const target = existing.path ?? `/proc/${existing.pid}/ns/net`;
    const [named, wanted] = await Promise.all([netnsInode(this.runner, netnsPath(inputs.namespace)), netnsInode(this.runner, target)]);
    if (named !== undefined && named === wanted) return; // ours from an interrupted run, pointing there already
    // Ours by its name, but pointing at a namespace gone or elsewhere: point it again.
    if (named !== undefined) await deleteNetns(this.runner, inputs.namespace);
    await nameNetns(this.runner, inputs.namespace, existing.path !== undefined ? { path: existing.path } : { pid: existing.pid ?? 0 });
    rollback.push(() => deleteNetns(this.runner, inputs.namespace));
  }

  /** Our forward rules in the host's table; 0 when none were ever made. */
  private async countForwards(stored: EndpointOutputs): Promise<number> {
    if (!stored.backend) return 0;
    try {
      return await countRules(this.runner, stored.host, stored.backend, stored.family, stored.tag);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  /** The namespace: made (true), or already there and ours or adopted (false). */
  private async addNamespace(inputs: EndpointInputs, rollback: Rollback): Promise<boolean> {
    try {
      await addNetns(this.runner, inputs.namespace);
      rollback.push(() => deleteNetns(this.runner, inputs.namespace));
      return true;
    } catch (err) {
      if (!isExists(err)) throw err;
      const lo = await showLink(this.runner, inputs.namespace, "lo");
      const ownership = ownershipOf(lo?.alias, inputs.tag);
      if (ownership !== "ours" && !inputs.adopt) throw refusal(`network namespace ${inputs.namespace}`, ownership, lo?.alias);
      return false;
    }
  }

  /** The pair made with the peer inside, the host end on the bridge, then shown. */
  private pairCommands(inputs: EndpointInputs): string[][] {
    return [
      addVethWords({ name: inputs.hostInterface, netns: inputs.host }, { name: inputs.interfaceName, netns: inputs.namespace }, inputs.mtu),
      linkSetWords(inputs.hostInterface, { master: inputs.bridge, alias: inputs.tag, up: true }),
      showLinkWords(inputs.hostInterface),
    ];
  }

  /** The pair in a namespace that already existed, or a host end that exists: ours (or adopted) only. */
  private async addPairOrTakeOver(inputs: EndpointInputs, rollback: Rollback): Promise<LinkState> {
    const commands = this.pairCommands(inputs);
    try {
      const outputs = await ipCommands(this.runner, inputs.host, commands);
      rollback.push(() => deleteLink(this.runner, inputs.host, inputs.hostInterface));
      return linkStateFrom(outputs.at(-1), inputs.hostInterface);
    } catch (err) {
      const failed = failedCommandIndex(err, inputs.host, commands);
      if (failed !== undefined && failed > 0) rollback.push(() => deleteLink(this.runner, inputs.host, inputs.hostInterface));
      if (failed !== 0 || !isExists(err)) throw err;
      const current = await showLink(this.runner, inputs.host, inputs.hostInterface);
      if (!current) throw err; // the container end's name is taken inside: the kernel's words say so
      const ownership = ownershipOf(current.alias, inputs.tag);
      if (ownership !== "ours" && !inputs.adopt) throw refusal(`link ${inputs.hostInterface} in ${describeWhere(inputs.host)}`, ownership, current.alias);
      if (current.kind !== "veth") throw new Error(`link ${inputs.hostInterface} in ${describeWhere(inputs.host)} exists but is a ${current.kind ?? "plain"} link, not a veth`);
      return this.configureHostEnd(inputs, current);
    }
  }

  private configureHostEnd(inputs: EndpointInputs, current: LinkState): Promise<LinkState> {
    return reconcileLink(this.runner, inputs.host, current, { alias: inputs.tag, up: true, addresses: current.addresses, master: inputs.bridge, mtu: inputs.mtu });
  }

  /** The container's side in one process: lo, the interface, its one address, the default route. */
  private async configureInside(inputs: EndpointInputs, known?: Inside): Promise<Inside> {
    const ns = inputs.namespace;
    const device = inputs.interfaceName;
    const current = known ?? (await this.readInside(inputs));
    if (!current) throw new Error(`the container end ${device} is not in netns ${ns}`);
    const lines: string[][] = [];
    // lo of a foreign netns is its owner's: left as it is, unmarked.
    if (!inputs.existingNamespace && (current.lo.alias !== inputs.tag || !current.lo.up)) lines.push(linkSetWords("lo", { alias: inputs.tag, up: true }));
    lines.push(linkSetWords(device, { alias: inputs.tag, mtu: inputs.mtu, up: true }));
    const route = { destination: "default", via: inputs.gateway, device, family: familyOf(inputs.address) } as const;
    // Our default route goes before the addresses change: removing the address its gateway is
    // reached through takes the route with it, so a changed address also means the route again.
    if (!inputs.gateway && current.gateway) lines.push(ourRouteWords("del", route));
    const wanted = canonicalInterfaceAddress(inputs.address);
    const extras = current.link.addresses.filter((a) => a !== wanted);
    const missing = !current.link.addresses.includes(wanted);
    for (const extra of extras) lines.push(addrWords("del", extra, device));
    if (missing) lines.push(addrWords("add", wanted, device));
    if (inputs.gateway && (current.gateway !== inputs.gateway || extras.length > 0 || missing)) {
      lines.push(ourRouteWords("replace", route));
    }
    const outputs = await ipCommands(this.runner, ns, [...lines, showLinkWords("lo"), showLinkWords(device)]);
    return { lo: linkStateFrom(outputs.at(-2), "lo"), link: linkStateFrom(outputs.at(-1), device), gateway: inputs.gateway };
  }

  /** lo, the container end and our default route's gateway; undefined when the netns is gone. */
  private async readInside(e: Pick<EndpointInputs, "namespace" | "interfaceName" | "address" | "gateway">): Promise<Inside | undefined> {
    const family = e.gateway ? familyOf(e.gateway) : familyOf(e.address);
    const shows = [showLinkWords("lo"), showLinkWords(e.interfaceName)];
    const defaultRoute = { destination: "default", family } as const;
    try {
      // `ip route show` lists IPv4 without a family flag: then the route is read in the same batch.
      const [outputs, route] =
        family === "ipv4"
          ? await ipCommands(this.runner, e.namespace, [...shows, routeShowWords()]).then((o) => [o, findRoute(o[2] ?? "", defaultRoute)] as const)
          : await Promise.all([ipCommands(this.runner, e.namespace, shows), showRoute(this.runner, e.namespace, defaultRoute)]);
      return { lo: linkStateFrom(outputs[0], "lo"), link: linkStateFrom(outputs[1], e.interfaceName), gateway: route?.ours ? route.via : undefined };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

}

interface Inside {
  readonly lo: LinkState;
  readonly link: LinkState;
  readonly gateway: string | undefined;
}

/**
 * The forwards' rules, laid out as `PortForward` lays them out (prerouting and output DNAT,
 * masquerade of 127.0.0.0/8 and of the container's own subnet for hairpin, forward accept), all
 * under the endpoint's tag. The hairpin subnet is the container's own: no kernel read needed.
 */
export function endpointRules(e: EndpointInputs): firewall.TaggedRules {
  const target = e.address.split("/")[0] ?? "";
  const subnet = canonicalNetwork(e.address);
  const rules = e.ports.flatMap(
    (p) =>
      portForwardRules(
        { protocol: p.protocol, hostPort: p.hostPort, hostAddress: p.hostAddress, target, targetPort: p.targetPort, fromHost: true, hairpin: true, host: e.host, firewallBackend: e.firewallBackend, tag: e.tag },
        subnet,
      ).rules,
  );
  return { tag: e.tag, family: familyOf(e.address), rules };
}

/** The forwards' rules the stored outputs stood for; undefined for state this version cannot read. */
function storedRules(olds: Props): firewall.TaggedRules | undefined {
  const parsed = endpointInputs.safeParse(olds);
  return parsed.success ? endpointRules(parsed.data) : undefined;
}

function outputsOf(inputs: EndpointInputs, hostEnd: LinkState, inside: Inside, backend: BackendName | undefined, ruleCount: number): EndpointOutputs {
  const wanted = canonicalInterfaceAddress(inputs.address);
  return {
    ...inputs,
    backend,
    family: familyOf(inputs.address),
    ruleCount,
    present: true,
    address: inside.link.addresses.includes(wanted) ? inputs.address : (inside.link.addresses[0] ?? ""),
    hostUp: hostEnd.up,
    containerUp: inside.link.up,
    loopbackUp: inside.lo.up,
    strayAddresses: inside.link.addresses.filter((a) => a !== wanted),
    ifindex: hostEnd.ifindex,
    mac: hostEnd.mac,
    containerMac: inside.link.mac,
    path: netnsPath(inputs.namespace),
    schemaVersion: SCHEMA_VERSION,
  };
}

function hasUnknown(value: object): boolean {
  return Object.values(value).some(isUnknown);
}

/**
 * Why a foreign netns cannot be used, as a check failure; undefined when it can. A name must
 * exist under /run/netns, a path must be a namespace file (`stat -f` says nsfs), a PID must be
 * a live process.
 */
async function foreignNamespaceProblem(runner: Runner, existing: NonNullable<EndpointInputs["existingNamespace"]>): Promise<{ property: string; reason: string } | undefined> {
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
