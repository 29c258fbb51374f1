import { createLogger } from '@platform/kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SqlPool, SqlRunner } from '../../store/sql.js';
import { LeaseKeeper, RENEWALS_PER_LEASE } from './leases.js';

const LEASE_MS = 2_000;
const TICK_MS = LEASE_MS / RENEWALS_PER_LEASE;

/** A pool whose renewal statement returns the ids `holds` says this owner still holds (or throws `failing`). */
function fakePool() {
  const state = {
    statements: [] as Array<{ text: string; ids: string[] }>,
    holds: (_id: string) => true,
    failing: null as Error | null,
  };
  const runner: SqlRunner = {
    query: async <T extends object>(text: string, params: readonly unknown[] = []) => {
      if (text.startsWith('UPDATE saga_instances SET lease_expires_at')) {
        const ids = params[0] as string[];
        state.statements.push({ text, ids });
        if (state.failing) throw state.failing;
        return ids.filter((id) => state.holds(id)).map((id) => ({ id })) as unknown as T[];
      }
      return [];
    },
  };
  const pool: SqlPool = { ...runner, transaction: (fn) => fn(runner) };
  return { pool, state };
}

const keeperOn = (pool: SqlPool) =>
  new LeaseKeeper({ sql: () => pool, owner: 'replica-a', leaseMs: LEASE_MS, log: createLogger('leases-test', 'silent') });

describe('LeaseKeeper', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('renews every lease it holds with one statement per tick, well inside the lease', async () => {
    const { pool, state } = fakePool();
    const keeper = keeperOn(pool);
    const leases = Array.from({ length: 60 }, (_, i) => keeper.hold(`saga-${i}`, performance.now()));
    await vi.advanceTimersByTimeAsync(LEASE_MS * 3);
    // One UPDATE per tick for all 60 sagas (it was one transaction per saga per tick).
    expect(state.statements).toHaveLength((LEASE_MS * 3) / TICK_MS);
    expect(state.statements.every((s) => s.ids.length === 60)).toBe(true);
    expect(leases.some((l) => l.lost())).toBe(false);
    keeper.stop();
  });

  it('reports a lease the renewal did not return (another owner took it) as lost, and keeps the others', async () => {
    const { pool, state } = fakePool();
    const keeper = keeperOn(pool);
    const mine = keeper.hold('saga-mine', performance.now());
    const taken = keeper.hold('saga-taken', performance.now());
    state.holds = (id) => id !== 'saga-taken';
    await vi.advanceTimersByTimeAsync(TICK_MS);
    expect(taken.lost()).toBe(true);
    expect(taken.signal.aborted).toBe(true);
    expect(mine.lost()).toBe(false);
    keeper.stop();
  });

  it('gives a lease up by itself before it can expire when renewals keep failing', async () => {
    const { pool, state } = fakePool();
    const keeper = keeperOn(pool);
    const lease = keeper.hold('saga-1', performance.now());
    state.failing = new Error('connection terminated');
    await vi.advanceTimersByTimeAsync(LEASE_MS - 2 * TICK_MS);
    expect(lease.lost()).toBe(false);
    // Past leaseMs − one tick since the last statement that extended it: another replica may take it soon.
    await vi.advanceTimersByTimeAsync(TICK_MS + 1);
    expect(lease.lost()).toBe(true);
    keeper.stop();
  });

  it('counts a persisted step as a renewal', async () => {
    const { pool, state } = fakePool();
    const keeper = keeperOn(pool);
    const lease = keeper.hold('saga-1', performance.now());
    state.failing = new Error('pool timeout');
    await vi.advanceTimersByTimeAsync(LEASE_MS / 2);
    lease.confirmed(performance.now());
    await vi.advanceTimersByTimeAsync(LEASE_MS / 2 + TICK_MS);
    expect(lease.lost()).toBe(false);
    keeper.stop();
  });

  it('does not report a saga that finished while a renewal was running as lost', async () => {
    const { pool, state } = fakePool();
    let finish: () => void = () => undefined;
    const gate = new Promise<void>((r) => (finish = r));
    const slow: SqlPool = {
      ...pool,
      transaction: async (fn) => {
        const result = await fn(pool);
        await gate;
        return result;
      },
    };
    const keeper = keeperOn(slow);
    const lease = keeper.hold('saga-1', performance.now());
    state.holds = () => false; // finished meanwhile: its row is no longer running
    const tick = keeper.tick();
    lease.release();
    finish();
    await tick;
    expect(lease.signal.aborted).toBe(false);
    keeper.stop();
  });

  it('sends nothing while it holds no lease', async () => {
    const { pool, state } = fakePool();
    const keeper = keeperOn(pool);
    keeper.hold('saga-1', performance.now()).release();
    await vi.advanceTimersByTimeAsync(LEASE_MS * 2);
    expect(state.statements).toEqual([]);
  });
});
