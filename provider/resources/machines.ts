import type * as pulumi from "@pulumi/pulumi";
import { isUnreachable, SshRunner, type Runner } from "../exec";
import type { Props } from "./common";
import { DRY_RUN_KEY } from "./dry-run";
import { connectionInput, isUnknown, machineName, UNKNOWN, validate, type ConnectionInput } from "./validation";

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
function split(props: Props): { placement: { machine?: unknown; connection?: unknown; dryRun?: unknown }; rest: Props } {
  const { machine, connection, [DRY_RUN_KEY]: dryRun, ...rest } = props;
  return { placement: { machine, connection, dryRun }, rest };
}

function placementOf(props: Props): Placement | undefined {
  const { placement } = split(props);
  if (placement.machine === undefined && placement.connection === undefined) return undefined;
  return { machine: placement.machine as string, connection: connectionInput.parse(placement.connection) };
}

/** Same machine: the kernel objects are where they were. */
function sameMachine(a: Placement | undefined, b: Placement | undefined): boolean {
  if (!a || !b) return a === b;
  return a.machine === b.machine && a.connection.host === b.connection.host && a.connection.port === b.connection.port;
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

  constructor(private readonly local: Runner) {}

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

  return {
    async check(olds, news) {
      const { placement, rest } = split(news);
      if (placement.machine === undefined && placement.connection === undefined) return local.check ? local.check(split(olds).rest, rest) : { inputs: rest };
      const failures = [
        ...(placement.machine === undefined
          ? [{ property: "machine", reason: "a connection needs a machine name" }]
          : validate(machineName, placement.machine).failures.map((f) => ({ property: "machine", reason: f.reason }))),
        ...validate(connectionInput, placement.connection).failures.map((f) => ({ property: `connection.${f.property}`, reason: f.reason })),
      ];
      if (failures.length) return { failures };
      const unknown = isUnknown(placement.machine) || JSON.stringify(placement.connection ?? {}).includes(UNKNOWN);
      const where = unknown ? undefined : placementOf(news);
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
    },

    async diff(id, olds, news) {
      const before = placementOf(olds);
      const unknown = JSON.stringify([news.machine, news.connection]).includes(UNKNOWN);
      const after = unknown ? undefined : placementOf(news);
      const provider = on(before);
      const inner = provider.diff ? await provider.diff(id, split(olds).rest, split(news).rest) : { changes: false };
      if (unknown || !sameMachine(before, after)) {
        // Another machine: make it there, and take it away from here first (its kernel name
        // may be taken on this machine by the new one when both are the same machine).
        return { changes: true, replaces: [...(inner.replaces ?? []), "machine"], deleteBeforeReplace: true };
      }
      const credentials = JSON.stringify(before?.connection) !== JSON.stringify(after?.connection);
      return credentials && !inner.changes ? { ...inner, changes: true } : inner;
    },

    async create(inputs) {
      const where = placementOf(inputs);
      const result = await on(where).create(split(inputs).rest);
      return { id: placedId(result.id, where), outs: withPlacement(result.outs ?? {}, where) };
    },

    async read(id, props) {
      const where = placementOf(props ?? {});
      const provider = on(where);
      if (!provider.read) return { id, props };
      const innerId = where && id.startsWith(`${where.machine}:`) ? id.slice(where.machine.length + 1) : id;
      const result = await provider.read(innerId, split(props ?? {}).rest);
      return { id: placedId(result.id ?? "", where), props: withPlacement(result.props ?? {}, where) };
    },

    async update(id, olds, news) {
      const where = placementOf(news);
      const provider = on(where);
      const innerId = where && id.startsWith(`${where.machine}:`) ? id.slice(where.machine.length + 1) : id;
      const inner = provider.diff ? await provider.diff(innerId, split(olds).rest, split(news).rest) : { changes: true };
      // Only the credentials changed: nothing to do in the kernel; the state takes the new ones.
      if (!inner.changes || !provider.update) return { outs: withPlacement(split(olds).rest, where) };
      const result = await provider.update(innerId, split(olds).rest, split(news).rest);
      return { outs: withPlacement(result.outs ?? {}, where) };
    },

    async delete(id, props) {
      const where = placementOf(props);
      const provider = on(where);
      const innerId = where && id.startsWith(`${where.machine}:`) ? id.slice(where.machine.length + 1) : id;
      if (provider.delete) await provider.delete(innerId, split(props).rest);
    },
  };
}
