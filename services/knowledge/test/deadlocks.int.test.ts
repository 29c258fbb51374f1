import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTx, type Graph } from '../src/store/neo4j.js';
import { openTestGraph, uniqueTag } from './support/harness.js';

// The rule: two writers that lock the same nodes in opposite orders (the importer's two link
// writers on shared endpoint blocks) both commit, each exactly once, when Neo4j picks one of them
// as a deadlock victim: the victim is rolled back whole and run again.
let graph: Graph;
const tag = uniqueTag('deadlock');

beforeAll(async () => {
  ({ graph } = await openTestGraph());
  await graph.driver.executeQuery('UNWIND [1, 2] AS i CREATE (:DeadlockProbe {tag: $tag, i: i, writes: 0})', { tag });
});

afterAll(async () => {
  await graph?.driver.executeQuery('MATCH (n:DeadlockProbe {tag: $tag}) DELETE n', { tag });
  await graph?.driver.close();
});

describe('writeTx', () => {
  it('runs a deadlock victim again until it commits: each of two crossed writers applied exactly once', async () => {
    // Each writer locks its first node, waits until the other holds its own, then asks for the other's.
    let holding = 0;
    const bothHold = async () => {
      holding++;
      for (let waited = 0; holding < 2 && waited < 5_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    };
    const attempts = { forward: 0, backward: 0 };
    const startedAt: number[] = [];
    const writer = (name: keyof typeof attempts, order: [number, number]) =>
      writeTx(graph, `test.deadlock.${name}`, async (tx) => {
        attempts[name]++;
        startedAt.push(Date.now());
        const bump = (i: number) =>
          tx.run('MATCH (n:DeadlockProbe {tag: $tag, i: $i}) SET n.writes = n.writes + 1, n.last = $name', { tag, i, name });
        await bump(order[0]);
        if (attempts[name] === 1) await bothHold();
        await bump(order[1]);
      });

    await Promise.all([writer('forward', [1, 2]), writer('backward', [2, 1])]);

    // Both held a lock the other wanted: one was the victim and ran again (only its first attempt waited).
    expect(attempts.forward + attempts.backward).toBe(3);
    // Run again at once, not after the driver's back-off for transient errors (1 s ± 20 %): the other
    // writer has its locks already and nothing is gained by waiting.
    expect(startedAt[2]! - startedAt[1]!).toBeLessThan(800);
    const { records } = await graph.driver.executeQuery(
      'MATCH (n:DeadlockProbe {tag: $tag}) RETURN n.i AS i, n.writes AS writes ORDER BY i',
      {
        tag,
      },
    );
    // Each node bumped once by each writer: the victim's first attempt left nothing behind.
    expect(records.map((r) => [r.get('i'), r.get('writes')])).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});
