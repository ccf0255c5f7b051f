import { z } from "zod";
import { isNotFound, type Runner } from "../exec";
import { ip, ipJson, type Netns } from "./ip";
import { OUR_ROUTE_PROTOCOL } from "./route";
import { parseIpJson } from "./schemas";

/** Rules are marked like routes: by their protocol number (they have no alias or comment either). */
export const OUR_RULE_PROTOCOL = OUR_ROUTE_PROTOCOL;

export const RULE_ACTIONS = ["lookup", "blackhole", "unreachable", "prohibit"] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

/** The table numbers iproute2 names itself (rt_tables' reserved values). */
const BUILTIN_TABLES: Readonly<Record<string, string>> = { main: "254", local: "255", default: "253" };

/** The number of a table given as a number or a built-in name; undefined for another name. */
export function builtinTableId(table: string): string | undefined {
  return /^[0-9]+$/.test(table) ? table : BUILTIN_TABLES[table];
}

/** What tells a rule apart at its priority: the selector. */
export interface RuleSelector {
  readonly family: "ipv4" | "ipv6";
  readonly priority: number;
  /** Canonical CIDRs (network/len). */
  readonly from?: string;
  readonly to?: string;
  readonly iif?: string;
  readonly oif?: string;
  readonly fwmark?: number;
  /** Omitted means all bits (0xffffffff), as the kernel prints it. */
  readonly fwmask?: number;
}

export interface RuleSpec extends RuleSelector {
  readonly action: RuleAction;
  /** For lookup: a number or a name iproute2 knows (rt_tables). */
  readonly table?: string;
}

export interface RuleState extends RuleSelector {
  readonly action: RuleAction | string;
  /** The table's number (read with -N), for lookup rules. */
  readonly tableId: string | undefined;
  readonly protocol: string;
  readonly ours: boolean;
}

const FULL_MASK = 0xffffffff;
const hex = (n: number) => `0x${n.toString(16)}`;

function familyFlag(family: RuleSelector["family"]): string {
  return family === "ipv6" ? "-6" : "-4";
}

function selectorWords(s: RuleSelector): string[] {
  const mark = s.fwmark === undefined ? [] : ["fwmark", s.fwmask === undefined || s.fwmask === FULL_MASK ? hex(s.fwmark) : `${hex(s.fwmark)}/${hex(s.fwmask)}`];
  return [
    "from", s.from ?? "all",
    ...(s.to ? ["to", s.to] : []),
    ...(s.iif ? ["iif", s.iif] : []),
    ...(s.oif ? ["oif", s.oif] : []),
    ...mark,
    "priority", String(s.priority),
  ];
}

/** `ip rule add|del` argv of one of our rules; `del` removes only a rule with our protocol and this exact action. */
export function ruleArgv(verb: "add" | "del", spec: RuleSpec): string[] {
  const action = spec.action === "lookup" ? ["lookup", spec.table ?? "main"] : [spec.action];
  return [familyFlag(spec.family), "rule", verb, ...selectorWords(spec), ...action, "protocol", String(OUR_RULE_PROTOCOL)];
}

/** Text that names a rule in ids and messages: "from 10.0.0.0/24 fwmark 0x1 priority 100". */
export function describeSelector(s: RuleSelector): string {
  return selectorWords(s).join(" ");
}

export async function addRule(runner: Runner, netns: Netns, spec: RuleSpec): Promise<void> {
  await ip(runner, netns, ruleArgv("add", spec));
}

/** Deletes our rule (our protocol, this action and table); one already gone is success. */
export async function deleteRule(runner: Runner, netns: Netns, spec: RuleSpec): Promise<void> {
  try {
    await ip(runner, netns, ruleArgv("del", spec));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

// `ip -N -json rule show`: absent src/dst mean "all"; a host address has no length; the
// fwmask is left out when it is all ones; the table is a number with -N.
const ipRuleSchema = z.object({
  priority: z.number(),
  src: z.string().optional(),
  srclen: z.number().optional(),
  dst: z.string().optional(),
  dstlen: z.number().optional(),
  iif: z.string().optional(),
  oif: z.string().optional(),
  fwmark: z.string().optional(),
  fwmask: z.string().optional(),
  table: z.union([z.string(), z.number()]).optional(),
  action: z.union([z.string(), z.number()]).optional(),
  protocol: z.union([z.string(), z.number()]).optional(),
});

/**
 * With -N, iproute2 (6.1 measured) prints an action by its number (FRA_ACTION: 6 blackhole,
 * 7 unreachable, 8 prohibit; 2 goto, 3 nop), as a string or a number: read both as names.
 */
const ACTION_NAMES: Readonly<Record<string, string>> = { "2": "goto", "3": "nop", "6": "blackhole", "7": "unreachable", "8": "prohibit" };

function actionName(action: string | number | undefined): string {
  if (action === undefined) return "lookup";
  return ACTION_NAMES[String(action)] ?? String(action);
}

function prefix(address: string | undefined, length: number | undefined, family: RuleSelector["family"]): string | undefined {
  if (address === undefined || address === "all") return undefined;
  return `${address}/${length ?? (family === "ipv6" ? 128 : 32)}`;
}

/** Parses `ip -N -json rule show` of one family into rule states. */
export function parseRules(out: string, family: RuleSelector["family"]): RuleState[] {
  return parseIpJson(ipRuleSchema, out, "rules").map((r) => {
    const protocol = String(r.protocol ?? "unspec");
    const fwmask = r.fwmask === undefined ? undefined : Number.parseInt(r.fwmask, 16);
    return {
      family,
      priority: r.priority,
      from: prefix(r.src, r.srclen, family),
      to: prefix(r.dst, r.dstlen, family),
      iif: r.iif,
      oif: r.oif,
      fwmark: r.fwmark === undefined ? undefined : Number.parseInt(r.fwmark, 16),
      fwmask: fwmask === FULL_MASK ? undefined : fwmask,
      action: actionName(r.action),
      tableId: r.action === undefined && r.table !== undefined ? String(r.table) : undefined,
      protocol,
      ours: protocol === String(OUR_RULE_PROTOCOL),
    };
  });
}

/** The rules of one family at one priority; empty when the namespace is gone. */
export async function rulesAt(runner: Runner, netns: Netns, family: RuleSelector["family"], priority: number): Promise<RuleState[]> {
  let out: string;
  try {
    out = await ipJson(runner, netns, ["-N", familyFlag(family), "rule", "show", "priority", String(priority)]);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  return parseRules(out, family);
}

/** Whether two rules have the same selector (so the kernel tries them as one entry at that priority). */
export function sameSelector(a: RuleSelector, b: RuleSelector): boolean {
  const mask = (s: RuleSelector) => (s.fwmark === undefined ? undefined : (s.fwmask ?? FULL_MASK));
  return a.family === b.family && a.priority === b.priority && a.from === b.from && a.to === b.to && a.iif === b.iif && a.oif === b.oif && a.fwmark === b.fwmark && mask(a) === mask(b);
}

/** Every rule of ours (protocol 212) in a namespace, both families; none when the namespace is gone. */
export async function listOurRules(runner: Runner, netns: Netns): Promise<RuleState[]> {
  const found: RuleState[] = [];
  for (const family of ["ipv4", "ipv6"] as const) {
    try {
      found.push(...parseRules(await ipJson(runner, netns, ["-N", familyFlag(family), "rule", "show"]), family).filter((r) => r.ours));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }
  return found;
}
