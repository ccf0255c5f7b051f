// Entry point the serialized provider stubs load by package name ("pulumi-hostnet/provider")
// at call time, so Pulumi's state carries a few lines per kind instead of this implementation.
import { appendFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { exitWithEngine, track } from "./engine-watch";
import { ExecaRunner } from "./exec";
import { makePlacedProviders, type ResourceKind } from "./resources";

export * from "./exec";
export * as kernel from "./kernel";
export * from "./resources";

let providers: Record<ResourceKind, pulumi.dynamic.ResourceProvider> | undefined;

/**
 * With HOSTNET_TRACE_FILE set, every provider call appends one JSON line {kind, method,
 * start, end} (epoch ms) to that file: the benchmark tells provider time from engine time.
 */
function traced(kind: string, provider: pulumi.dynamic.ResourceProvider, file: string): pulumi.dynamic.ResourceProvider {
  const wrapped: Record<string, unknown> = {};
  for (const [method, fn] of Object.entries(provider)) {
    if (typeof fn !== "function") continue;
    wrapped[method] = async (...args: unknown[]) => {
      const start = Date.now();
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        appendFileSync(file, `${JSON.stringify({ kind, method, start, end: Date.now() })}\n`);
      }
    };
  }
  return wrapped as unknown as pulumi.dynamic.ResourceProvider;
}

/** Every kind's provider with its operations counted (see exitWithEngine). */
function counted(made: Record<ResourceKind, pulumi.dynamic.ResourceProvider>): Record<ResourceKind, pulumi.dynamic.ResourceProvider> {
  const wrap = (provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider => {
    const wrapped: Record<string, unknown> = {};
    for (const [method, fn] of Object.entries(provider)) {
      if (typeof fn === "function") wrapped[method] = (...args: unknown[]) => track(() => (fn as (...a: unknown[]) => Promise<unknown>).apply(provider, args));
    }
    return wrapped as unknown as pulumi.dynamic.ResourceProvider;
  };
  return Object.fromEntries(Object.entries(made).map(([k, p]) => [k, wrap(p)])) as Record<ResourceKind, pulumi.dynamic.ResourceProvider>;
}

/** The provider for one kind, sharing one runner (one per remote machine) for the whole provider process. */
export function providerFor(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  if (!providers) {
    // In Pulumi's dynamic-provider host (not in a test or a program): end with the engine.
    if (/dynamic-provider/.test(process.argv[1] ?? "")) exitWithEngine();
    const made = counted(makePlacedProviders(new ExecaRunner()));
    const traceFile = process.env.HOSTNET_TRACE_FILE;
    providers = traceFile
      ? (Object.fromEntries(Object.entries(made).map(([k, p]) => [k, traced(k, p, traceFile)])) as typeof made)
      : made;
  }
  const provider = providers[kind];
  if (!provider) throw new Error(`pulumi-hostnet: unknown resource kind "${kind}" (state written by a newer version?)`);
  return provider;
}
