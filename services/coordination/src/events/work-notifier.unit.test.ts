import { describe, expect, it } from 'vitest';
import { jobConsumer } from '@platform/contracts';
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

  it('hands work to the longest-waiting claim that can take it and accepts hand-overs; others keep waiting', async () => {
    const n = new WorkNotifier<string, string>(60_000);
    const pullOnly = n.wait(['build'], 5_000); // no claimant: never taken
    const analyst = n.wait(['gap_analysis'], 5_000, undefined, 'analyst');
    const first = n.wait(['build'], 5_000, undefined, 'first');
    const second = n.wait(['build', 'proposal'], 5_000, undefined, 'second');
    const taken = n.takeWaiter('build');
    expect(taken?.claimant).toBe('first');
    taken!.accept('job-1');
    await expect(first).resolves.toBe('job-1');
    const next = n.takeWaiter('build');
    expect(next?.claimant).toBe('second');
    next!.wake(); // nothing to give after all: it looks at the queues again
    await expect(second).resolves.toBeNull();
    expect(n.takeWaiter('build')).toBeNull();
    expect(n.waiting).toBe(2);
    n.stop();
    await expect(Promise.all([pullOnly, analyst])).resolves.toEqual([null, null]);
  });
});
