import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { teamOnboardingSaga } from '../src/domain/sagas/definitions/team-onboarding.js';
import { stepKey } from '../src/domain/sagas/idempotency.js';
import { callerFor, testDeps, user } from './support/callers.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';

// A step may run twice at once: a replica whose lease expired while it still worked (a stalled
// event loop, a starved pool) and the replica that took the saga over. Its idempotency key must make
// the second run find what the first made, not fail it for good: the replicas drill
// (tests/drills/replicas.e2e.test.ts) saw create_team's own team taken for "name is taken", and the
// saga compensated.
let s: ScratchDb;
beforeAll(async () => {
  s = await migratedScratchDb('saga_steps_concurrent', { poolMax: 8 });
});
afterAll(async () => {
  await s?.drop();
});

it('create_team run twice at once answers the same team from both runs', async () => {
  const deps = testDeps(s);
  const def = teamOnboardingSaga(deps);
  const alice = user(`alice-${randomUUID().slice(0, 8)}`);
  await callerFor(deps, alice).users.me({});
  for (let round = 0; round < 10; round++) {
    const sagaId = randomUUID();
    const ctx = (attempt: number) => ({
      sagaId,
      sagaType: def.type,
      startedBy: alice.id,
      payload: def.payload.parse({ teamName: `concurrent ${sagaId}` }),
      outputs: {},
      idempotencyKey: stepKey(sagaId, 0, 'create_team', 'action'),
      attempt,
      signal: new AbortController().signal,
    });
    const outcomes = await Promise.allSettled([def.steps[0]!.action(ctx(1)), def.steps[0]!.action(ctx(1))]);
    expect(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : `rejected: ${String(o.reason)}`)),
      `round ${round}`,
    ).toEqual([{ teamId: expect.any(String) }, { teamId: expect.any(String) }]);
    const teams = (await s.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM teams WHERE name = $1', [`concurrent ${sagaId}`]))
      .rows[0]!.n;
    expect(teams).toBe(1);
  }
  // A name another team holds still fails for good (no endless retries).
  const taken = await def.steps[0]!.action({
    sagaId: randomUUID(),
    sagaType: def.type,
    startedBy: alice.id,
    payload: def.payload.parse({ teamName: 'taken' }),
    outputs: {},
    idempotencyKey: 'k1',
    attempt: 1,
    signal: new AbortController().signal,
  });
  expect(taken).toEqual({ teamId: expect.any(String) });
  await expect(
    def.steps[0]!.action({
      sagaId: randomUUID(),
      sagaType: def.type,
      startedBy: alice.id,
      payload: def.payload.parse({ teamName: 'taken' }),
      outputs: {},
      idempotencyKey: 'k2',
      attempt: 1,
      signal: new AbortController().signal,
    }),
  ).rejects.toMatchObject({ name: 'PermanentStepError' });
});
