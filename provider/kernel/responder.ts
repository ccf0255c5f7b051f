import { randomBytes } from "node:crypto";
import ipaddr from "ipaddr.js";
import { CommandError, withContext, type Runner } from "../exec";
import type { Netns } from "./ip";
import { MissingNetnsError, runProbe, type ProbeOutcome, type ProbeSpec } from "./probe";
import { inNetns } from "./proxy";

/**
 * A probe's responder: a socat that listens for the duration of one probe on the target's port
 * in the target's namespace, and logs whether the probe's packets arrived there. With it, an
 * answer means "arrived in that namespace", and a refusal can only come from something on the
 * way (a firewall's reject), since the responder would have taken the connection.
 *
 * socat runs detached (start-stop-daemon: pid file, log) and is stopped by its pid when the
 * probe ends, also on failure. Its own timeouts end it should the provider die first:
 * `accept-timeout` (tcp, before a connection) and `-T` (inactivity, once it transfers).
 */
export const RESPONDER_DIR = "/run/pulumi-hostnet";

export interface ResponderSpec {
  readonly netns: Netns;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  /** Seconds socat lives at most without our stop (the probe's own bound plus a margin). */
  readonly lifetime: number;
}

/** socat's argv: one listener for both families, logging each arrival ("N accepting connection from ..."). */
export function responderArgv(spec: ResponderSpec): string[] {
  const life = String(Math.ceil(spec.lifetime));
  // No reuseaddr for udp: it would let two sockets share the port, and the other one take the datagram.
  const listen = spec.protocol === "tcp" ? `TCP6-LISTEN:${spec.port},ipv6only=0,reuseaddr,accept-timeout=${life}` : `UDP6-RECV:${spec.port},ipv6only=0`;
  return ["socat", "-d", "-d", "-u", "-T", life, listen, "OPEN:/dev/null"];
}

const READY = /N listening on |N starting data transfer loop/;
const ARRIVAL = /N (?:accepting connection|received packet with \d+ bytes) from AF=\d+ (?:\[([0-9a-fA-F:]+)\]|([0-9.]+)):\d+/;

/** The sender of the first arrival in socat's log, as a plain address (IPv4 rather than ::ffff:a.b.c.d). */
export function arrivalIn(log: string): string | undefined {
  const found = ARRIVAL.exec(log);
  const raw = found?.[1] ?? found?.[2];
  if (raw === undefined || !ipaddr.isValid(raw)) return undefined;
  const address = ipaddr.parse(raw);
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address().toString();
  return address.toString();
}

/** Responders of one runner, by netns, protocol and port: two at once on one port would steal each other's packets. */
const busy = new WeakMap<Runner, Map<string, Promise<unknown>>>();

async function oneAtATime<T>(runner: Runner, key: string, work: () => Promise<T>): Promise<T> {
  const queues = busy.get(runner) ?? new Map<string, Promise<unknown>>();
  busy.set(runner, queues);
  const before = queues.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(work);
  queues.set(key, mine);
  try {
    return await mine;
  } finally {
    if (queues.get(key) === mine) queues.delete(key);
  }
}

/**
 * Runs `body` while a responder listens; returns its result and the address the first arrival
 * came from (undefined when nothing arrived). Fails with socat's words when it cannot listen
 * (the port is in use there: something answers already, no responder is needed).
 */
export async function withResponder<T>(runner: Runner, spec: ResponderSpec, body: () => Promise<T>): Promise<{ result: T; arrivedFrom: string | undefined }> {
  const where = spec.netns ? `netns ${spec.netns}` : "the host netns";
  return oneAtATime(runner, `${spec.netns ?? "-"}/${spec.protocol}/${spec.port}`, async () => {
    const base = `${RESPONDER_DIR}/responder-${spec.netns ?? "-"}-${spec.protocol}-${spec.port}-${randomBytes(4).toString("hex")}`;
    const files = { pid: `${base}.pid`, log: `${base}.log` };
    const what = `start a responder on ${spec.protocol} port ${spec.port} in ${where}`;
    try {
      await runner.run({ argv: ["mkdir", "-p", "--", RESPONDER_DIR] });
      // `env` execs socat: the pid in the file and the process name (--name) are socat's.
      const start = ["start-stop-daemon", "--start", "--quiet", "--background", "--make-pidfile", "--pidfile", files.pid, "--output", files.log, "--startas", "/usr/bin/env", "--name", "socat", "--", ...responderArgv(spec)];
      await runner.run({ argv: inNetns(spec.netns, start) }).catch((err: unknown) => {
        if (spec.netns && err instanceof CommandError && /cannot open \/run\/netns\//.test(err.stderr)) throw new MissingNetnsError(spec.netns);
        throw withContext(err, what);
      });
      await untilListening(runner, files.log, what);
      const result = await body();
      return { result, arrivedFrom: arrivalIn(await readLog(runner, files.log)) };
    } finally {
      // --oknodo: one that never started (no pid file) or ended by itself is no error.
      await runner.run({ argv: ["start-stop-daemon", "--stop", "--quiet", "--oknodo", "--pidfile", files.pid, "--name", "socat", "--retry", "TERM/1/KILL/1"] });
      await runner.run({ argv: ["rm", "-f", "--", files.pid, files.log] });
    }
  });
}

async function readLog(runner: Runner, log: string): Promise<string> {
  return (await runner.run({ argv: ["cat", "--", log] }).catch(() => ({ stdout: "" }))).stdout;
}

/** Waits (about 2 s at most) until socat says it listens; fails with its own words when it exits instead. */
async function untilListening(runner: Runner, log: string, what: string): Promise<void> {
  let words = "";
  for (const wait of [20, 50, 100, 200, 400, 600, 800]) {
    words = await readLog(runner, log);
    if (READY.test(words)) return;
    const error = words.split("\n").find((l) => / E /.test(l));
    if (error) throw new Error(`${what}: ${error.replace(/^.* E /, "").trim()}${/Address already in use/.test(error) ? " (something listens there already: its answer is definite without a responder)" : ""}`);
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`${what}: socat did not say it listens within 2 s${words.trim() ? `: ${words.trim().split("\n").at(-1)}` : " (is socat installed? see README)"}`);
}

/** Where a probe's responder listens: the namespace that holds the target, and the port the packets arrive on there. */
export interface ResponderPlace {
  readonly netns: Netns;
  readonly port: number;
}

/**
 * A tcp or udp probe with a responder listening where the target is: "reachable" only when
 * the packets arrived there. A refusal then comes from something on the way (the responder
 * would have taken it), and an answer that did not arrive came from something else.
 */
export async function runProbeWithResponder(runner: Runner, netns: Netns, spec: ProbeSpec, place: ResponderPlace): Promise<ProbeOutcome & { readonly argv: readonly string[] }> {
  if (spec.protocol === "icmp") throw new Error("a responder listens for tcp and udp only");
  const lifetime = spec.count * (spec.timeout + 0.5) + 5;
  const { result, arrivedFrom } = await withResponder(runner, { netns: place.netns, protocol: spec.protocol, port: place.port, lifetime }, () => runProbe(runner, netns, spec));
  return { ...judgeByArrival(result, arrivedFrom, spec, place), argv: result.argv };
}

/** What the sender saw, read again with what the responder saw. */
export function judgeByArrival(seen: ProbeOutcome, arrivedFrom: string | undefined, spec: ProbeSpec, place: ResponderPlace): ProbeOutcome {
  const there = `the responder on ${spec.protocol} port ${place.port} in ${place.netns ? `netns ${place.netns}` : "the host netns"}`;
  if (arrivedFrom !== undefined) return { reached: true, evidence: "answer", detail: `arrived at ${there}, from ${arrivedFrom}` };
  const elsewhere = `${spec.address} is not in that namespace, or a DNAT changes the port (set responder.port)`;
  if (seen.evidence === "refused") {
    const what = spec.protocol === "tcp" ? "connection refused" : `ICMP port unreachable from ${spec.address}`;
    return { reached: false, evidence: "refused", detail: `${what}, and nothing arrived at ${there}: a firewall on the way rejects it, or the packets go elsewhere (${elsewhere})` };
  }
  if (seen.reached) return { reached: false, evidence: seen.evidence, detail: `${seen.detail}, but nothing arrived at ${there}: something else answers (a proxy on the way, or ${elsewhere})` };
  return seen;
}
