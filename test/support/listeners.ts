import { spawn, type ChildProcess } from "node:child_process";
import type { Place } from "./sandbox";

/**
 * Real listening sockets in a place's host netns (socat, one process each), as a host's own
 * services would hold ports: started by pid, killed by pid.
 */
export class Listeners {
  private readonly started: ChildProcess[] = [];

  constructor(private readonly place: () => Place) {}

  /** Starts socat with `address` as its listening end; resolves with its pid once ss shows the port. */
  async start(address: string, port: number, protocol: "tcp" | "udp"): Promise<number> {
    const [file, ...args] = [...this.place().prefix(), "socat", address, "SYSTEM:true"];
    // nsenter execs socat: the child's pid is the listener's.
    const child = spawn(file ?? "nsenter", args, { stdio: "ignore" });
    this.started.push(child);
    for (;;) {
      const listed = await this.place().run(["ss", "-H", protocol === "tcp" ? "-t" : "-u", "-l", "-n", "-p"]);
      if (listed.includes(`pid=${child.pid},`) && listed.includes(`:${port} `)) return child.pid!;
      if (child.exitCode !== null) throw new Error(`socat ${address} exited (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills every listener started here, by pid, and waits for each to be gone. */
  async stopAll(): Promise<void> {
    for (const child of this.started.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    }
  }
}
