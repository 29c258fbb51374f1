/**
 * Collects rows into batches and writes them with at most `inFlight` writes running, so reading
 * and cleaning the next batch overlaps with Neo4j committing the previous one. Memory holds at
 * most (inFlight + 1) batches.
 */
export class Batcher<T> {
  private buffer: T[] = [];
  private running: Array<Promise<void>> = [];

  constructor(
    private readonly size: number,
    private readonly write: (rows: T[]) => Promise<void>,
    private readonly inFlight = 1,
  ) {
    if (size < 1 || inFlight < 1) throw new Error('batch size and inFlight must be at least 1');
  }

  async push(row: T): Promise<void> {
    this.buffer.push(row);
    if (this.buffer.length >= this.size) await this.dispatch();
  }

  async flush(): Promise<void> {
    if (this.buffer.length) await this.dispatch();
    await Promise.all(this.running);
    this.running = [];
  }

  private async dispatch(): Promise<void> {
    const rows = this.buffer;
    this.buffer = [];
    while (this.running.length >= this.inFlight) await this.running.shift();
    const p = this.write(rows);
    // Awaited later (in dispatch or flush); the no-op handler only keeps Node from calling the
    // rejection unhandled in the meantime.
    p.catch(() => undefined);
    this.running.push(p);
  }
}
