import * as pulumi from "@pulumi/pulumi";

/** How to reach a machine over SSH: the shape of @pulumi/command's `remote.ConnectionArgs`. */
export interface ConnectionArgs {
  /** Host name or address of the machine. */
  host: pulumi.Input<string>;
  /** SSH port (default 22). */
  port?: pulumi.Input<number>;
  /** Login user (default root); it needs CAP_NET_ADMIN and CAP_SYS_ADMIN on the machine. */
  user?: pulumi.Input<string>;
  /** The private key's text (not a path). Without it, the agent and ssh's own identities are tried. */
  privateKey?: pulumi.Input<string>;
  /** The passphrase of an encrypted private key. */
  privateKeyPassword?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  /** An ssh-agent socket (default: SSH_AUTH_SOCK). */
  agentSocketPath?: pulumi.Input<string>;
  /** The machine's public host key ("ssh-ed25519 AAAA..."): only this key is accepted. */
  hostKey?: pulumi.Input<string>;
  /**
   * Without `hostKey`: "known-hosts" (default) checks ssh's known_hosts strictly, "accept-new"
   * records a machine seen for the first time, "ignore" checks nothing (as @pulumi/command does
   * without a hostKey; only for throw-away labs).
   */
  hostKeyPolicy?: pulumi.Input<"known-hosts" | "accept-new" | "ignore">;
  /** Seconds to wait for the connection (default 15). */
  perDialTimeout?: pulumi.Input<number>;
}

export interface MachineOptions {
  /**
   * The machine is gone for good (decommissioned, lost): nothing is asked of it. Its
   * resources stay in the state as they were until they are removed from the program or
   * destroyed, which then drops them without reaching it; declaring a new resource on it is
   * refused. What they made there, should it come back, `pulumi-hostnet gc --machine` lists.
   */
  gone?: boolean;
}

/**
 * A Linux machine that resources act on over SSH. Not an engine resource: a name and a
 * connection that every resource and component takes as `machine`. The name is the
 * machine's identity (it shows in ids, ownership tags and error messages): a new address,
 * port or key for the same name updates its resources in place. The connection is stored
 * as a secret in the state.
 */
export class Machine {
  constructor(
    readonly name: string,
    readonly connection: ConnectionArgs,
    readonly options: MachineOptions = {},
  ) {
    if (typeof name !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(name)) {
      throw new pulumi.RunError(`machine name ${JSON.stringify(name)} may use only letters, digits, '_', '.' and '-' (at most 63), and must not start with '-' or '.'`);
    }
  }
}

/** A key for per-machine bookkeeping in a program ("" for where Pulumi runs). */
export function machineKey(machine: Machine | undefined): string {
  return machine?.name ?? "";
}
