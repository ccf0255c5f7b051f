import { spawn, type ChildProcess } from "node:child_process";
import { readlinkSync } from "node:fs";
import type { Place } from "./sandbox";

/**
 * A "container" someone else made: a process in a network namespace of its own (`unshare
 * --net`), started inside a place (a test's sandbox). Killed by its pid with `kill()`.
 */
export class ForeignContainer {
  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {}

  static async start(place: Place): Promise<ForeignContainer> {
    // nsenter and unshare exec without forking: the child's pid is the container's.
    const child = spawn("nsenter", ["-t", String(place.pid), "-n", "-m", "--", "unshare", "--net", "sleep", "600"], { stdio: "ignore" });
    const pid = child.pid;
    if (pid === undefined) throw new Error("could not start the container process");
    const outer = readlinkSync(`/proc/${place.pid}/ns/net`);
    for (let i = 0; i < 200; i++) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) !== outer) return new ForeignContainer(child, pid);
      } catch {
        // not yet there
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGKILL");
    throw new Error(`container process ${pid} did not get a netns of its own`);
  }

  /** argv that runs `argv` inside the container's netns (through the place's runner). */
  inside(argv: string[]): string[] {
    return ["nsenter", "-t", String(this.pid), "-n", "--", ...argv];
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGKILL");
    await exited;
  }
}
