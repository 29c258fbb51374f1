import type { Logger } from '@platform/kit';
import type { SqlPool } from '../../store/sql.js';
import { renewLeases } from '../../store/sagas.js';
import { asSystemSql } from '../../store/scope.js';

/** Ticks per lease: the keeper renews every leaseMs / RENEWALS_PER_LEASE (400 ms for a 2 s lease). */
export const RENEWALS_PER_LEASE = 5;

/** Another replica owns the saga now, or may (our lease expired and may have been taken): stop without writing. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** One saga's lease as its runner sees it. */
export interface Lease {
  /** Aborted when the lease is lost (the running step's signal follows it). */
  signal: AbortSignal;
  lost(): boolean;
  /** A statement sent at `sentAt` (performance.now()) extended the lease (a persisted step does). */
  confirmed(sentAt: number): void;
  /** The saga is done with its lease (finished, handed back, or lost): no more renewals. */
  release(): void;
}

export interface LeaseKeeperOptions {
  /**
   * Where the renewals run. Best a connection that never queues behind step work (main.ts gives the
   * write listener's session when it is up); the saga pool otherwise, where one statement per tick
   * still queues once instead of once per saga.
   */
  sql: () => SqlPool;
  owner: string;
  leaseMs: number;
  log: Logger;
}

interface Held {
  controller: AbortController;
  /** performance.now() when the last statement that set this lease to now() + leaseMs was sent. */
  confirmedAt: number;
}

/**
 * Keeps the leases of every saga this replica runs with one UPDATE per tick, whatever their number
 * (it was one UPDATE per saga, each its own transaction: with 30+ sagas in flight and a pool of a few
 * connections they queued behind the steps' work and 2 s leases expired while held).
 *
 * A lease is lost when the batched renewal does not return its saga (another replica took it, or the
 * saga is no longer running), and also when this replica cannot show it still holds it: the database
 * sets the expiry from its own clock when a statement runs, so a lease last extended by a statement
 * sent at t is held at least until t + leaseMs. Past t + leaseMs − one tick with no newer confirmation
 * (renewals failing or stuck: Postgres away, a stalled event loop) the keeper gives the lease up
 * itself, before another replica may take it, so the saga starts no further step.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private readonly everyMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.everyMs = Math.max(50, Math.floor(opts.leaseMs / RENEWALS_PER_LEASE));
  }

  /** Starts keeping a lease taken by a statement sent at `claimedAt` (performance.now()). */
  hold(sagaId: string, claimedAt: number): Lease {
    const entry: Held = { controller: new AbortController(), confirmedAt: claimedAt };
    this.held.set(sagaId, entry);
    this.timer ??= setInterval(() => void this.tick(), this.everyMs).unref();
    return {
      signal: entry.controller.signal,
      lost: () => {
        this.checkExpiry(sagaId, entry, performance.now());
        return entry.controller.signal.aborted;
      },
      confirmed: (sentAt) => {
        if (!entry.controller.signal.aborted) entry.confirmedAt = Math.max(entry.confirmedAt, sentAt);
      },
      release: () => {
        if (this.held.get(sagaId) === entry) this.held.delete(sagaId);
        if (this.held.size === 0) this.stop();
      },
    };
  }

  /** Leases held now. */
  get size(): number {
    return this.held.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One renewal for every lease held; a tick still in flight makes the next one skip. */
  async tick(): Promise<void> {
    if (this.renewing || this.held.size === 0) return;
    this.renewing = true;
    const sentAt = performance.now();
    const asked = [...this.held];
    try {
      const kept = await asSystemSql(this.opts.sql(), 'saga-orchestrator', (tx) =>
        renewLeases(
          tx,
          asked.map(([id]) => id),
          this.opts.owner,
          this.opts.leaseMs,
        ),
      );
      for (const [id, entry] of asked) {
        // A saga that finished (or was handed back) while the statement ran is not returned: not a loss.
        if (this.held.get(id) !== entry) continue;
        if (kept.has(id)) entry.confirmedAt = Math.max(entry.confirmedAt, sentAt);
        else this.lose(id, entry, 'taken');
      }
    } catch (err) {
      this.opts.log.warn({ sagas: asked.length, err: err instanceof Error ? err.message : String(err) }, 'saga lease renewal failed');
    } finally {
      this.renewing = false;
    }
    const now = performance.now();
    for (const [id, entry] of this.held) this.checkExpiry(id, entry, now);
  }

  private checkExpiry(sagaId: string, entry: Held, now: number): void {
    if (now > entry.confirmedAt + this.opts.leaseMs - this.everyMs) this.lose(sagaId, entry, 'expired');
  }

  private lose(sagaId: string, entry: Held, why: 'taken' | 'expired'): void {
    if (entry.controller.signal.aborted) return;
    // Renewals that keep failing are worth a warning here. A lease taken is warned of by the
    // orchestrator once the saga stops ("outcome":"lease_lost"): a saga whose last step committed
    // while the renewal waited on its row is not returned either, and it finished fine.
    if (why === 'expired') this.opts.log.warn({ sagaId }, 'saga lease not renewed in time; giving it up');
    else this.opts.log.debug({ sagaId }, 'saga lease not renewed: taken by another replica, or the saga finished');
    entry.controller.abort(new LeaseLostError(`lost the lease of saga ${sagaId} (${why})`));
  }
}
