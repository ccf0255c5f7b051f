import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Machine } from "./machine";

/** Module of the type tokens: resources show as `pulumi-nodejs:dynamic/hostnet:<Type>`. */
export const TYPE_MODULE = "hostnet";

/** Arguments every resource takes about where it acts. */
export interface PlacementArgs {
  /**
   * The named netns that plays the host (where host-side objects go, and the default for
   * `namespace`). Defaults to stack config `hostnet:host`, else the namespace Pulumi runs in.
   */
  host?: pulumi.Input<string>;
  /** Take over an existing kernel object of the same name that pulumi-hostnet did not make. */
  adopt?: pulumi.Input<boolean>;
  /** The machine to act on, over SSH (default: the one Pulumi runs on). */
  machine?: Machine;
}

export function defaultHost(): string | undefined {
  return new pulumi.Config("hostnet").get("host") || undefined;
}

/** nft rule comments hold at most 128 bytes; the tag stays below that. */
const MAX_TAG = 120;

/**
 * The mark written into the kernel objects a resource makes (link alias, nft rule comment):
 * unique per project, stack and resource, so two stacks never take each other's objects.
 * A long one is shortened with a hash of the whole, so it stays unique.
 */
export function ownershipTag(resourceName: string, machine?: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.@-]/g, "_");
  const tag = `hostnet:${clean(pulumi.getProject())}/${clean(pulumi.getStack())}/${clean(resourceName)}${machine ? `@${clean(machine)}` : ""}`;
  if (tag.length <= MAX_TAG) return tag;
  const hash = createHash("sha256").update(tag).digest("hex").slice(0, 12);
  return `${tag.slice(0, MAX_TAG - hash.length - 1)}~${hash}`;
}
