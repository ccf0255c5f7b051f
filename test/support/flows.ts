import type { Place } from "./sandbox";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Datagrams a `peer.js log` listener printed. */
const received = (text: string) => text.split("\n").filter((l) => l.startsWith("got ")).length;

/**
 * A UDP client in `client` sends to host:port from one source port all along (one conntrack
 * entry, as a long-lived client keeps) while `move` moves the forward from the listener in
 * `from` to the one in `to` (both log `targetPort`). Asserts with real datagrams that the old
 * target got the flow before, and that after the move it gets nothing more while the new one
 * does: Docker's stale-conntrack bug, absent.
 */
export async function expectUdpFlowFollowsMove(
  place: Place,
  o: { client: string; host: string; port: number; sourcePort: number; from: string; to: string; targetPort: number; move: () => Promise<unknown> },
): Promise<void> {
  const old = await place.start(o.from, ["log", "udp", String(o.targetPort)]);
  const next = await place.start(o.to, ["log", "udp", String(o.targetPort)]);
  await place.start(o.client, ["stream", "udp", o.host, String(o.port), String(o.sourcePort)]);
  await sleep(800);
  expect(received(old.output())).toBeGreaterThan(0);
  await o.move();
  await sleep(500); // datagrams in flight during the change
  const oldBefore = received(old.output());
  const nextBefore = received(next.output());
  await sleep(1500);
  expect(received(old.output())).toBe(oldBefore);
  expect(received(next.output())).toBeGreaterThan(nextBefore + 5);
}
