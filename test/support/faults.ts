import type { Command, CommandResult, Runner } from "../../provider/exec";

export interface Fault {
  /** Which commands count, matched against the argv joined with spaces, a newline, then stdin (ip -batch lines). */
  readonly match: RegExp;
  /** The Nth matching command fails (1 for the first). */
  readonly nth?: number;
  /**
   * How it fails. Without this the command runs without CAP_NET_ADMIN, so the kernel itself
   * refuses it ("Operation not permitted"). With it, this runs first (e.g. a change by hand that
   * makes the kernel refuse the command) and the command then runs as it is.
   */
  readonly sabotage?: (command: Command) => Promise<void>;
}

/**
 * A runner that makes one command fail for real, half-way through whatever the provider is
 * doing: every other command goes to the wrapped runner (a sandbox's) unchanged.
 */
export class FaultRunner implements Runner {
  private seen = 0;
  /** The command that was made to fail, once it has, and how many commands ran before it. */
  fired: Command | undefined;
  firedAfter = -1;
  /** Every command, as text, in order. */
  readonly log: string[] = [];

  constructor(
    private readonly inner: Runner,
    private readonly fault: Fault,
  ) {}

  async run(command: Command): Promise<CommandResult> {
    const text = `${command.argv.join(" ")}\n${command.stdin ?? ""}`;
    this.log.push(text.trim());
    if (!this.fault.match.test(text) || ++this.seen !== (this.fault.nth ?? 1)) return this.inner.run(command);
    this.fired = command;
    this.firedAfter = this.log.length - 1;
    if (this.fault.sabotage) {
      await this.fault.sabotage(command);
      return this.inner.run(command);
    }
    return this.inner.run({ ...command, argv: ["setpriv", "--bounding-set", "-net_admin", "--", ...command.argv] });
  }
}
