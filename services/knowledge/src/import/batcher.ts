/** The key of the flush's batches (keys mixed), and of every batch without `keyOf`. */
const MIXED = '';

/**
 * Collects rows into batches and writes them with at most `inFlight` writes running, so reading
 * and cleaning the next batch overlaps with Neo4j committing the previous one. With `keyOf`, rows
 * are batched per key (each batch holds one key's rows): the link writer's batches are one
 * relationship type each, one statement per transaction. Keyed batches fill at about the same
 * time, so they come in bursts: `queued` more batches may wait behind the running ones (each
 * starts when an earlier one finished), and reading goes on meanwhile instead of waiting for each
 * write of the burst in turn. Memory holds at most (inFlight + queued + number of keys) batches.
 * With `oneWritePerKey`, a batch never runs while an earlier one of the same key does, and the
 * mixed batches of the flush run alone: batches of different keys overlap, those of one key are
 * written in order (the link writer's repeat of a triple must meet the MERGE of the first, not race it).
 */
export class Batcher<T> {
  private buffers = new Map<string, T[]>();
  private running: Array<{ key: string; done: Promise<void> }> = [];
  private readonly keyOf: (row: T) => string;
  private readonly queued: number;
  private readonly oneWritePerKey: boolean;

  constructor(
    private readonly size: number,
    private readonly write: (rows: T[]) => Promise<void>,
    private readonly inFlight = 1,
    opts: { keyOf?: (row: T) => string; queued?: number; oneWritePerKey?: boolean } = {},
  ) {
    this.keyOf = opts.keyOf ?? (() => MIXED);
    this.queued = opts.queued ?? 0;
    this.oneWritePerKey = opts.oneWritePerKey ?? false;
    if (size < 1 || inFlight < 1 || this.queued < 0) throw new Error('batch size and inFlight must be at least 1, queued at least 0');
  }

  async push(row: T): Promise<void> {
    const key = this.keyOf(row);
    const buffer = this.buffers.get(key);
    if (buffer) buffer.push(row);
    else this.buffers.set(key, [row]);
    if ((buffer?.length ?? 1) >= this.size) await this.dispatch(key);
  }

  /**
   * Writes what is left. With keys, the remainders go out together in batches of up to `size`
   * (keys mixed): a dozen part-filled batches at the end would each cost a transaction.
   */
  async flush(): Promise<void> {
    const rest = [...this.buffers.values()].flat();
    this.buffers.clear();
    for (let i = 0; i < rest.length; i += this.size) {
      this.buffers.set(MIXED, rest.slice(i, i + this.size));
      await this.dispatch(MIXED);
    }
    await Promise.all(this.running.map((r) => r.done));
    this.running = [];
  }

  private async dispatch(key: string): Promise<void> {
    const rows = this.buffers.get(key) ?? [];
    this.buffers.delete(key);
    while (this.running.length >= this.inFlight + this.queued) await this.running.shift()!.done;
    // Past `inFlight` dispatched writes, this one starts when the one `inFlight` places before it
    // has settled (a failure surfaces from that one's promise); with `oneWritePerKey` also when
    // every earlier one of its key (any, for a mixed batch) has.
    const after: Array<Promise<void>> = [];
    if (this.running.length >= this.inFlight) after.push(this.running[this.running.length - this.inFlight]!.done);
    if (this.oneWritePerKey) for (const r of this.running) if (r.key === key || r.key === MIXED || key === MIXED) after.push(r.done);
    const p = after.length ? Promise.all(after.map((a) => a.catch(() => undefined))).then(() => this.write(rows)) : this.write(rows);
    // Awaited later (in dispatch or flush); the no-op handler only keeps Node from calling the
    // rejection unhandled in the meantime.
    p.catch(() => undefined);
    this.running.push({ key, done: p });
  }
}
