import type { Runner } from "../exec";
import { reconcileProxies, type firewall, type LoopbackProxy } from "../kernel";
import type { Props } from "./common";
import { applyRules, toRange, type BackendName } from "./firewall";
import { moveRules } from "./natrule";
import { forgetMovedFlows, portForwardRules } from "./portforward";
import { endpointInputs, type EndpointInputs, type EndpointPort } from "./endpoint-inputs";
import { claimsOf, type PortClaim } from "./ports-in-use";
import { canonicalNetwork, familyOf, maybeFamilyOf } from "./validation";

// An endpoint's port forwards as rule sets per family, and its [::1] proxies: pure functions of its inputs.

/** The container's IPv6 address (of a dual-stack or an IPv6-only endpoint), without prefix. */
export function ipv6TargetOf(e: Pick<EndpointInputs, "address" | "ipv6Address">): string | undefined {
  // Stored state may be partial (a resource whose create failed early): never throw on it.
  const cidr = e.ipv6Address ?? (typeof e.address === "string" && maybeFamilyOf(e.address) === "ipv6" ? e.address : undefined);
  return cidr?.split("/")[0];
}

/**
 * Whether a port is published in `family`. One family's endpoint publishes every port in it,
 * as before. A dual-stack one publishes a port without hostAddress in both, as Docker does;
 * 0.0.0.0 and :: pick IPv4 or IPv6, as `docker run -p 0.0.0.0:80:80` does, and so does an
 * explicit address.
 */
export function publishedIn(e: Pick<EndpointInputs, "ipv6Address">, port: EndpointPort, family: firewall.IpFamily): boolean {
  if (e.ipv6Address === undefined || port.hostAddress === undefined) return true;
  return familyOf(port.hostAddress) === family;
}

/**
 * The [::1] proxies of an endpoint: one per IPv6-published host port (a range: one per port)
 * that answers every host address (or ::1 alone), unless turned off.
 */
export function loopbackProxies(e: EndpointInputs): LoopbackProxy[] {
  const target = ipv6TargetOf(e);
  if (target === undefined || e.loopbackProxy === false) return [];
  return (e.ports ?? [])
    .filter((p) => publishedIn(e, p, "ipv6") && (p.hostAddress === undefined || ["::", "::1"].includes(p.hostAddress)))
    .flatMap((p) => {
      const range = toRange(p.hostPort);
      const ports = Array.from({ length: range.to - range.from + 1 }, (_, i) => range.from + i);
      return ports.map((port) => ({ protocol: p.protocol, port, target, targetPort: range.from === range.to ? (p.targetPort ?? port) : port }));
    });
}

/** The families an endpoint's rules are in: its address's and, dual stack, IPv6. */
export function familiesOf(e: { readonly family: firewall.IpFamily; readonly ipv6Address?: string }): firewall.IpFamily[] {
  return e.ipv6Address === undefined ? [e.family] : [e.family, "ipv6"];
}

export function allRuleSets(e: EndpointInputs): firewall.TaggedRules[] {
  return endpointRuleSets(e).map((s) => s.set);
}

/** forgetMovedFlows for each family an endpoint's forwards were or are in. */
export async function forgetMoved(runner: Runner, host: string | undefined, before: firewall.TaggedRules[] | undefined, after: firewall.TaggedRules[] | undefined): Promise<void> {
  for (const set of before ?? []) await forgetMovedFlows(runner, host, set, after?.find((a) => a.family === set.family));
}

/**
 * The forwards' rules, laid out as `PortForward` lays them out (prerouting and output DNAT,
 * masquerade of 127.0.0.0/8 and of the container's own subnet for hairpin, forward accept), all
 * under the endpoint's tag; the hairpin subnet is the container's own (no kernel read). One set
 * per family: the address's and, dual stack, the IPv6 one (same tag, the other family's table),
 * each with the indexes of the ports it publishes.
 */
export function endpointRuleSets(e: EndpointInputs): { set: firewall.TaggedRules; portIndexes: number[] }[] {
  const indexes = (family: firewall.IpFamily) => e.ports.flatMap((p, i) => (publishedIn(e, p, family) ? [i] : []));
  const first = indexes(familyOf(e.address));
  const sets = [{ set: familyRules(e, e.address, first.map((i) => e.ports[i]!)), portIndexes: first }];
  if (e.ipv6Address !== undefined) {
    const second = indexes("ipv6");
    sets.push({ set: familyRules(e, e.ipv6Address, second.map((i) => e.ports[i]!)), portIndexes: second });
  }
  return sets;
}

/** All the endpoint's rules as one list: what its ruleCount counts. */
export function allRules(e: EndpointInputs): firewall.TaggedRules {
  const sets = endpointRuleSets(e).map((s) => s.set);
  return { ...sets[0]!, rules: sets.flatMap((s) => s.rules) };
}

function familyRules(e: EndpointInputs, address: string, ports: readonly EndpointPort[]): firewall.TaggedRules {
  const target = address.split("/")[0] ?? "";
  const subnet = canonicalNetwork(address);
  const rules = ports.flatMap(
    (p) =>
      portForwardRules(
        { protocol: p.protocol, hostPort: p.hostPort, hostAddress: p.hostAddress, target, targetPort: p.targetPort, fromHost: true, hairpin: true, host: e.host, firewallBackend: e.firewallBackend, tag: e.tag },
        subnet,
      ).rules,
  );
  return { tag: e.tag, family: familyOf(address), rules };
}

/** The forwards' rules the stored outputs stood for; undefined for state this version cannot read. */
export function storedRules(olds: Props): firewall.TaggedRules[] | undefined {
  const parsed = endpointInputs.safeParse(olds);
  return parsed.success ? allRuleSets(parsed.data) : undefined;
}

/** The host ports an endpoint's forwards claim, in both families, each with its port's index. */
export function endpointClaims(e: EndpointInputs): PortClaim[] {
  return endpointRuleSets(e).flatMap(({ set, portIndexes }) => claimsOf(set, portIndexes));
}

/** The claims of the stored inputs (none for a new endpoint, or state this version cannot read). */
export function storedClaims(olds: Props): PortClaim[] {
  const parsed = endpointInputs.safeParse(olds);
  return parsed.success ? endpointClaims(parsed.data) : [];
}

/** What moving an endpoint's forwards needs from its stored outputs. */
export interface StoredForwards {
  readonly host?: string;
  readonly tag: string;
  readonly backend: BackendName | undefined;
  readonly family: firewall.IpFamily;
  readonly address: string;
  readonly ipv6Address?: string;
  readonly ruleCount: number;
}

/**
 * Moves the forwards' rules and [::1] proxies to what the inputs want. When that fails half-way
 * (a proxy cannot bind its port, a transaction is refused), the ones of the stored inputs
 * (`olds`) are put back, so that after a failed update the kernel holds what Pulumi's state holds.
 */
export async function moveForwards(runner: Runner, inputs: EndpointInputs, before: StoredForwards, olds: Props): Promise<BackendName | undefined> {
  try {
    const backend = await moveRuleSets(runner, inputs, before, before.backend);
    await forgetMoved(runner, inputs.host, storedRules(olds), allRuleSets(inputs));
    const proxies = loopbackProxies(inputs);
    // Stops the proxies no longer wanted (found by our tag), starts the missing or dead ones.
    if (proxies.length || ipv6TargetOf(before) !== undefined) await reconcileProxies(runner, inputs.host, inputs.tag, proxies);
    return backend;
  } catch (err) {
    const previous = endpointInputs.safeParse(olds);
    if (!previous.success) throw err;
    try {
      await restoreForwards(runner, inputs, previous.data, before);
    } catch (restoring) {
      throw new Error(`${(err as Error).message}; putting the previous forwards back failed too: ${(restoring as Error).message}`);
    }
    throw err;
  }
}

/** Puts back the rules and proxies of `previous` (the stored inputs), undoing a part-done move to `inputs`. */
async function restoreForwards(runner: Runner, inputs: EndpointInputs, previous: EndpointInputs, before: StoredForwards): Promise<void> {
  // Without rules before, the move may have made some in the backend the inputs choose.
  const backend = before.backend ?? inputs.firewallBackend;
  const wanted = allRuleSets(previous);
  for (const family of new Set([...familiesOf(before), ...allRuleSets(inputs).map((set) => set.family)])) {
    if (inputs.tag !== previous.tag) await applyRules(runner, inputs.host, backend, { tag: inputs.tag, family, rules: [] });
    await applyRules(runner, previous.host, backend, wanted.find((set) => set.family === family) ?? { tag: previous.tag, family, rules: [] });
  }
  if (inputs.tag !== previous.tag) await reconcileProxies(runner, inputs.host, inputs.tag, []);
  await reconcileProxies(runner, previous.host, previous.tag, loopbackProxies(previous));
}

/**
 * Makes each family's rules what the inputs want, the families the endpoint had before
 * included (a family it no longer has loses its rules). Returns the backend they are in.
 */
export async function moveRuleSets(runner: Runner, inputs: EndpointInputs, before: StoredForwards, backend: BackendName | undefined): Promise<BackendName | undefined> {
  const wanted = new Map(allRuleSets(inputs).map((set) => [set.family, set]));
  const had = familiesOf(before);
  for (const family of new Set([...had, ...wanted.keys()])) {
    const set = wanted.get(family) ?? { tag: inputs.tag, family, rules: [] };
    if (backend && had.includes(family)) await moveRules(runner, inputs.host, { ...before, backend, family }, set);
    else if (backend) await applyRules(runner, inputs.host, backend, set);
    else if (set.rules.length) backend = await applyRules(runner, inputs.host, inputs.firewallBackend, set);
  }
  return backend;
}
