import { readFileSync } from "node:fs";
import { SshRunner, type Runner, type SshConnection } from "../exec";
import { connectionInput, validate } from "../resources/validation";

/** The options that name a remote machine, as a Machine's connection does. */
export const MACHINE_OPTIONS = {
  machine: { type: "string" },
  name: { type: "string" },
  key: { type: "string" },
  "host-key": { type: "string" },
  "host-key-policy": { type: "string" },
  "agent-socket": { type: "string" },
} as const;

export interface MachineArgs {
  machine?: string;
  name?: string;
  key?: string;
  "host-key"?: string;
  "host-key-policy"?: string;
  "agent-socket"?: string;
}

/** "[user@]host[:port]", with an IPv6 host in brackets when a port follows. */
export function parseMachineAddress(text: string): { user?: string; host: string; port?: number } {
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+|[0-9a-fA-F:]+)(?::(\d+))?$/.exec(text);
  if (!match) throw new Error(`bad --machine "${text}": expected [USER@]HOST[:PORT], e.g. root@192.168.77.1:22 or root@[fd00::1]:22`);
  const [, user, host = "", port] = match;
  return { user, host: host.replace(/^\[|\]$/g, ""), port: port === undefined ? undefined : Number(port) };
}

/** An SSH runner for `--machine` and its key options, checked as a Machine's connection is. */
export function machineRunner(args: MachineArgs, local: Runner): SshRunner {
  const address = parseMachineAddress(args.machine ?? "");
  let privateKey: string | undefined;
  if (args.key !== undefined) {
    try {
      privateKey = readFileSync(args.key, "utf8");
    } catch (err) {
      throw new Error(`--key ${args.key}: ${(err as Error).message}`);
    }
  }
  const given = { ...address, privateKey, hostKey: args["host-key"], hostKeyPolicy: args["host-key-policy"], agentSocketPath: args["agent-socket"] };
  const checked = validate(connectionInput, JSON.parse(JSON.stringify(given)) as unknown);
  if (!checked.value) throw new Error(`bad --machine options: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  return new SshRunner(args.name ?? address.host, checked.value as SshConnection, local);
}
