import type * as pulumi from "@pulumi/pulumi";
import { isUnreachable, SshRunner, type Runner } from "../exec";
import type { Props } from "./common";
import { DRY_RUN_KEY, SECRET_INPUTS_KEY } from "./dry-run";
import { connectionInput, isUnknown, machineName, redactFailures, UNKNOWN, validate, type CheckFailure, type ConnectionInput } from "./validation";

/**
 * A resource's machine: inputs `machine` (its name) and `connection` (how to reach it) place
 * it on a remote Linux machine; without them it acts where the provider runs. Every kind gets
 * this from one wrapper: the kind's own provider is made once per machine with that machine's
 * runner, so kernel wrappers, `ip -batch` merging (per runner: per machine and netns) and
 * firewall coalescing stay as they are.
 */
export interface Placement {
  readonly machine: string;
  readonly connection: ConnectionInput;
}

/** Splits the placement off a resource's properties. */
function split(props: Props): { placement: { machine?: unknown; connection?: unknown; dryRun?: unknown }; rest: Props; secretPaths: string[] } {
  const { machine, connection, [DRY_RUN_KEY]: dryRun, [SECRET_INPUTS_KEY]: secrets, ...rest } = props;
  const secretPaths = Array.isArray(secrets) ? secrets.filter((p): p is string => typeof p === "string") : [];
  return { placement: { machine, connection, dryRun }, rest, secretPaths };
}

/** The secret paths inside `connection`, relative to it ("privateKey"); all of it when it is secret whole. */
function connectionSecrets(secretPaths: readonly string[]): string[] {
  if (secretPaths.includes("connection")) return Object.keys(connectionInput.shape);
  return secretPaths.filter((p) => p.startsWith("connection.")).map((p) => p.slice("connection.".length));
}

function placementOf(props: Props): Placement | undefined {
  const { placement } = split(props);
  if (placement.machine === undefined && placement.connection === undefined) return undefined;
  return { machine: placement.machine as string, connection: connectionInput.parse(placement.connection) };
}

/**
 * Same machine: the kernel objects are where they were. A machine's name is its identity: a
 * new address, port or key of the same name is a new way to reach the same objects.
 */
function sameMachine(a: Placement | undefined, b: Placement | undefined): boolean {
  if (!a || !b) return a === b;
  return a.machine === b.machine;
}

/** Machines named gone for this run by the environment (`HOSTNET_GONE_MACHINES=m1,m2 pulumi destroy`). */
function goneByEnvironment(machine: string): boolean {
  return (process.env.HOSTNET_GONE_MACHINES ?? "").split(/[\s,]+/).includes(machine);
}

function withPlacement(props: Props, placement: Placement | undefined): Props {
  return placement ? { ...props, machine: placement.machine, connection: placement.connection } : props;
}

/** Ids of remote objects say which machine: "m1:bridge/-/br0". */
function placedId(id: string, placement: Placement | undefined): string {
  return placement && id ? `${placement.machine}:${id}` : id;
}

/** One runner per machine per provider process: one multiplexed connection each. */
export class MachineRunners {
  private readonly runners = new Map<string, SshRunner>();
  /** Each machine's connection as this run's program declares it (seen by check), by name. */
  private readonly declared = new Map<string, ConnectionInput>();

  constructor(private readonly local: Runner) {}

  /** Records how the program declares a machine now: later operations of this run use it. */
  declare(placement: Placement): void {
    this.declared.set(placement.machine, placement.connection);
  }

  /**
   * Where a stored resource is to be reached now: its machine by name, through the connection
   * this run's program declares for that name when it declares one (the state may hold an
   * older address, port or key), else the stored one; gone when the program or the
   * environment says so.
   */
  current(stored: Placement | undefined): Placement | undefined {
    if (!stored) return undefined;
    const connection = this.declared.get(stored.machine) ?? stored.connection;
    return { machine: stored.machine, connection: goneByEnvironment(stored.machine) ? { ...connection, gone: true } : connection };
  }

  forPlacement(placement: Placement | undefined): Runner {
    if (!placement) return this.local;
    return this.ssh(placement);
  }

  ssh(placement: Placement): SshRunner {
    const key = JSON.stringify([placement.machine, placement.connection]);
    let runner = this.runners.get(key);
    if (!runner) this.runners.set(key, (runner = new SshRunner(placement.machine, placement.connection, this.local)));
    return runner;
  }
}

/**
 * The provider of one kind that acts on whichever machine a resource names. `makeFor` makes
 * the kind's provider for a runner; it is called once per machine.
 */
export function placed(makeFor: (runner: Runner) => pulumi.dynamic.ResourceProvider, runners: MachineRunners): pulumi.dynamic.ResourceProvider {
  const byRunner = new Map<Runner, pulumi.dynamic.ResourceProvider>();
  const on = (placement: Placement | undefined): pulumi.dynamic.ResourceProvider => {
    const runner = runners.forPlacement(placement);
    let provider = byRunner.get(runner);
    if (!provider) byRunner.set(runner, (provider = makeFor(runner)));
    return provider;
  };
  const local = on(undefined);

  const checkPlaced = async (olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> => {
    const { placement, rest, secretPaths } = split(news);
    if (placement.machine === undefined && placement.connection === undefined) return local.check ? local.check(split(olds).rest, rest) : { inputs: rest };
    const failures = [
      ...(placement.machine === undefined
        ? [{ property: "machine", reason: "a connection needs a machine name" }]
        : validate(machineName, placement.machine).failures.map((f) => ({ property: "machine", reason: f.reason }))),
      ...validate(connectionInput, placement.connection, connectionSecrets(secretPaths)).failures.map((f) => ({ property: `connection.${f.property}`, reason: f.reason })),
    ];
    if (failures.length) return { failures };
    const unknown = isUnknown(placement.machine) || JSON.stringify(placement.connection ?? {}).includes(UNKNOWN);
    const where = unknown ? undefined : placementOf(news);
    if (where) runners.declare(where);
    if (where?.connection.gone) {
      // Nothing is asked of a machine that is gone: the resource keeps its state until it is
      // removed or destroyed, which then leaves the machine alone.
      if (split(olds).placement.machine !== where.machine) {
        return { failures: [{ property: "machine", reason: `machine ${where.machine} is declared gone (gone: true): nothing can be made on it; remove this resource, or drop \`gone\` once the machine is back` }] };
      }
      return { inputs: { ...rest, machine: where.machine, connection: where.connection } };
    }
    if (where) {
      // Reach the machine now, so `pulumi preview` already names one that cannot be reached,
      // refuses our key or host key, lacks `ip` or the capabilities we need.
      try {
        await runners.ssh(where).connect();
      } catch (err) {
        const outage = isUnreachable(err) && placement.dryRun === false;
        if (!outage) return { failures: [{ property: "machine", reason: (err as Error).message }] };
      }
    }
    const provider = where ? on(where) : local;
    const result = provider.check ? await provider.check(split(olds).rest, rest) : { inputs: rest };
    if (result.failures?.length) return result;
    return { ...result, inputs: { ...(result.inputs ?? rest), machine: placement.machine, connection: where?.connection ?? placement.connection } };
  };

  return {
    async check(olds, news) {
      const { secretPaths } = split(news);
      const result = await checkPlaced(olds, news);
      // Whatever check found wrong, a secret input's value is not quoted in it.
      return result.failures?.length ? { failures: redactFailures(result.failures as CheckFailure[], news, secretPaths) } : result;
    },

    async diff(id, olds, news) {
      const before = placementOf(olds);
      const unknownName = isUnknown(news.machine);
      const unknownConnection = JSON.stringify(news.connection ?? {}).includes(UNKNOWN);
      const after = unknownName || unknownConnection ? undefined : placementOf(news);
      const provider = on(before);
      const inner = provider.diff ? await provider.diff(id, split(olds).rest, split(news).rest) : { changes: false };
      // The name is known and the same, the connection not known yet (preview): an update in place.
      if (!unknownName && unknownConnection && before?.machine === news.machine) return { ...inner, changes: true };
      if (unknownName || !sameMachine(before, after)) {
        // Another machine: make it there, and take it away from here first (its kernel name
        // may be taken on this machine by the new one when both are the same machine).
        return { changes: true, replaces: [...(inner.replaces ?? []), "machine"], deleteBeforeReplace: true };
      }
      // The same machine reached another way (address, port, key) or declared gone: an update
      // in place that changes no kernel object, so later operations (deletes too) use it.
      const connection = JSON.stringify(before?.connection) !== JSON.stringify(after?.connection);
      if (after?.connection.gone) return { changes: connection || inner.changes === true };
      return connection && !inner.changes ? { ...inner, changes: true } : inner;
    },

    async create(inputs) {
      const where = placementOf(inputs);
      const result = await on(where).create(split(inputs).rest);
      return { id: placedId(result.id, where), outs: withPlacement(result.outs ?? {}, where) };
    },

    async read(id, props) {
      const where = runners.current(placementOf(props ?? {}));
      if (where?.connection.gone) return { id, props }; // nothing to read there: the state stays as it is
      const provider = on(where);
      if (!provider.read) return { id, props };
      const innerId = where && id.startsWith(`${where.machine}:`) ? id.slice(where.machine.length + 1) : id;
      const result = await provider.read(innerId, split(props ?? {}).rest);
      return { id: placedId(result.id ?? "", where), props: withPlacement(result.props ?? {}, placementOf(props ?? {})) };
    },

    async update(id, olds, news) {
      const where = placementOf(news);
      // A machine gone: the state records it, the machine is not asked.
      if (where?.connection.gone) return { outs: withPlacement(split(olds).rest, where) };
      const provider = on(where);
      const innerId = where && id.startsWith(`${where.machine}:`) ? id.slice(where.machine.length + 1) : id;
      const inner = provider.diff ? await provider.diff(innerId, split(olds).rest, split(news).rest) : { changes: true };
      // Only the connection changed: nothing to do in the kernel; the state takes the new one.
      if (!inner.changes || !provider.update) return { outs: withPlacement(split(olds).rest, where) };
      const result = await provider.update(innerId, split(olds).rest, split(news).rest);
      return { outs: withPlacement(result.outs ?? {}, where) };
    },

    async delete(id, props) {
      const where = runners.current(placementOf(props));
      // Gone for good: the resource leaves the state; what it made there is for `gc --machine` once the machine is back.
      if (where?.connection.gone) return;
      const provider = on(where);
      const innerId = where && id.startsWith(`${where.machine}:`) ? id.slice(where.machine.length + 1) : id;
      if (provider.delete) await provider.delete(innerId, split(props).rest);
    },
  };
}
