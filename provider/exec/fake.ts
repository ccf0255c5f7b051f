import { CommandError } from "./errors";
import type { Command, CommandResult, Runner } from "./runner";

type Responder = (command: Command) => CommandResult | CommandError | undefined;

/**
 * Records every command and answers from a list of responders (first non-undefined wins);
 * unanswered commands succeed with empty output. For unit tests of argv building and parsing.
 */
export class FakeRunner implements Runner {
  readonly calls: Command[] = [];
  private readonly responders: Responder[] = [];

  /** Answer commands whose argv starts with `argvPrefix` (and that match netns when given). */
  on(argvPrefix: readonly string[], answer: CommandResult | CommandError | ((c: Command) => CommandResult | CommandError)): this {
    this.responders.push((command) => {
      const matches = argvPrefix.every((word, i) => command.argv[i] === word);
      if (!matches) return undefined;
      return typeof answer === "function" ? answer(command) : answer;
    });
    return this;
  }

  async run(command: Command): Promise<CommandResult> {
    this.calls.push(command);
    for (const responder of this.responders) {
      const answer = responder(command);
      if (answer instanceof CommandError) throw answer;
      if (answer) return answer;
    }
    return { stdout: "", stderr: "" };
  }

  /** The argv of every call, joined, for compact expectations. */
  get lines(): string[] {
    return this.calls.map((c) => (c.netns ? `[${c.netns}] ` : "") + c.argv.join(" "));
  }
}
