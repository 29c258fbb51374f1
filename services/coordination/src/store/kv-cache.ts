import type { KvEntry, Logger } from '@platform/kit';
import type { TypedKv } from './typed-kv.js';

export interface CachedValue<T> {
  record: T;
  revision: number;
}

/**
 * An in-memory mirror of a small bucket, kept current by a KV watcher, so hot paths (pings) and
 * sweeps read without a round trip. It is a hint: every decision that writes re-reads the record
 * and writes with compare-and-set. Keys removed by the bucket's TTL produce no watch event, so
 * callers that care (liveness) confirm on the server and `forget` them.
 */
export class KvCache<T> {
  private readonly map = new Map<string, CachedValue<T>>();
  private stopped = false;
  private current: { stop(): void } | undefined;
  private markReady!: () => void;
  /** Resolves once the mirror has caught up with the bucket the first time. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly store: TypedKv<T>,
    private readonly log: Logger,
  ) {}

  start(): this {
    void this.run();
    return this;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        await this.watchOnce();
        backoff = 100;
      } catch (err) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err), bucket: this.store.bucket }, 'kv watch ended; restarting');
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  private async watchOnce(): Promise<void> {
    const seen = new Set<string>();
    let initialized = false;
    const iter = await this.store.kv.watch({
      initializedFn: () => {
        initialized = true;
        // A restarted watch replays the bucket: drop what it no longer holds.
        for (const k of this.map.keys()) if (!seen.has(k)) this.map.delete(k);
        this.markReady();
      },
    });
    this.current = iter;
    if (this.stopped) iter.stop();
    for await (const e of iter) {
      if (!initialized) seen.add(e.key);
      this.apply(e);
    }
  }

  private apply(e: KvEntry): void {
    // Values this process wrote (`remember`) may be ahead of the watcher: never go back.
    const have = this.map.get(e.key);
    if (have && have.revision > e.revision) return;
    if (e.operation !== 'PUT') {
      this.map.delete(e.key);
      return;
    }
    try {
      this.map.set(e.key, { record: this.store.parse(e), revision: e.revision });
    } catch (err) {
      this.log.warn(
        { key: e.key, bucket: this.store.bucket, err: err instanceof Error ? err.message : String(err) },
        'ignoring invalid kv value',
      );
    }
  }

  get(key: string): CachedValue<T> | undefined {
    return this.map.get(key);
  }

  /** Records a value just written by this process, so it is visible before the watcher echoes it. */
  remember(key: string, record: T, revision: number): void {
    const have = this.map.get(key);
    if (!have || have.revision < revision) this.map.set(key, { record, revision });
  }

  forget(key: string): void {
    this.map.delete(key);
  }

  entries(): Array<[string, CachedValue<T>]> {
    return [...this.map.entries()];
  }

  get size(): number {
    return this.map.size;
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }
}
