import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Runner } from "../exec";
import { idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { checkFlows, flowInputs, flowResult, mismatchMessage, misbehaves, sendFlow, type FlowResult } from "./probe";
import { isUnknown, netnsName } from "./validation";

export const reachabilityInputs = z.object({
  /** Where flows without a namespace leave from (default: the namespace the provider runs in). */
  host: netnsName.optional(),
  flows: z.array(flowInputs).min(1, "flows must declare at least one flow").max(1000, "at most 1000 flows in one Reachability"),
  /** Flows in flight at once: blocked flows wait out their timeout side by side. */
  parallel: z.number().int("parallel must be an integer").min(1, "parallel must be 1-64").max(64, "parallel must be 1-64").default(16),
});
export type ReachabilityInputs = z.infer<typeof reachabilityInputs>;

export interface ReachabilityOutputs extends ReachabilityInputs {
  /** One per flow, in the order of `flows`. */
  readonly results: FlowResult[];
  readonly schemaVersion: number;
}

/** Runs `work` over `items`, at most `limit` at once, keeping the order of the results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A promise's value or its error's message: one flow's failure does not hide the others'. */
async function settled<T>(work: Promise<T>): Promise<{ value?: T; error?: string }> {
  try {
    return { value: await work };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function failOnErrors(outcomes: readonly { error?: string }[], what: string): void {
  const errors = outcomes.flatMap((o, i) => (o.error !== undefined ? [`flows[${i}]: ${o.error}`] : []));
  if (errors.length) throw new Error(`${errors.length} of ${outcomes.length} ${what}:\n${errors.join("\n")}`);
}

/**
 * Many declared flows as one resource: a network policy's table of flows, proven with real
 * packets side by side on create, update and refresh, as a Probe proves one. One resource is
 * one engine step (and one checkpoint) for all of them; `pulumi up` fails naming every flow
 * that does not behave, each with what was sent, what came back and the likely hop.
 */
export class ReachabilityProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkFlows(this.runner, reachabilityInputs, news, (r) => ({ flows: r.flows, host: r.host, at: (i) => `flows[${i}].` }));
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const changed = (["host", "flows", "parallel"] as const).some((f) => isUnknown(news[f]) || JSON.stringify(olds[f]) !== JSON.stringify(news[f]));
    // A refresh that saw flows differ from `expect` left that in `results`: prove them again.
    const stored = olds as Partial<ReachabilityOutputs>;
    const drifted = (stored.results ?? []).some((r, i) => r.observed !== stored.flows?.[i]?.expect);
    return { changes: changed || drifted, replaces: [], deleteBeforeReplace: false };
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = reachabilityInputs.parse(raw);
    return { id: `reachability/${idPart(whereOf(undefined, inputs.host))}/${inputs.flows.length}`, outs: await this.prove(inputs) };
  }

  async update(_id: string, _olds: Props, raw: Props): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await this.prove(reachabilityInputs.parse(raw)) };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = reachabilityInputs.parse(props);
    const sent = await mapLimited(stored.flows, stored.parallel, (flow) => settled(sendFlow(this.runner, flow, stored.host)));
    failOnErrors(sent, "flows could not be sent");
    const results = sent.map((s) => flowResult(s.value!));
    return { id, props: { ...stored, results, schemaVersion: SCHEMA_VERSION } };
  }

  async delete(): Promise<void> {
    // Probes leave nothing in the kernel.
  }

  private async prove(inputs: ReachabilityInputs): Promise<ReachabilityOutputs> {
    const outcomes = await mapLimited(inputs.flows, inputs.parallel, (flow) =>
      settled(
        (async () => {
          const where = whereOf(flow.namespace, inputs.host);
          const outcome = await sendFlow(this.runner, flow, inputs.host);
          return { result: flowResult(outcome), problem: misbehaves(flow, outcome) ? await mismatchMessage(this.runner, flow, where, outcome) : undefined };
        })(),
      ),
    );
    // A flow that could not be sent (its namespace missing) is named like one that misbehaved.
    const problems = outcomes.flatMap((o, i) => (o.error ? [`flows[${i}]: ${o.error}`] : o.value?.problem ? [`flows[${i}]: ${o.value.problem}`] : []));
    if (problems.length) throw new Error(`${problems.length} of ${inputs.flows.length} flows did not behave as declared:\n${problems.join("\n")}`);
    return { ...inputs, results: outcomes.map((o) => o.value!.result), schemaVersion: SCHEMA_VERSION };
  }
}
