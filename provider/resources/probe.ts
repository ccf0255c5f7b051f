import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isUnreachable, type Runner } from "../exec";
import { listNetns, MissingNetnsError, routeHint, runProbe, runProbeWithResponder, type Netns, type ProbeEvidence, type ProbeOutcome, type ProbeSpec } from "../kernel";
import { checkWith, describeWhere, idPart, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { NAMESPACES_PENDING_KEY } from "./dry-run";
import { ipAddress, isUnknown, maybeFamilyOf, netnsName } from "./validation";

const portNumber = z.number().int("port must be an integer").min(1, "port must be 1-65535 (0 is not a port)").max(65535, "port must be 1-65535");

/** One flow's fields; `host` is where a flow without `namespace` leaves from. */
const flowShape = {
  /** The source namespace: ours, one made by others (by name), or none for the host. */
  namespace: netnsName.optional(),
  host: netnsName.optional(),
  protocol: z.enum(["icmp", "tcp", "udp"]),
  address: ipAddress,
  port: portNumber.optional(),
  expect: z.enum(["reachable", "blocked"]),
  source: ipAddress.optional(),
  count: z.number().int("count must be an integer").min(1, "count must be 1-20").max(20, "count must be 1-20").default(1),
  /** Seconds per attempt; a `blocked` flow costs the whole of it. */
  timeout: z.number().min(0.2, "timeout must be 0.2-60 seconds").max(60, "timeout must be 0.2-60 seconds").default(2),
  /**
   * A listener started for the probe's duration where the target is (tcp, udp): "reachable"
   * then means the packets arrived in that namespace, and a refusal can only be a firewall's.
   */
  responder: z
    .object({
      /** The namespace that holds the target (unset: the host, or `host`). */
      namespace: netnsName.optional(),
      /** The port the packets arrive on there (default: the probe's; another after a DNAT). */
      port: portNumber.optional(),
    })
    .strict()
    .optional(),
};

function refineFlow(p: { protocol: string; port?: number; source?: string; address: string; responder?: object }, ctx: z.RefinementCtx): void {
  if (isUnknown(p.protocol)) return;
  if (p.protocol === "icmp" && p.responder !== undefined) ctx.addIssue({ code: "custom", path: ["responder"], message: "a responder listens for tcp and udp; an echo reply already comes from the target's own stack" });
  if (p.protocol === "icmp" && p.port !== undefined && !isUnknown(p.port)) {
    ctx.addIssue({ code: "custom", path: ["port"], message: `port ${p.port} given for protocol icmp, which has no ports` });
  }
  if (p.protocol !== "icmp" && p.port === undefined) ctx.addIssue({ code: "custom", path: ["port"], message: `port is required for protocol ${p.protocol}` });
  if (p.source === undefined || isUnknown(p.source) || isUnknown(p.address)) return;
  const sf = maybeFamilyOf(p.source);
  const af = maybeFamilyOf(p.address);
  if (sf && af && sf !== af) ctx.addIssue({ code: "custom", path: ["source"], message: `source ${p.source} is ${sf} but address ${p.address} is ${af}` });
}

export const probeInputs = z.object({ ...flowShape, adopt: z.boolean().optional() }).superRefine(refineFlow);
/** A flow of a Reachability: a Probe's fields but `host`, which the set gives for all its flows. */
export const flowInputs = z.object(flowShape).omit({ host: true }).superRefine(refineFlow);
export type ProbeInputs = z.infer<typeof probeInputs>;
type FlowInputs = z.infer<typeof flowInputs>;

export type Observed = "reachable" | "blocked";

/** What a flow's outcome is stored as (a Probe's outputs, a Reachability's results). */
export interface FlowResult {
  readonly observed: Observed;
  readonly evidence: ProbeEvidence;
  readonly detail: string;
}

export function flowResult(outcome: ProbeOutcome): FlowResult {
  return { observed: outcome.reached ? "reachable" : "blocked", evidence: outcome.evidence, detail: outcome.detail };
}

/** Whether an outcome fails the flow: not as `expect` says, or the probe could not run. */
export function misbehaves(flow: { readonly expect: Observed }, outcome: ProbeOutcome): boolean {
  return outcome.evidence === "error" || flowResult(outcome).observed !== flow.expect;
}

export interface ProbeOutputs extends ProbeInputs, FlowResult {
  readonly schemaVersion: number;
}

export function specOf(p: FlowInputs): ProbeSpec {
  return { protocol: p.protocol, address: p.address, count: p.count, timeout: p.timeout, ...(p.port !== undefined ? { port: p.port } : {}), ...(p.source ? { source: p.source } : {}) };
}

/** "tcp 10.0.3.2:80 from netns web (source 10.0.3.1)". */
export function describeFlow(p: FlowInputs, where: Netns): string {
  const target = p.port !== undefined ? `${p.address.includes(":") ? `[${p.address}]` : p.address}:${p.port}` : p.address;
  const responder = p.responder ? ` (responder in ${p.responder.namespace ? `netns ${p.responder.namespace}` : "the host netns"})` : "";
  return `${p.protocol} ${target} from ${describeWhere(where)}${p.source ? ` (source ${p.source})` : ""}${responder}`;
}

/**
 * Sends one flow from its namespace (`host` when it names none), with its responder if it has
 * one. A namespace that is not there fails, naming the flow and the namespace.
 */
export async function sendFlow(runner: Runner, p: FlowInputs, host: string | undefined): Promise<ProbeOutcome & { readonly argv: readonly string[] }> {
  const where = whereOf(p.namespace, host);
  try {
    if (!p.responder) return await runProbe(runner, where, specOf(p));
    return await runProbeWithResponder(runner, where, specOf(p), { netns: whereOf(p.responder.namespace, host), port: p.responder.port ?? p.port ?? 0 });
  } catch (err) {
    if (err instanceof MissingNetnsError) throw new Error(`probe ${describeFlow(p, where)}: ${err.message}`);
    throw err;
  }
}

/** The namespaces a flow names, each with the property that names it (for check's failures). */
function namespacesOf(p: FlowInputs, host: string | undefined, at: string): { property: string; name: string }[] {
  const named = [
    { property: `${at}namespace`, name: p.namespace },
    { property: `${at}responder.namespace`, name: p.responder?.namespace },
    // `host` stands in for a namespace left unset: the netns that plays the host must be there.
    { property: "host", name: p.namespace === undefined || (p.responder !== undefined && p.responder.namespace === undefined) ? host : undefined },
  ];
  return named.filter((n): n is { property: string; name: string } => n.name !== undefined && !isUnknown(n.name));
}

/**
 * check's look at the kernel: every namespace the flows name must exist, so `pulumi preview`
 * already refuses a probe from nowhere. Skipped when the SDK says a namespace may be made by
 * this program (NAMESPACES_PENDING_KEY) and when the machine cannot be reached.
 */
export async function missingNamespaces(runner: Runner, flows: readonly FlowInputs[], host: string | undefined, at: (i: number) => string): Promise<{ property: string; reason: string }[]> {
  const wanted = flows.flatMap((f, i) => namespacesOf(f, host, at(i)));
  if (wanted.length === 0) return [];
  let present: Set<string>;
  try {
    present = new Set(await listNetns(runner));
  } catch (err) {
    if (isUnreachable(err)) return [];
    throw err;
  }
  const failures = wanted.filter((w) => !present.has(w.name)).map((w) => ({ property: w.property, reason: new MissingNetnsError(w.name).message }));
  return failures.filter((f, i) => failures.findIndex((g) => g.property === f.property) === i);
}

/** check(): the schema, then (unless pending) the namespaces on the kernel. */
export async function checkFlows<T extends z.ZodTypeAny>(runner: Runner, schema: T, news: Props, flowsOf: (inputs: z.infer<T>) => { flows: readonly FlowInputs[]; host: string | undefined; at: (i: number) => string }): Promise<pulumi.dynamic.CheckResult> {
  const { [NAMESPACES_PENDING_KEY]: pending, ...rest } = news;
  const result = checkWith(schema, rest);
  const known = schema.safeParse(result.inputs ?? {});
  if (result.failures?.length || !known.success || pending === true) return result;
  const { flows, host, at } = flowsOf(known.data);
  const failures = await missingNamespaces(runner, flows, host, at);
  return failures.length ? { failures } : result;
}

/** The sentence `pulumi up` fails with: what was sent, from where, what came back, and the likely hop. */
export async function mismatchMessage(runner: Runner, p: FlowInputs, where: Netns, outcome: ProbeOutcome & { readonly argv: readonly string[] }): Promise<string> {
  const head = `probe ${describeFlow(p, where)}: expected ${p.expect}, observed ${flowResult(outcome).observed}: ${outcome.detail} (sent with: ${outcome.argv.join(" ")})`;
  if (outcome.evidence === "error") return head;
  const route = await routeHint(runner, where, p.address, p.source);
  const routeText = `route in ${describeWhere(where)}: ${route.text}`;
  let hop: string;
  if (outcome.reached) hop = "nothing on the way filters this flow";
  else if (!route.routed) hop = `likely hop: the source namespace itself, which has no route to ${p.address}`;
  // Only with a responder is a refusal "blocked": the responder would have taken the flow.
  else if (outcome.evidence === "refused") hop = "likely hop: a firewall on the way that rejects it";
  else if (outcome.from) hop = `likely hop: ${outcome.from}, which sent the ICMP error`;
  else if (route.gateway) hop = `likely hop: the gateway ${route.gateway} or beyond (a drop, or no route back)`;
  else hop = `likely hop: the target or its link (no answer on a directly connected network)`;
  return `${head}; ${routeText}; ${hop}`;
}

/**
 * A declared flow proven with real packets: create and update send the probe and fail when the
 * flow does not behave as `expect` says; read sends it again and reports `observed`, so a flow
 * that changed shows as drift in `pulumi refresh` and the next `pulumi up` proves it again.
 * Nothing in the kernel is changed and nothing is left running; delete has nothing to remove.
 */
export class ProbeProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkFlows(this.runner, probeInputs, news, (p) => ({ flows: [p], host: p.host, at: () => "" }));
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const fields = ["namespace", "host", "protocol", "address", "port", "expect", "source", "count", "timeout", "responder"] as const;
    const changed = fields.some((f) => isUnknown(news[f]) || JSON.stringify(olds[f]) !== JSON.stringify(news[f]));
    // A refresh that saw the flow differ from `expect` leaves that in `observed`: prove it again.
    const drifted = olds.observed !== undefined && olds.observed !== news.expect;
    return { changes: changed || drifted, replaces: [], deleteBeforeReplace: false };
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = probeInputs.parse(raw);
    const outs = await this.prove(inputs);
    return { id: `probe/${idPart(whereOf(inputs.namespace, inputs.host))}/${inputs.protocol}/${inputs.address}/${inputs.port ?? "-"}`, outs };
  }

  async update(_id: string, _olds: Props, raw: Props): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await this.prove(probeInputs.parse(raw)) };
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = probeInputs.parse(props);
    return { id, props: this.outputs(stored, await sendFlow(this.runner, stored, stored.host)) };
  }

  async delete(): Promise<void> {
    // A probe leaves nothing in the kernel.
  }

  private async prove(inputs: ProbeInputs): Promise<ProbeOutputs> {
    const where = whereOf(inputs.namespace, inputs.host);
    const outcome = await sendFlow(this.runner, inputs, inputs.host);
    if (misbehaves(inputs, outcome)) throw new Error(await mismatchMessage(this.runner, inputs, where, outcome));
    return this.outputs(inputs, outcome);
  }

  private outputs(inputs: ProbeInputs, outcome: ProbeOutcome): ProbeOutputs {
    return { ...inputs, ...flowResult(outcome), schemaVersion: SCHEMA_VERSION };
  }
}
