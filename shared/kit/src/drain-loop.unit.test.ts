import { describe, expect, it } from 'vitest';
import { startDrainLoop } from './drain-loop.js';
import { createLogger } from './logger.js';
import { outboxSignal } from './outbox-signal.js';

const log = createLogger('drain-loop-test', 'silent');
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

// Rule: never two passes at once; a poke during a pass is not lost (another pass follows); a full
// batch drains on at once; a failing pass is retried at the next tick; stop waits for the pass.
describe('startDrainLoop', () => {
  it('runs again after a pass when poked during it, and never two passes at once', async () => {
    let active = 0;
    let maxActive = 0;
    let passes = 0;
    let release!: () => void;
    const firstBlocks = new Promise<void>((r) => (release = r));
    const loop = startDrainLoop({
      name: 't',
      intervalMs: 60_000,
      log,
      drain: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        passes++;
        if (passes === 1) await firstBlocks;
        active--;
        return false;
      },
    });
    loop.poke();
    loop.poke(); // both during the first pass
    release();
    await tick(20);
    expect(maxActive).toBe(1);
    expect(passes).toBe(2); // the pokes during pass 1 asked for exactly one more
    await loop.stop();
  });

  it('keeps draining while batches come back full, and retries a failed pass at the next tick', async () => {
    const results = [true, true, false];
    let calls = 0;
    let failures = 0;
    const loop = startDrainLoop({
      name: 't',
      intervalMs: 10,
      log,
      drain: async () => {
        calls++;
        if (calls === 4 && failures++ === 0) throw new Error('store down');
        return results.shift() ?? false;
      },
    });
    await tick(60);
    await loop.stop();
    expect(calls).toBeGreaterThanOrEqual(5); // 3 at once, the failed 4th, then later ticks
    expect(failures).toBe(1);
    const after = calls;
    await tick(30);
    expect(calls).toBe(after); // stopped: no more passes
  });

  it('runs a pass on every ring of its signal (no poke from the writer), and stops listening when stopped', async () => {
    const signal = outboxSignal();
    let passes = 0;
    const loop = startDrainLoop({ name: 't', intervalMs: 60_000, log, signal, drain: async () => (passes++, false) });
    await tick();
    expect(passes).toBe(1); // the start pass
    signal.written();
    await tick();
    expect(passes).toBe(2); // far sooner than the 60 s poll
    await loop.stop();
    signal.written();
    await tick();
    expect(passes).toBe(2);
  });
});
