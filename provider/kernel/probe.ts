import { z } from "zod";
import { CommandError, type Command, type Runner } from "../exec";
import { ipJson, type Netns } from "./ip";
import { parseIpJson } from "./schemas";

export type ProbeProtocol = "icmp" | "tcp" | "udp";

/** One flow to try from a namespace: what is sent, to where, how often, how long to wait. */
export interface ProbeSpec {
  readonly protocol: ProbeProtocol;
  readonly address: string;
  /** tcp/udp only. */
  readonly port?: number;
  readonly source?: string;
  /** Echo requests (icmp) or connection attempts (tcp/udp). */
  readonly count: number;
  /** Seconds to wait for an answer, per attempt. */
  readonly timeout: number;
}

/**
 * What came back. "answer": an echo reply or an accepted connection. "refused": a TCP RST or
 * an ICMP port unreachable: the target's own stack (nothing listens there), or a firewall on
 * the way that rejects, which looks the same from the sender (a responder tells them apart).
 * "unreachable": an ICMP error from some hop (host/net unreachable, filtered). "no-route":
 * the source namespace had no route (or a hop said the network is unreachable). "nothing":
 * silence until the timeout. "error": the probe itself could not run (source address not
 * local, tool missing).
 */
export type ProbeEvidence = "answer" | "refused" | "unreachable" | "no-route" | "nothing" | "error";

export interface ProbeOutcome {
  /** Whether the target's stack was reached (an answer or a refusal from it). */
  readonly reached: boolean;
  readonly evidence: ProbeEvidence;
  /** Deterministic words (no timings), so a refresh shows a change only when the outcome changed. */
  readonly detail: string;
  /** The ICMP error's sender, when one came back: the likely hop. */
  readonly from?: string;
}

/** The command that sends one round of the probe; ping and nc have no netns flag, so it runs through `ip netns exec`. */
export function probeCommand(netns: Netns, spec: ProbeSpec): Command {
  const src = (flag: string) => (spec.source ? [flag, spec.source] : []);
  const wait = String(spec.timeout);
  const timeoutMs = Math.ceil((spec.count * (spec.timeout + 0.5) + 5) * 1000);
  const base = { ...(netns ? { netns } : {}), timeoutMs };
  if (spec.protocol === "icmp") {
    // -i 0.2: several echoes take a fraction of a second each, not one second.
    return { ...base, argv: ["ping", "-n", "-c", String(spec.count), ...(spec.count > 1 ? ["-i", "0.2"] : []), "-W", wait, ...src("-I"), spec.address] };
  }
  // -v: nc says why a connect failed only in verbose mode; -z: connect (tcp) or send a few bytes (udp), no data.
  const udp = spec.protocol === "udp" ? ["-u"] : [];
  return { ...base, argv: ["nc", "-n", "-v", "-z", ...udp, "-w", wait, ...src("-s"), spec.address, String(spec.port ?? 0)] };
}

const PING_ERROR = /^From (\S+?)(?: \([^)]*\))?:? icmp_seq=\d+ (.+)$/m;

/** Reads ping's exit and words: 0 = a reply, 1 = none (maybe ICMP errors), 2 = could not send. */
export function parsePing(exitCode: number, stdout: string, stderr: string, spec: ProbeSpec): ProbeOutcome {
  const replies = /(\d+) received/.exec(stdout)?.[1];
  if (exitCode === 0) return { reached: true, evidence: "answer", detail: `echo reply from ${spec.address}` };
  const icmp = PING_ERROR.exec(stdout);
  if (exitCode === 1 && icmp?.[1] && icmp[2]) {
    return { reached: false, evidence: "unreachable", detail: `ICMP "${icmp[2].trim()}" from ${icmp[1]}`, from: icmp[1] };
  }
  if (exitCode === 1) return { reached: false, evidence: "nothing", detail: `no reply to ${spec.count} echo request(s) within ${spec.timeout} s${replies === undefined ? "" : ` (${replies} received)`}` };
  const words = (stderr || stdout).trim().split("\n")[0] ?? "";
  if (/Network is unreachable/.test(words)) return { reached: false, evidence: "no-route", detail: `ping: ${words.replace(/^ping: /, "")}` };
  return { reached: false, evidence: "error", detail: words || `ping exited with ${exitCode}` };
}

const LOOK_THE_SAME = "the two look the same from here (a responder tells them apart)";

/** Reads nc's (netcat-openbsd) exit and verbose words. */
export function parseNc(exitCode: number, stderr: string, spec: ProbeSpec): ProbeOutcome {
  const words = stderr.trim().split("\n").find((l) => l.startsWith("nc:")) ?? "";
  const port = `port ${spec.port ?? 0}`;
  if (spec.protocol === "tcp") {
    if (exitCode === 0) return { reached: true, evidence: "answer", detail: `connection to ${spec.address} ${port} accepted` };
    if (/Connection refused/.test(words)) return { reached: true, evidence: "refused", detail: `connection refused by ${spec.address}: nothing listens on ${port}, or a firewall rejects with a tcp reset; ${LOOK_THE_SAME}` };
    if (/timed out/.test(words)) return { reached: false, evidence: "nothing", detail: `no answer to ${spec.count} connection attempt(s) within ${spec.timeout} s` };
  } else {
    // nc -z -u only sends; it succeeds when nothing comes back, and stops silently on an ICMP port unreachable.
    if (exitCode === 0) return { reached: false, evidence: "nothing", detail: `no answer and no ICMP error within ${spec.timeout} s` };
    if (words === "" || /Connection refused/.test(words)) return { reached: true, evidence: "refused", detail: `ICMP port unreachable from ${spec.address}: nothing listens on ${port}, or a firewall rejects with an icmp port unreachable; ${LOOK_THE_SAME}` };
  }
  if (/Network is unreachable/.test(words)) return { reached: false, evidence: "no-route", detail: "network is unreachable" };
  if (/No route to host/.test(words)) return { reached: false, evidence: "unreachable", detail: "no route to host (an ICMP host unreachable or filtered, or no ARP/NDP answer on the last link)" };
  if (/Permission denied|Operation not permitted/.test(words)) return { reached: false, evidence: "unreachable", detail: `refused by a firewall (${words.replace(/^nc: /, "")})` };
  return { reached: false, evidence: "error", detail: words || `nc exited with ${exitCode}` };
}

/** The probe's source namespace (or the responder's) does not exist: no packet can be sent or heard there. */
export class MissingNetnsError extends Error {
  constructor(readonly netns: string) {
    super(`netns ${netns} does not exist (\`ip netns list\` shows the names there)`);
    this.name = "MissingNetnsError";
  }
}

/**
 * Sends the probe: up to `count` rounds for tcp/udp (the first that reaches the target ends
 * it), one ping of `count` echoes for icmp. Sends packets only; no state is changed and every
 * process it starts ends within its timeout (the runner kills it after that). Fails with
 * MissingNetnsError when the namespace is not there: `ip netns exec` says so on stderr, which
 * nc's udp mode would otherwise read as a silent port unreachable, i.e. "reachable".
 */
export async function runProbe(runner: Runner, netns: Netns, spec: ProbeSpec): Promise<ProbeOutcome & { readonly argv: readonly string[] }> {
  const command = probeCommand(netns, spec);
  const once = async (): Promise<ProbeOutcome> => {
    try {
      const { stdout, stderr } = await runner.run(command);
      return spec.protocol === "icmp" ? parsePing(0, stdout, stderr, spec) : parseNc(0, stderr, spec);
    } catch (err) {
      if (!(err instanceof CommandError) || err.exitCode === undefined) throw err;
      if (netns && /Cannot open network namespace/.test(err.stderr)) throw new MissingNetnsError(netns);
      return spec.protocol === "icmp" ? parsePing(err.exitCode, err.stdout, err.stderr, spec) : parseNc(err.exitCode, err.stderr, spec);
    }
  };
  const rounds = spec.protocol === "icmp" ? 1 : spec.count;
  let outcome = await once();
  for (let i = 1; i < rounds && !outcome.reached && outcome.evidence !== "error"; i++) outcome = await once();
  return { ...outcome, argv: command.netns ? ["ip", "netns", "exec", command.netns, ...command.argv] : command.argv };
}

const routeGetSchema = z.object({ dst: z.string(), gateway: z.string().optional(), dev: z.string().optional(), prefsrc: z.string().optional(), type: z.string().optional() });

export interface RouteHint {
  /** False when the namespace has no usable route to the address. */
  readonly routed: boolean;
  /** "via 10.0.3.1 dev eth0 src 10.0.3.2", or the kernel's words. */
  readonly text: string;
  readonly gateway?: string;
}

/** `ip route get` in the source namespace: cheap, and tells a missing route from a hop further on. */
export async function routeHint(runner: Runner, netns: Netns, address: string, source: string | undefined): Promise<RouteHint> {
  try {
    const out = await ipJson(runner, netns, ["route", "get", address, ...(source ? ["from", source] : [])]);
    const [r] = parseIpJson(routeGetSchema, out, "route get");
    if (!r) return { routed: false, text: "no answer from ip route get" };
    const words = [r.type && r.type !== "unicast" ? r.type : "", r.gateway ? `via ${r.gateway}` : "", r.dev ? `dev ${r.dev}` : "", r.prefsrc ? `src ${r.prefsrc}` : ""].filter(Boolean);
    return { routed: true, text: words.join(" ") || r.dst, ...(r.gateway ? { gateway: r.gateway } : {}) };
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    // Inside an ip -batch, ip adds "Command failed -:N" after the kernel's words: keep only those.
    return { routed: false, text: err.stderr.split("\n").find((l) => l.trim() && !l.startsWith("Command failed"))?.trim() ?? err.message };
  }
}
