import type { Logger } from '@platform/kit';

/**
 * Work a call starts but does not wait for: publishing a record's outbox, ending a lease. Each
 * is backed by durable state (the outbox marker, the lease) that the sweeps finish if this
 * process dies first, so the caller gets its answer as soon as the change is recorded. Tracked so
 * shutdown can wait for it.
 */
export class Background {
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  run(what: string, fn: () => Promise<unknown>): void {
    const task: Promise<unknown> = fn()
      .catch((err: unknown) =>
        this.log.warn(
          { task: what, err: err instanceof Error ? err.message : String(err) },
          'background task failed; the sweeps will finish it',
        ),
      )
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  /** Resolves when everything started so far has settled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  get size(): number {
    return this.tasks.size;
  }
}
