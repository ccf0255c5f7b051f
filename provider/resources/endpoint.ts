import type * as pulumi from "@pulumi/pulumi";
import { isExists, isNotFound, type Runner } from "../exec";
import type { firewall } from "../kernel";
import { addNetns, addNetnsWords, addVethWords, deleteLink, deleteNetns, failedCommandIndex, nameNetns, netnsInode, ipCommands, linkSetWords, linkStateFrom, netnsPath, proxyPidFile, proxyRunning, reconcileProxies, showLink, showLinkWords, type LinkState } from "../kernel";
import { endpointNameClashes } from "./claims";
import { checkWith, describeWhere, diffByRules, idPart, takeOver, Rollback, SCHEMA_VERSION, type Props } from "./common";
import { endpointRuleSets, allRuleSets, allRules, endpointClaims, familiesOf, forgetMoved, ipv6TargetOf, loopbackProxies, moveForwards, moveRuleSets, storedClaims, storedRules } from "./endpoint-forwards";
import { configureInside, readInside, wantedAddresses, type Inside } from "./endpoint-inside";
import { endpointInputs, foreignNamespaceName, foreignNamespaceProblem, hasUnknown, namedByUs, type EndpointInputs } from "./endpoint-inputs";
import { applyRules, countRules, readRuleContents, takenPortIssues, type BackendName } from "./firewall";
import { freshLink, reconcileLink } from "./links";
import { refusePortsInUse } from "./portforward";
import { newClaims, portsInUseIssues } from "./ports-in-use";
import { deleteRules, repairsDrift } from "./natrule";
import { canonicalInterfaceAddress, familyOf } from "./validation";

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
  /** Of those, how many differ from the planned ones (edited by hand, extra or missing); absent when none. */
  readonly rulesDrifted?: number;
  /** Of the [::1] proxies the ports need, how many were not running (set only where there are some). */
  readonly proxiesDown?: number;
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
    // One prerouting DNAT per published port, in order: an issue's index maps to its port's.
    const perFamily = await Promise.all(
      endpointRuleSets(known.data).map(async ({ set, portIndexes }) => (await takenPortIssues(this.runner, known.data.host, set)).map(({ index, message }) => ({ index: portIndexes[index] ?? index, message }))),
    );
    const inUse = await portsInUseIssues(this.runner, known.data.host, known.data.tag, newClaims(endpointClaims(known.data), storedClaims(olds)), "check");
    const issues = [...perFamily.flat(), ...inUse];
    const failures = [...(missing ? [missing] : []), ...(await endpointNameClashes(this.runner, olds, known.data)), ...issues.map(({ index, message }) => ({ property: `ports[${index}].hostPort`, reason: message }))];
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
      // Not optional: a dual-stack endpoint made IPv4-only again loses its IPv6 address.
      { path: "ipv6Address", change: "update" },
      { path: "ipv6Gateway", change: "update" },
      { path: "loopbackProxy", change: "update" },
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
    const drifted = seen.present === false || seen.hostUp === false || seen.containerUp === false || loopbackDown || (seen.strayAddresses?.length ?? 0) > 0 || (seen.proxiesDown ?? 0) > 0 || (seen.rulesDrifted ?? 0) > 0;
    if (!result.changes && drifted) return { ...result, changes: true };
    return repairsDrift(result, olds, news, endpointInputs, allRules);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = endpointInputs.parse(raw);
    // Before anything is made: preview's look at the host's ports may be old.
    await refusePortsInUse(this.runner, inputs.host, inputs.tag, endpointClaims(inputs));
    return this.make(inputs, false);
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
      const configured = await configureInside(this.runner, inputs, inside);
      // Last, so that a refused rule set rolls back the links; the rules go with their tag.
      // A namespace made just now has no rules of ours yet: rules are made after it, and a
      // leftover of an interrupted run would have left its namespace too.
      const sets = endpointRuleSets(inputs).map(({ set }) => ({ ...set, fresh: namespaceMade && !rulesMayExist }));
      // Both families at once: the host's queue puts them in one drain, a transaction each.
      const applied = await Promise.all(sets.map((set) => (set.rules.length ? applyRules(this.runner, inputs.host, inputs.firewallBackend, set) : undefined)));
      const backend = applied.find((b) => b !== undefined);
      const ruleCount = sets.reduce((n, set) => n + set.rules.length, 0);
      const proxies = loopbackProxies(inputs);
      if (proxies.length) {
        // A proxy that does not come up (its port taken on ::1) undoes the rules and the links too.
        if (backend) for (const set of sets) rollback.push(() => deleteRules(this.runner, { host: inputs.host, tag: inputs.tag, backend, family: set.family, ruleCount: 0 }));
        rollback.push(() => reconcileProxies(this.runner, inputs.host, inputs.tag, []));
        await reconcileProxies(this.runner, inputs.host, inputs.tag, proxies);
      }
      return { id: `endpoint/${idPart(inputs.host)}/${inputs.hostInterface}`, outs: outputsOf(inputs, hostEnd, configured, backend, ruleCount, proxies.length ? 0 : undefined) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as EndpointOutputs;
    const proxies = loopbackProxies(stored);
    // Read side by side (only reads): a refresh's latency per container is its slowest read, not their sum.
    const [hostEnd, insideSeen, { count: ruleCount, drifted }, running] = await Promise.all([
      showLink(this.runner, stored.host, stored.hostInterface),
      // Its failure counts only where the host end shows the netns is ours (below).
      readInside(this.runner, stored).then((inside) => ({ inside }), (failure: unknown) => ({ failure })),
      this.readForwards(stored, props),
      Promise.all(proxies.map((p) => proxyRunning(this.runner, proxyPidFile(stored.host, stored.tag, p)))),
    ]);
    // A link of that name without our mark is someone else's: ours is gone (and what its netns holds is not ours to read).
    if (hostEnd?.alias === stored.tag && "failure" in insideSeen) throw insideSeen.failure;
    const inside = hostEnd?.alias === stored.tag && "inside" in insideSeen ? insideSeen.inside : undefined;
    const proxiesDown = proxies.length ? running.filter((up) => !up).length : undefined;
    if (!hostEnd || !inside) {
      // Gone only when nothing of ours is left: rules (or running proxies) alone stay in the
      // state, so that `up` makes the rest again and `destroy` still removes them.
      const leftovers = ruleCount > 0 || running.some((up) => up);
      const { rulesDrifted: _, ...rest } = stored;
      return leftovers ? { id, props: { ...rest, present: false, ruleCount, ...(drifted ? { rulesDrifted: drifted } : {}), ...(proxiesDown === undefined ? {} : { proxiesDown }) } } : { id: "", props: {} };
    }
    // Either end's MTU changed by hand is drift: report the end that differs from what was declared.
    const mtuSeen = hostEnd.mtu !== stored.mtu ? hostEnd.mtu : inside.link.mtu;
    const observed = { ...stored, bridge: hostEnd.master ?? "", gateway: inside.gateway, ipv6Gateway: inside.ipv6Gateway, mtu: stored.mtu === undefined ? undefined : mtuSeen };
    return { id, props: { ...outputsOf(observed, hostEnd, inside, stored.backend, ruleCount, proxiesDown), ...(drifted ? { rulesDrifted: drifted } : {}) } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const inputs = endpointInputs.parse(news);
    const before = olds as unknown as EndpointOutputs;
    await refusePortsInUse(this.runner, inputs.host, inputs.tag, newClaims(endpointClaims(inputs), storedClaims(olds)));
    const current = await showLink(this.runner, inputs.host, inputs.hostInterface);
    // Refresh found only our forward rules (the netns was deleted by hand): make it all again,
    // as create does (which refuses a same-named link that is not ours).
    if (!current || current.alias !== inputs.tag) {
      const made = await this.make(inputs, true);
      // make only adds: forwards no longer declared (or of the other family) go here.
      if (before.backend) await moveRuleSets(this.runner, inputs, before, before.backend);
      await forgetMoved(this.runner, inputs.host, storedRules(olds), allRuleSets(inputs));
      return { outs: made.outs };
    }
    const hostEnd = await this.configureHostEnd(inputs, current);
    const inside = await configureInside(this.runner, inputs);
    const backend = await moveForwards(this.runner, inputs, before, olds);
    const proxies = loopbackProxies(inputs);
    const ruleCount = allRules(inputs).rules.length;
    return { outs: outputsOf(inputs, hostEnd, inside, backend, ruleCount, proxies.length ? 0 : undefined) };
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
      ...familiesOf(stored).map((family) => (stored.backend ? deleteRules(this.runner, { host: stored.host, tag: stored.tag, backend: stored.backend, family, ruleCount: stored.ruleCount }) : undefined)),
    ]);
    // The [::1] proxies, found by our tag: none are left running for a container that is gone.
    if (ipv6TargetOf(stored) !== undefined) await reconcileProxies(this.runner, stored.host, stored.tag, []);
    // A container that comes back under another address (or another that takes its ports)
    // must not find the old one's flows still tracked to this address.
    await forgetMoved(this.runner, stored.host, storedRules(props), undefined);
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

  /**
   * Our forward rules in the host's table (none when none were ever made), and how many differ
   * from those the stored inputs plan, compared by content (a port edited by hand is drift).
   */
  private async readForwards(stored: EndpointOutputs, props: Props): Promise<{ count: number; drifted: number }> {
    if (!stored.backend) return { count: 0, drifted: 0 };
    const backend = stored.backend;
    const planned = storedRules(props);
    try {
      if (planned) {
        // Every family the endpoint had rules in, even one its inputs no longer plan any in.
        const sets = familiesOf(stored).map((family) => planned.find((set) => set.family === family) ?? { tag: stored.tag, family, rules: [] });
        return await readRuleContents(this.runner, stored.host, backend, sets);
      }
      const counts = await Promise.all(familiesOf(stored).map((family) => countRules(this.runner, stored.host, backend, family, stored.tag)));
      return { count: counts.reduce((a, b) => a + b, 0), drifted: 0 };
    } catch (err) {
      if (isNotFound(err)) return { count: 0, drifted: 0 };
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
      takeOver(`network namespace ${inputs.namespace}`, lo?.alias, inputs.tag, inputs.adopt);
      return false;
    }
  }

  /** The pair made with the peer inside, the host end on the bridge, then shown. */
  private pairCommands(inputs: EndpointInputs): string[][] {
    return [
      addVethWords({ name: inputs.hostInterface, netns: inputs.host }, { name: inputs.interfaceName, netns: inputs.namespace }, inputs.mtu),
      linkSetWords(inputs.hostInterface, { master: inputs.bridge, alias: inputs.tag, up: true }),
      // A container reaching itself through a published host port (hairpin) gets its own
      // packets back out of the port they came in by: the bridge allows that only in hairpin
      // mode, as Docker sets it (measured: without it, the connection never completes).
      ["link", "set", "dev", inputs.hostInterface, "type", "bridge_slave", "hairpin", "on"],
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
      takeOver(`link ${inputs.hostInterface} in ${describeWhere(inputs.host)}`, current.alias, inputs.tag, inputs.adopt);
      if (current.kind !== "veth") throw new Error(`link ${inputs.hostInterface} in ${describeWhere(inputs.host)} exists but is a ${current.kind ?? "plain"} link, not a veth`);
      return this.configureHostEnd(inputs, current);
    }
  }

  private configureHostEnd(inputs: EndpointInputs, current: LinkState): Promise<LinkState> {
    return reconcileLink(this.runner, inputs.host, current, { alias: inputs.tag, up: true, addresses: current.addresses, master: inputs.bridge, mtu: inputs.mtu });
  }

}

function outputsOf(inputs: EndpointInputs, hostEnd: LinkState, inside: Inside, backend: BackendName | undefined, ruleCount: number, proxiesDown?: number): EndpointOutputs {
  const wanted = wantedAddresses(inputs);
  const seen = inside.link.addresses;
  // An address changed by hand shows as drift: the one of that family the kernel has instead.
  const shown = (declared: string, family: firewall.IpFamily) => (seen.includes(canonicalInterfaceAddress(declared)) ? declared : (seen.find((a) => familyOf(a) === family) ?? seen[0] ?? ""));
  return {
    ...inputs,
    backend,
    family: familyOf(inputs.address),
    ruleCount,
    ...(proxiesDown === undefined ? {} : { proxiesDown }),
    present: true,
    address: shown(inputs.address, familyOf(inputs.address)),
    ...(inputs.ipv6Address === undefined ? {} : { ipv6Address: shown(inputs.ipv6Address, "ipv6") }),
    hostUp: hostEnd.up,
    containerUp: inside.link.up,
    loopbackUp: inside.lo.up,
    strayAddresses: seen.filter((a) => !wanted.includes(a)),
    ifindex: hostEnd.ifindex,
    mac: hostEnd.mac,
    containerMac: inside.link.mac,
    path: netnsPath(inputs.namespace),
    schemaVersion: SCHEMA_VERSION,
  };
}
