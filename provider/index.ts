// Entry point the serialized provider stubs load by package name ("pulumi-hostnet/provider")
// at call time, so Pulumi's state carries a few lines per kind instead of this implementation.
import type * as pulumi from "@pulumi/pulumi";
import { ExecaRunner } from "./exec";
import { makeProviders, type ResourceKind } from "./resources";

export * from "./exec";
export * as kernel from "./kernel";
export * from "./resources";

let providers: Record<ResourceKind, pulumi.dynamic.ResourceProvider> | undefined;

/** The provider for one kind, sharing one runner for the whole provider process. */
export function providerFor(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  providers ??= makeProviders(new ExecaRunner());
  const provider = providers[kind];
  if (!provider) throw new Error(`pulumi-hostnet: unknown resource kind "${kind}" (state written by a newer version?)`);
  return provider;
}
