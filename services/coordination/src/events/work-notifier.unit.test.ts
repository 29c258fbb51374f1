import { describe, expect, it } from 'vitest';
import { jobConsumer } from '../store/streams.js';
import { WorkNotifier } from './work-notifier.js';

describe('WorkNotifier', () => {
  const queue = jobConsumer('build', 'normal');

  it('skips a queue found empty until an item arrives', () => {
    const n = new WorkNotifier(60_000);
    expect(n.mayHaveWork(queue)).toBe(true);
    n.markEmpty(queue, n.versionOf(queue));
    expect(n.mayHaveWork(queue)).toBe(false);
    n.notify('build', 'normal');
    expect(n.mayHaveWork(queue)).toBe(true);
  });

  it('does not mark a queue empty when an item arrived during the pull', () => {
    const n = new WorkNotifier(60_000);
    const before = n.versionOf(queue);
    n.notify('build', 'normal'); // arrives while the no-wait pull is in flight
    n.markEmpty(queue, before);
    expect(n.mayHaveWork(queue)).toBe(true);
  });

  it('wakes one waiter that can take the type, and waiters time out', async () => {
    const n = new WorkNotifier(60_000);
    const woke: string[] = [];
    const builder = n.wait(['build'], 5_000).then(() => woke.push('builder'));
    const analyst = n.wait(['gap_analysis'], 100).then(() => woke.push('analyst'));
    const second = n.wait(['build', 'proposal'], 5_000).then(() => woke.push('second'));
    n.notify('build', 'high');
    await builder;
    expect(woke).toEqual(['builder']);
    await analyst;
    expect(woke).toEqual(['builder', 'analyst']);
    expect(n.waiting).toBe(1);
    n.stop();
    await second;
  });

  it('stops waiting when the claim is aborted', async () => {
    const n = new WorkNotifier(60_000);
    const ac = new AbortController();
    const t0 = Date.now();
    const waiting = n.wait(['build'], 5_000, ac.signal);
    ac.abort();
    await waiting;
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(n.waiting).toBe(0);
  });
});
