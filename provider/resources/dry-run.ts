/**
 * Set by the SDK on a resource with a machine: whether the program runs as a preview. check
 * reaches the machine either way; one it cannot reach fails the preview, while during an
 * update it fails only that resource's own create or update, so with `--continue-on-error`
 * the other machines' work completes. (A module of its own: the SDK loads nothing else here.)
 */
export const DRY_RUN_KEY = "__hostnetDryRun";

/**
 * Set by the SDK on a Probe or Reachability during a preview when a namespace it names may be
 * made by this program (given as an output of a resource, or behind `dependsOn`): preview
 * cannot tell a missing namespace from one not made yet, so check leaves it to create. Never stored.
 */
export const NAMESPACES_PENDING_KEY = "__hostnetNamespacesPending";

/**
 * Set by the SDK on every resource: the property paths of the inputs the program marked
 * secret ("connection.privateKey", "flows[0].address"). Pulumi hands a dynamic provider's
 * check plain values, so without it check could not tell a secret from any other value and
 * would quote it in a failure. Removed by check; never stored.
 */
export const SECRET_INPUTS_KEY = "__hostnetSecretInputs";
