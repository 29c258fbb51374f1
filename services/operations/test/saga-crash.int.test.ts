import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SagaRegistry } from '../src/domain/sagas/definition.js';
import { startSaga } from '../src/domain/saga-instances.js';
import { testDeps, user } from './support/callers.js';
import { migratedScratchDb, ROOT, type ScratchDb } from './support/scratch.js';
import { EFFECTS_DDL, effectsSaga, succeeded, type LogEntry } from './support/test-sagas.js';

// A saga replica killed with SIGKILL in the middle of a step (effect done, outcome not yet
// persisted) — once going forward, once while compensating. Fresh replicas take over after the
// lease expires; every step must end up succeeded exactly once in the step log, with its effect
// recorded once (re-runs reuse the idempotency key).
const LEASE_MS = 1_500;
let s: ScratchDb;
let setupError: unknown;
const children: ChildProcess[] = [];

beforeAll(async () => {
  try {
    s = await migratedScratchDb('saga_crash');
    await s.admin.query(EFFECTS_DDL);
  } catch (e) {
    setupError = e;
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await s?.drop();
});

function startWorker(name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=@platform/source', '--import', 'tsx', path.join(ROOT, 'services/operations/test/fixtures/saga-worker.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: s.appUrl, EFFECTS_DATABASE_URL: s.adminUrl, INSTANCE_ID: name, SAGA_LEASE_MS: String(LEASE_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}: ${stderr}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = async (sql: string) => Number((await s.admin.query(`SELECT count(*) AS n FROM ${sql}`)).rows[0].n);

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('sagas survive SIGKILL', () => {
  it('resume on another replica and finish or compensate exactly once per step', async () => {
    const deps = testDeps(s, { registry: new SagaRegistry([effectsSaga(s.admin)]) });
    const forward = await Promise.all(
      [0, 1, 2].map(() => startSaga(deps, user('alice'), { sagaType: 'effects', payload: { stepMs: 400 } })),
    );
    const failing = await Promise.all(
      [0, 1, 2].map(() => startSaga(deps, user('alice'), { sagaType: 'effects', payload: { stepMs: 400, failAt: 2 } })),
    );

    // 1st replica: killed while sagas are inside a step, going forward.
    const a = await startWorker('replica-a');
    await waitFor('forward progress', async () => (await count(`saga_effects WHERE phase = 'action'`)) >= 9);
    await kill(a);
    const unpersisted = await s.admin.query(`
      SELECT e.key FROM saga_effects e JOIN saga_instances i ON i.id = e.saga_id
      WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(i.step_log) l WHERE l->>'step' = e.step AND l->>'phase' = e.phase AND l->>'outcome' = 'succeeded')`);
    expect(unpersisted.rowCount).toBeGreaterThan(0); // the kill really landed between an effect and its persisted outcome

    // 2nd replica: takes over once the leases expire; killed while compensating.
    const b = await startWorker('replica-b');
    await waitFor('compensation under way', async () => (await count(`saga_effects WHERE phase = 'compensation'`)) >= 1);
    await kill(b);

    // 3rd replica: finishes everything.
    const c = await startWorker('replica-c');
    const all = [...forward, ...failing].map((x) => x.id);
    await waitFor(
      'all sagas finished',
      async () =>
        (await count(`saga_instances WHERE id = ANY('{${all.join(',')}}') AND status IN ('completed', 'compensated', 'failed')`)) === 6,
      60_000,
    );
    await kill(c);

    const rows = (
      await s.admin.query<{ id: string; status: string; step_log: LogEntry[] }>(
        `SELECT id, status, step_log FROM saga_instances WHERE id = ANY($1::uuid[])`,
        [all],
      )
    ).rows;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const owners = new Set<string>();
    for (const { id } of forward) {
      const r = byId.get(id)!;
      expect(r.status).toBe('completed');
      expect(succeeded(r.step_log)).toEqual(['action:reserve', 'action:charge', 'action:ship']);
      r.step_log.forEach((e) => owners.add(e.owner));
    }
    for (const { id } of failing) {
      const r = byId.get(id)!;
      expect(r.status).toBe('compensated');
      expect(succeeded(r.step_log)).toEqual(['action:reserve', 'action:charge', 'compensation:charge', 'compensation:reserve']);
      r.step_log.forEach((e) => owners.add(e.owner));
    }
    // One effect per step and phase, however often a kill made it run.
    const effects = await s.admin.query<{ saga_id: string; n: number; runs: number }>(
      `SELECT saga_id, count(*)::int AS n, sum(attempts)::int AS runs FROM saga_effects WHERE saga_id = ANY($1::uuid[]) GROUP BY saga_id`,
      [all],
    );
    for (const e of effects.rows) expect(e.n).toBe(forward.some((f) => f.id === e.saga_id) ? 3 : 4);
    expect(effects.rows.reduce((sum, e) => sum + e.runs - e.n, 0)).toBeGreaterThan(0); // some steps did run twice, safely
    expect(owners.size).toBeGreaterThan(1); // work moved between processes
  });
});
