import type { Clock, IdGenerator, Logger } from '@platform/kit';
import type { Db } from '../../store/prisma.js';
import type { SqlPool } from '../../store/sql.js';
import { claimRunnable, releaseLease } from '../../store/sagas.js';
import { asSystemSql } from '../../store/scope.js';
import type { SagaRegistry } from './definition.js';
import { LeaseKeeper } from './leases.js';
import { runSaga, type StepTiming } from './run-saga.js';

export interface OrchestratorOptions {
  db: Db;
  sql: SqlPool;
  registry: SagaRegistry;
  /** Unique per replica (lease owner). */
  owner: string;
  leaseMs: number;
  /**
   * Where lease renewals run when it returns one: a connection that does not queue behind step work
   * (main.ts: the write listener's session). Otherwise `sql`.
   */
  leaseSql?: () => SqlPool | undefined;
  /** How often to look for sagas nobody runs (new ones, or ones whose owner died). */
  pollMs: number;
  /** Sagas this replica runs at once. */
  maxConcurrent: number;
  log: Logger;
  clock: Clock;
  newId: IdGenerator;
  onStep?: (t: StepTiming) => void;
}

/**
 * Runs sagas on this replica. Any number of replicas may run: each claims unleased (or expired)
 * sagas with SKIP LOCKED, keeps their leases alive while it works (one UPDATE for all of them every
 * leaseMs / RENEWALS_PER_LEASE, see LeaseKeeper), and fences every write with the lease, so one saga
 * has one owner at a time. A replica killed with SIGKILL simply stops renewing;
 * when its leases expire the others (or its successor) resume the sagas from their last persisted step.
 */
export class SagaOrchestrator {
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private again = false;
  private stopping = false;
  private readonly leases: LeaseKeeper;

  constructor(private readonly opts: OrchestratorOptions) {
    this.leases = new LeaseKeeper({
      sql: () => opts.leaseSql?.() ?? opts.sql,
      owner: opts.owner,
      leaseMs: opts.leaseMs,
      log: opts.log,
    });
  }

  start(): this {
    this.timer = setInterval(() => this.poke(), this.opts.pollMs);
    this.poke();
    return this;
  }

  /** Look for work now (e.g. right after sagas.start committed). */
  poke(): void {
    if (this.stopping) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    this.tick()
      .catch((err: unknown) =>
        this.opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'saga claim failed; will retry'),
      )
      .finally(() => {
        this.ticking = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Sagas running on this replica right now. */
  get running(): number {
    return this.active.size;
  }

  private async tick(): Promise<void> {
    const free = this.opts.maxConcurrent - this.active.size;
    if (free <= 0) return;
    const claimedAt = performance.now();
    const claimed = await asSystemSql(this.opts.sql, 'saga-orchestrator', (tx) =>
      claimRunnable(tx, this.opts.owner, this.opts.leaseMs, free, this.opts.registry.types),
    );
    for (const row of claimed) {
      const lease = this.leases.hold(row.id, claimedAt);
      const run = runSaga({ ...this.opts, isStopping: () => this.stopping }, row, lease)
        .then(async (outcome) => {
          if (outcome === 'released')
            await asSystemSql(this.opts.sql, 'saga-orchestrator', (tx) => releaseLease(tx, row.id, this.opts.owner));
          // A lost lease means another replica may have resumed the saga while its step ran here.
          if (outcome === 'lease_lost') this.opts.log.warn({ sagaId: row.id, outcome }, 'saga lease lost; another replica resumes it');
          else if (outcome !== 'finished') this.opts.log.info({ sagaId: row.id, outcome }, 'saga handed over');
        })
        .catch((err: unknown) => {
          // Left leased: after the lease expires any replica resumes it from its last persisted step.
          this.opts.log.error(
            { sagaId: row.id, err: err instanceof Error ? err.message : String(err) },
            'saga run failed; it resumes after its lease expires',
          );
        })
        .finally(() => {
          lease.release();
          this.active.delete(row.id);
          this.poke();
        });
      this.active.set(row.id, run);
    }
    if (claimed.length === free) this.again = true;
  }

  /** Stops claiming; running sagas finish their current step, then their leases are released. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }
}
