import * as pulumi from "@pulumi/pulumi";

/**
 * Runs a component's planning (`body`) so that what it finds wrong in the program (an address
 * outside the subnet, a port forwarded twice) reads as that component's error, the way Pulumi
 * shows a resource's own error, and not as a crash with a stack trace: a ResourceError with
 * its stack hidden.
 */
export function planned<T>(component: pulumi.Resource, what: string, body: () => T): T {
  try {
    return body();
  } catch (err) {
    throw asComponentError(component, what, err);
  }
}

/** The error `err`, met while planning `component`, as that component's error. */
export function asComponentError(component: pulumi.Resource, what: string, err: unknown): Error {
  if (pulumi.ResourceError.isInstance(err) || pulumi.RunError.isInstance(err)) return err as Error;
  return new pulumi.ResourceError(`${what}: ${err instanceof Error ? err.message : String(err)}`, component, true);
}
