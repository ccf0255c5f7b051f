const inFlight = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Concurrent identical reads through one runner share one process: the second caller gets
 * the first one's answer while it is still running. Only for reads whose answer may be a few
 * milliseconds old (refresh counts, a bridge's connected routes), never for a read that
 * guards a write.
 */
export function sharedRead<T>(scope: object, key: string, read: () => Promise<T>): Promise<T> {
  let reads = inFlight.get(scope);
  if (!reads) inFlight.set(scope, (reads = new Map()));
  const running = reads.get(key);
  if (running) return running as Promise<T>;
  const started = read().finally(() => reads.delete(key));
  reads.set(key, started);
  return started;
}

const recent = new WeakMap<object, Map<string, { readonly at: number; readonly value: Promise<unknown> }>>();

/**
 * Like sharedRead, but the answer also serves callers for `maxAgeMs` after it started. Only
 * for advisory reads (a check at preview, which the write repeats under the host's lock):
 * Pulumi checks every resource of a program within a moment, and one read serves them all.
 */
export function recentRead<T>(scope: object, key: string, maxAgeMs: number, read: () => Promise<T>): Promise<T> {
  let reads = recent.get(scope);
  if (!reads) recent.set(scope, (reads = new Map()));
  const now = Date.now();
  const hit = reads.get(key);
  if (hit && now - hit.at <= maxAgeMs) return hit.value as Promise<T>;
  const value = read();
  reads.set(key, { at: now, value });
  // A failed read is not kept: the next caller tries again.
  value.catch(() => reads.delete(key));
  return value;
}
