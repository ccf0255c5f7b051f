import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { Netns } from "../kernel";
import { admit } from "../exec";
import { isUnknown, validate } from "./validation";

/** Bumped when the shape of stored outputs changes, so new code can read old state. */
export const SCHEMA_VERSION = 1;

export type Props = Record<string, unknown>;

/**
 * The namespace an object lives in: its own `namespace` when given, else the netns that plays
 * the host (`host`), else the namespace the provider runs in.
 */
export function whereOf(namespace: string | undefined, host: string | undefined): Netns {
  return namespace || host || undefined;
}

/** Text for messages: "netns web" or "the host". */
export function describeWhere(netns: Netns): string {
  return netns ? `netns ${netns}` : "the host netns";
}

/** Text for ids: the netns name, or "-" for the provider's own namespace. */
export function idPart(netns: Netns): string {
  return netns ?? "-";
}

export type Ownership = "ours" | "other-stack" | "foreign";

/** Links carry our tag in their alias; anything else is not ours to touch. */
export function ownershipOf(alias: string | undefined, tag: string): Ownership {
  if (alias === tag) return "ours";
  if (alias?.startsWith("hostnet:")) return "other-stack";
  return "foreign";
}

/** "hostnet:proj/stack/" of a tag: what every tag of one stack starts with. */
export function stackPrefixOf(tag: string): string {
  const [project = "", stack = ""] = tag.replace(/^hostnet:/, "").split("/");
  return `hostnet:${project}/${stack}/`;
}

/** Who holds a tagged object, for messages: `another stack's (alias "...")` or `another resource of this stack's`. */
export function ownerOf(alias: string, tag: string): string {
  const sameStack = alias.startsWith(stackPrefixOf(tag));
  return `${sameStack ? "another resource of this stack" : "another stack"} (alias "${alias}")`;
}

/**
 * Whether a create may take an existing object: this resource's own leftover (its tag), or an
 * untagged one with `adopt: true`. An object tagged by another stack or another of our
 * resources is never taken, adopt or not: two owners would reconfigure and delete it under
 * each other (two overlays adopting one bridge merged their VNIs at layer 2).
 */
export function takeOver(what: string, alias: string | undefined, tag: string, adopt: boolean): Ownership {
  const ownership = ownershipOf(alias, tag);
  if (ownership === "other-stack" || (ownership === "foreign" && !adopt)) throw refusal(what, ownership, alias, tag);
  return ownership;
}

/** Why another owner's object is not taken: no advice to adopt, which would not help. */
export function neverTaken(what: string, owner: string): string {
  return `${what} already exists and belongs to ${owner}; it is never taken over, not even with \`adopt: true\`: choose another name, or remove it from its owner first`;
}

/** Why an existing object is not taken; the advice to adopt only where adopting is allowed (untagged). */
export function refusal(what: string, ownership: Ownership, alias: string | undefined, tag: string): Error {
  if (ownership === "other-stack" && alias !== undefined) return new Error(neverTaken(what, ownerOf(alias, tag)));
  return new Error(
    `${what} already exists and it was not created by pulumi-hostnet; to manage it, set \`adopt: true\` on this resource, or on the BridgeNetwork, OverlayNetwork or ContainerNetwork that declares it (the existing object is then reconfigured as declared and deleted on destroy)`,
  );
}

/** Undo steps of a create, run in reverse when a later step fails. */
export class Rollback {
  private readonly steps: Array<() => Promise<void>> = [];

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Runs every undo step, newest first, keeping on after errors; returns the original error. */
  async unwind(cause: unknown): Promise<Error> {
    const errors: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        // Admitted: after the provider stopped new commands (its engine is gone), undo steps still run.
        await admit(step);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    const error = cause instanceof Error ? cause : new Error(String(cause));
    if (errors.length) error.message += ` (rollback also failed: ${errors.join("; ")})`;
    return error;
  }

  /** Runs `body`; on failure unwinds what it registered and rethrows. */
  static async guard<T>(body: (rollback: Rollback) => Promise<T>): Promise<T> {
    const rollback = new Rollback();
    try {
      return await body(rollback);
    } catch (err) {
      throw await rollback.unwind(err);
    }
  }
}

/** Order-insensitive comparison of string lists (addresses). */
export function sameSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const left = [...new Set(a ?? [])].sort();
  const right = [...new Set(b ?? [])].sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    if (a.every((v) => typeof v === "string") && b.every((v) => typeof v === "string")) return sameSet(a as string[], b as string[]);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface FieldRule {
  /** Dotted path into inputs/outputs, e.g. "peer.addresses". */
  readonly path: string;
  /** What a change of this field needs from the kernel. */
  readonly change: "update" | "replace";
  /** When true, an absent input means "leave the kernel's value alone" (e.g. mtu). */
  readonly optional?: boolean;
}

function at(obj: Props, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Props)[k] : undefined), obj);
}

/**
 * A diff from declared rules: olds are the stored outputs (the kernel as last read), news the
 * checked inputs. Unknown new values count as changes. A replacement deletes first when the
 * kernel name of any object it makes stays the same (two objects of one name cannot coexist).
 */
export function diffByRules(
  olds: Props,
  news: Props,
  rules: readonly FieldRule[],
  /** Groups of fields that name one kernel object (e.g. [name, namespace, host]). */
  kernelIdentities: readonly (readonly string[])[],
): pulumi.dynamic.DiffResult {
  const replaces: string[] = [];
  const updates: string[] = [];
  for (const rule of rules) {
    const newValue = at(news, rule.path);
    if (rule.optional && newValue === undefined) continue;
    const oldValue = at(olds, rule.path);
    if (!isUnknown(newValue) && same(oldValue, newValue)) continue;
    (rule.change === "replace" ? replaces : updates).push(rule.path.split(".")[0] ?? rule.path);
  }
  const identityKept = kernelIdentities.some((group) => group.every((p) => !isUnknown(at(news, p)) && same(at(olds, p), at(news, p))));
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    changes: replaces.length + updates.length > 0,
    replaces: uniq(replaces),
    deleteBeforeReplace: replaces.length > 0 && identityKept,
  };
}

/** check() from a zod schema: defaults applied, failures named by property. */
export function checkWith<T extends z.ZodTypeAny>(schema: T, news: Props): pulumi.dynamic.CheckResult {
  const { value, failures } = validate(schema, news);
  if (failures.length) return { failures };
  return { inputs: (value as Props | undefined) ?? news };
}
