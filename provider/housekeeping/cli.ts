#!/usr/bin/env node
// pulumi-hostnet gc|recover: housekeeping of a stack on this machine. See README "Housekeeping".
import { parseArgs } from "node:util";
import { ExecaRunner, type Runner } from "../exec";
import { findOrphans, removeOrphans } from "./gc";
import { recover } from "./recover";
import { MACHINE_OPTIONS, machineRunner, type MachineArgs } from "./machine";
import { lockFiles, parseStackRef, PulumiCli } from "./stack";

const USAGE = `usage:
  pulumi-hostnet gc --stack ORG/PROJECT/STACK [--host NETNS] [--cwd DIR] [--delete] [MACHINE]
      lists this machine's kernel objects tagged by the stack that its state does not hold;
      --delete removes them (rules, then links, then namespaces; sysctls back to their original)
  pulumi-hostnet recover --stack ORG/PROJECT/STACK [--cwd DIR] [--force] [MACHINE]
      after a killed \`pulumi up\`: repairs a cut checkpoint of a file backend, then
      \`pulumi cancel\` and \`pulumi refresh --clear-pending-creates\`; refuses while the
      lock's process runs (--force: a lock taken on another machine, known to be dead)
  MACHINE: act on a remote machine over SSH instead of this one:
      --machine [USER@]HOST[:PORT]   (USER default root, PORT 22; [IPV6]:PORT)
      --name NAME                    the Machine's name, for messages (default HOST)
      --key FILE                     private key file (default: the agent and ssh's own keys)
      --host-key "TYPE BASE64"       the machine's public host key: only it is accepted
      --host-key-policy known-hosts|accept-new|ignore   without --host-key (default known-hosts)
      --agent-socket PATH            an ssh-agent socket (default SSH_AUTH_SOCK)`;

class UsageError extends Error {}

const say = (line: string) => console.log(line);

async function gc(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { stack: { type: "string" }, host: { type: "string" }, cwd: { type: "string" }, delete: { type: "boolean", default: false }, ...MACHINE_OPTIONS } });
  if (!values.stack) throw new UsageError("gc needs --stack ORG/PROJECT/STACK");
  const stack = parseStackRef(values.stack);
  const local = new ExecaRunner();
  const cli = new PulumiCli(local, values.cwd);
  const { runner, where } = target(local, values);
  // An update holding the lock is making objects its state does not show yet: they are not orphans.
  const backendDir = await cli.fileBackend();
  const locks = backendDir ? lockFiles(backendDir, stack) : [];
  if (locks.length) throw new Error(`gc ${stack.qualified}: the stack is locked (${locks.join(", ")}): an update is running, or was killed (then run \`pulumi-hostnet recover --stack ${stack.qualified}\` first)`);
  const held = await cli.held(stack);
  const { orphans, leftAlone } = await findOrphans(runner, { tagPrefix: stack.tagPrefix, held, host: values.host });
  say(`gc ${stack.qualified} on ${where}: the state holds ${held.resources} resources (${held.tags.size} tags); objects tagged ${stack.tagPrefix}* it does not hold:`);
  for (const o of orphans) say(`orphan ${o.kind} ${o.what}: ${o.why}`);
  for (const line of leftAlone) say(`left alone: ${line}`);
  if (!values.delete) {
    say(`${orphans.length} orphans (dry run: nothing removed; --delete removes them)`);
    return 0;
  }
  const errors = await removeOrphans(orphans, say);
  say(`${orphans.length - errors.length} of ${orphans.length} orphans removed${errors.length ? `, ${errors.length} failed` : ""}`);
  return errors.length ? 1 : 0;
}

async function recoverCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { stack: { type: "string" }, cwd: { type: "string" }, force: { type: "boolean", default: false }, ...MACHINE_OPTIONS } });
  if (!values.stack) throw new UsageError("recover needs --stack ORG/PROJECT/STACK");
  const stack = parseStackRef(values.stack);
  const local = new ExecaRunner();
  const { runner, where } = target(local, values);
  const cli = new PulumiCli(local, values.cwd);
  await recover(cli, stack, say, { force: values.force });
  if (values.machine !== undefined) {
    // What the killed run made on that machine and the state does not hold: the next `up` adopts
    // what its program still declares; gc --delete removes the rest.
    const { orphans } = await findOrphans(runner, { tagPrefix: stack.tagPrefix, held: await cli.held(stack) });
    say(`on ${where}, objects tagged ${stack.tagPrefix}* the state does not hold: ${orphans.length}`);
    for (const o of orphans) say(`orphan ${o.kind} ${o.what}: ${o.why}`);
  }
  say(`recovered ${stack.qualified}: run \`pulumi up\` to converge`);
  return 0;
}

/** This machine, or the one `--machine` names over SSH. */
function target(local: Runner, values: MachineArgs): { runner: Runner; where: string } {
  if (values.machine === undefined) return { runner: local, where: "this machine" };
  try {
    const runner = machineRunner(values, local);
    return { runner, where: `machine ${runner.label}` };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "gc") return await gc(rest);
    if (command === "recover") return await recoverCommand(rest);
    if (command === "help" || command === "--help" || command === "-h") {
      say(USAGE);
      return 0;
    }
    throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs throws TypeErrors with codes for unknown or malformed options: usage errors too.
    const usage = err instanceof UsageError || (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"));
    console.error(`pulumi-hostnet ${command ?? ""}: ${message}${usage ? `\n${USAGE}` : ""}`);
    return usage ? 2 : 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
