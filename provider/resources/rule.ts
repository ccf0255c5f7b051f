import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isExists, type Runner } from "../exec";
import { addRule, builtinTableId, deleteRule, describeSelector, OUR_RULE_PROTOCOL, RULE_ACTIONS, rulesAt, sameSelector, type Netns, type RuleSpec, type RuleState } from "../kernel";
import { checkWith, describeWhere, diffByRules, idPart, Rollback, SCHEMA_VERSION, whereOf, type Props } from "./common";
import { canonicalNetwork, interfaceName, ipAddress, maybeFamilyOf, netnsName, networkCidr } from "./validation";

/** A rule's from/to: a network (10.1.0.0/24) or one address (10.1.0.7, kept as 10.1.0.7/32). */
const ruleNetwork = z
  .string()
  .superRefine((s, ctx) => {
    const parsed = (s.includes("/") ? networkCidr : ipAddress).safeParse(s);
    for (const issue of parsed.success ? [] : parsed.error.issues) ctx.addIssue({ code: "custom", message: `${s}: ${issue.message}` });
  })
  .transform((s) => canonicalNetwork(s.includes("/") ? s : `${s}/${s.includes(":") ? 128 : 32}`));

/** A table by number, or by a name iproute2 knows on the machine (rt_tables; never edited by us). */
const tableRef = z.union([
  z.number().int().min(1, "table must be from 1 to 4294967295").max(4294967295, "table must be from 1 to 4294967295").transform(String),
  z
    .string()
    .regex(/^([0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,63})$/, "table must be a number from 1 to 4294967295 or a name defined in /etc/iproute2/rt_tables")
    .refine((t) => !/^[0-9]+$/.test(t) || (Number(t) >= 1 && Number(t) <= 4294967295), "table must be from 1 to 4294967295"),
]);

const u32 = (what: string) => z.number().int(`${what} must be an integer`).min(0, `${what} must not be negative`).max(0xffffffff, `${what} must fit in 32 bits`);

export const ruleInputs = z
  .object({
    namespace: netnsName.optional(),
    host: netnsName.optional(),
    /** Inferred from `from`/`to`; needed (default ipv4) only when neither is given. */
    family: z.enum(["ipv4", "ipv6"]).optional(),
    /** Required: the kernel tries rules in priority order, and it is half of a rule's identity. */
    priority: z.number().int("priority must be an integer").min(1, "priority must be at least 1 (0 is the kernel's local rule)").max(4294967295, "priority must be at most 4294967295"),
    from: ruleNetwork.optional(),
    to: ruleNetwork.optional(),
    iif: interfaceName.optional(),
    oif: interfaceName.optional(),
    fwmark: u32("fwmark").optional(),
    fwmask: u32("fwmask").min(1, "fwmask must not be 0").optional(),
    action: z.enum(RULE_ACTIONS).default("lookup"),
    table: tableRef.optional(),
    adopt: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    const families = (["from", "to"] as const).flatMap((field) => {
      const family = r[field] ? maybeFamilyOf(r[field]) : undefined;
      return family ? [{ field, family }] : [];
    });
    const declared = r.family ?? families[0]?.family;
    for (const { field, family } of families) {
      if (declared && family !== declared) ctx.addIssue({ code: "custom", path: [field], message: `${r[field]} is ${family} but the rule is ${declared}` });
    }
    if (r.fwmask !== undefined && r.fwmark === undefined) ctx.addIssue({ code: "custom", path: ["fwmask"], message: "fwmask needs fwmark" });
    if (r.action !== "lookup" && r.table !== undefined) ctx.addIssue({ code: "custom", path: ["table"], message: `a ${r.action} rule looks up no table` });
    // Rules carry no mark but their protocol: one made by someone else is never changed.
    if (r.adopt) ctx.addIssue({ code: "custom", path: ["adopt"], message: "routing rules are never adopted: pulumi-hostnet only touches rules with protocol 212; remove the other rule by hand or use another priority" });
  })
  .transform((r) => ({
    ...r,
    family: r.family ?? (r.from ? maybeFamilyOf(r.from) : undefined) ?? (r.to ? maybeFamilyOf(r.to) : undefined) ?? "ipv4",
    table: r.action === "lookup" ? (r.table ?? "main") : undefined,
  }));
export type RuleInputs = z.infer<typeof ruleInputs>;

export interface RuleOutputs extends RuleInputs {
  /** The table's number (a name resolved by iproute2 on the machine). */
  readonly tableId: string | undefined;
  readonly protocol: string;
  readonly schemaVersion: number;
}

function specOf(r: Pick<RuleInputs, "family" | "priority" | "from" | "to" | "iif" | "oif" | "fwmark" | "fwmask" | "action" | "table">): RuleSpec {
  return { family: r.family, priority: r.priority, from: r.from, to: r.to, iif: r.iif, oif: r.oif, fwmark: r.fwmark, fwmask: r.fwmask, action: r.action, table: r.table };
}

/** Whether a rule in the kernel does what the spec says (its table given by number). */
function doesSame(rule: RuleState, spec: RuleSpec, tableId: string | undefined): boolean {
  return rule.action === spec.action && (spec.action !== "lookup" || tableId === undefined || rule.tableId === tableId);
}

/**
 * A policy routing rule (`ip rule`), marked as ours by protocol 212 like our routes. A rule
 * with the same selector at the same priority that is not ours is refused, never touched.
 */
export class RoutingRuleProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly runner: Runner) {}

  async check(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
    return checkWith(ruleInputs, news);
  }

  async diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
    const selector = ["namespace", "host", "family", "priority", "from", "to", "iif", "oif", "fwmark", "fwmask"];
    return diffByRules(olds, news, [
      ...selector.map((path) => ({ path, change: "replace" as const })),
      { path: "action", change: "update" },
      { path: "table", change: "update" },
    ], [selector]);
  }

  async create(raw: Props): Promise<pulumi.dynamic.CreateResult> {
    const inputs = ruleInputs.parse(raw);
    const where = whereOf(inputs.namespace, inputs.host);
    const spec = specOf(inputs);
    const what = `rule ${describeSelector(spec)} (${inputs.family}) in ${describeWhere(where)}`;
    return Rollback.guard(async (rollback) => {
      // One look first: the kernel takes a second rule with the same selector and priority
      // without complaint, and one of the two would then never match.
      const same = (await rulesAt(this.runner, where, inputs.family, inputs.priority)).filter((r) => sameSelector(r, spec));
      const foreign = same.find((r) => !r.ours);
      if (foreign) throw new Error(`${what} already exists (proto ${foreign.protocol}) and was not created by pulumi-hostnet; it is never changed: remove it by hand or choose another priority`);
      const knownId = builtinTableId(inputs.table ?? "");
      const mine = same.find((r) => doesSame(r, spec, knownId));
      if (!mine && same.length > 0) {
        const other = same[0]!;
        throw new Error(`${what} already exists with protocol ${OUR_RULE_PROTOCOL} but ${other.action === "lookup" ? `looks up table ${other.tableId}` : `is ${other.action}`} (another resource or stack of pulumi-hostnet?); remove it or choose another priority`);
      }
      if (!mine) {
        try {
          await addRule(this.runner, where, spec);
          rollback.push(() => deleteRule(this.runner, where, spec));
        } catch (err) {
          if (!isExists(err)) throw err; // made meanwhile with our protocol: ours
        }
      }
      const tableId = spec.action !== "lookup" ? undefined : (knownId ?? (await this.tableIdOf(where, spec)));
      return { id: `rule/${idPart(where)}/${inputs.family}/${describeSelector(spec).replaceAll(" ", ",")}`, outs: this.outputs(inputs, tableId) };
    });
  }

  async read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
    const stored = props as unknown as RuleOutputs;
    const spec = specOf(stored);
    const ours = (await rulesAt(this.runner, whereOf(stored.namespace, stored.host), stored.family, stored.priority)).filter((r) => r.ours && sameSelector(r, spec));
    const rule = ours.find((r) => doesSame(r, spec, stored.tableId)) ?? ours[0];
    if (!rule) return { id: "", props: {} };
    const sameTable = rule.tableId === stored.tableId;
    return { id, props: { ...stored, action: rule.action, table: sameTable ? stored.table : rule.tableId, tableId: rule.tableId } };
  }

  async update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
    const before = olds as unknown as RuleOutputs;
    const inputs = ruleInputs.parse(news);
    const where = whereOf(inputs.namespace, inputs.host);
    // Rules cannot be changed in place: the new one first, so the selector never goes unmatched.
    const spec = specOf(inputs);
    try {
      await addRule(this.runner, where, spec);
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    const tableId = spec.action !== "lookup" ? undefined : (builtinTableId(inputs.table ?? "") ?? (await this.tableIdOf(where, spec)));
    // "main" and "254" are one rule: deleting the old spelling would delete the new rule.
    if (before.action !== spec.action || (spec.action === "lookup" && before.tableId !== tableId)) await deleteRule(this.runner, where, specOf(before));
    return { outs: this.outputs(inputs, tableId) };
  }

  async delete(_id: string, props: Props): Promise<void> {
    const stored = props as unknown as RuleOutputs;
    await deleteRule(this.runner, whereOf(stored.namespace, stored.host), specOf(stored));
  }

  /** The number of a table given by a name from rt_tables, as the kernel now has it in our rule. */
  private async tableIdOf(where: Netns, spec: RuleSpec): Promise<string | undefined> {
    const rules = await rulesAt(this.runner, where, spec.family, spec.priority);
    return rules.find((r) => r.ours && r.action === "lookup" && sameSelector(r, spec))?.tableId;
  }

  /** What we just wrote; `ip rule add` fails rather than half-apply, so no read-back. */
  private outputs(inputs: RuleInputs, tableId: string | undefined): RuleOutputs {
    return { ...inputs, tableId, protocol: String(OUR_RULE_PROTOCOL), schemaVersion: SCHEMA_VERSION };
  }
}
