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
