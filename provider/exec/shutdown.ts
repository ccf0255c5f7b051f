import { AsyncLocalStorage } from "node:async_hooks";
import { CommandError } from "./errors";

/** Commands run in this context are let through after new work stopped (undo steps, admitted batches). */
const admitted = new AsyncLocalStorage<true>();
let stoppedBecause: string | undefined;

/**
 * Refuses every command from now on, except undo steps and commands admitted before: an
 * operation under way fails at its next command and rolls back what it made, rather than
 * going on making objects nobody will record.
 */
export function stopNewCommands(reason: string): void {
  stoppedBecause = reason;
}

/** Runs `work` with its commands let through after a stop (a rollback's undo steps). */
export function admit<T>(work: () => Promise<T>): Promise<T> {
  return admitted.run(true, work);
}

/** Throws when new commands are stopped and this one was not admitted. */
export function refuseWhenStopped(argv: readonly string[]): void {
  if (stoppedBecause !== undefined && !admitted.getStore()) throw new CommandError(argv, undefined, stoppedBecause, "other");
}
