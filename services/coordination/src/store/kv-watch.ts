import type { KV, KvEntry } from '@platform/kit';
import type { KvWatchOptions } from 'nats';

/**
 * A KV watch (nats.js's ordered consumer over the bucket's stream: entries in revision order,
 * none skipped) as an async iterable that ends when `signal` aborts. A subscription waits here
 * for the next change: without the abort it would only notice its client left at that change.
 */
export async function* watchEntries(
  kv: KV,
  opts: KvWatchOptions,
  signal: AbortSignal | undefined,
): AsyncGenerator<KvEntry, void, undefined> {
  signal?.throwIfAborted();
  const iter = await kv.watch(opts);
  const stop = () => iter.stop();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    if (signal?.aborted) return;
    for await (const entry of iter) yield entry;
  } finally {
    signal?.removeEventListener('abort', stop);
    iter.stop();
  }
}
