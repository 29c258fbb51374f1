import { TRPCClientError } from '@trpc/client';
import { connectNats, createLogger } from '@platform/kit';
import { headers } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeEnv } from '@platform/testkit';
import { clientsFor, eventually, startTestSystem, TEST_PORTS, tokenFor, type TestSystem } from '../../../scripts/lib/test-system.js';

// The vertical slice across three processes, real Neo4j, Postgres and NATS:
// block → task linked to it (2 subtasks) → job for the task → example agent completes it → task done.
const stores = storeEnv();
let system: TestSystem;
let db: pg.Client;
let alice: ReturnType<typeof clientsFor>;
const runTag = `slice-${Date.now()}`;

const taskCount = async (titlePrefix: string) =>
  Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE title LIKE $1', [`${titlePrefix}%`])).rows[0]!.n);

interface WireError {
  message: string;
  data: { code: string; httpStatus: number; zodIssues: Array<{ path: Array<string | number> }> | null };
}

async function trpcError(p: Promise<unknown>): Promise<WireError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  return err as WireError;
}

beforeAll(async () => {
  if (!stores['DATABASE_URL'] || !stores['DATABASE_ADMIN_URL'] || !stores['NATS_URL'] || !stores['NEO4J_URI']) {
    throw new Error('stores not configured: run `bash scripts/infra.sh up` or set DATABASE_URL, DATABASE_ADMIN_URL, NATS_URL, NEO4J_URI');
  }
  // The owner role: row-level security hides every task from the service role outside a principal's
  // transaction, so "writes nothing" must be checked by a role that sees all rows.
  // The owner with its break-glass setting: row-level security is FORCEd, also for the owner.
  db = new pg.Client({ connectionString: stores['DATABASE_ADMIN_URL'], options: '-c app.owner_bypass=on' });
  await db.connect();
  system = await startTestSystem({ agents: 1 });
  alice = clientsFor(await tokenFor({ kind: 'user', id: `alice-${runTag}`, roles: [] }));
});

afterAll(async () => {
  await system?.stop();
  await db?.end();
});

describe('vertical slice', () => {
  it('walks block → task → job → agent → task done', async () => {
    const block = await alice.knowledge.blocks.create.mutate({
      type: 'Decision',
      sessionId: runTag,
      title: 'Use JetStream for jobs',
      content: 'work-queue streams',
    });
    expect(block).toMatchObject({ type: 'Decision', sessionId: runTag, status: 'active', version: 1 });

    const read = await alice.knowledge.blocks.get.query({ id: block.id });
    expect(read).toEqual(block);

    const task = await alice.operations.tasks.create.mutate({
      title: `${runTag} ship the slice`,
      blockId: block.id,
      priority: 'P1',
      subtasks: [{ title: `${runTag} sub one` }, { title: `${runTag} sub two` }],
    });
    expect(task.status).toBe('todo');
    expect(task.blockId).toBe(block.id);
    expect(task.subtasks.map((s) => s.title)).toEqual([`${runTag} sub one`, `${runTag} sub two`]);
    expect(task.subtasks.every((s) => s.parentId === task.id)).toBe(true);

    const triggered = await alice.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: { target: 'slice' } });
    expect(triggered.status).toBe('queued');

    const job = await eventually(
      () => alice.coordination.jobs.get.query({ jobId: triggered.jobId }),
      (j) => j.status === 'succeeded',
      30_000,
      'job succeeded',
    );
    expect(job.history.map((h) => h.status)).toEqual(['queued', 'running', 'succeeded']);
    expect(job.agent).toBe('test-agent-1');

    const done = await eventually(
      () => alice.operations.tasks.get.query({ id: task.id }),
      (t) => t.status === 'done',
      30_000,
      'task done',
    );
    expect(done.completedAt).not.toBeNull();
    expect(done.subtasks).toHaveLength(2);
  });

  it('applies a redelivered job.succeeded event only once', async () => {
    const task = await alice.operations.tasks.create.mutate({ title: `${runTag} idempotent` });
    const triggeredAt = new Date(Date.now() - 1_000);
    const { jobId } = await alice.coordination.jobs.trigger.mutate({ jobType: 'gap_analysis', targetId: task.id });
    const done = await eventually(
      () => alice.operations.tasks.get.query({ id: task.id }),
      (t) => t.status === 'done',
      30_000,
      'task done',
    );

    // Re-publish the same envelope under a new Nats-Msg-Id so JetStream's dedupe does not hide it:
    // the consumer's processed-event table must.
    const nc = await connectNats({
      url: stores['NATS_URL']!,
      user: stores['NATS_USER'],
      password: stores['NATS_PASSWORD'],
      name: 'slice-test',
      log: createLogger('slice-test', 'warn'),
    });
    try {
      // This job's event, not simply the last one: the system's agent may finish other queued jobs
      // (left by earlier test files on a shared server) right after it.
      const succeededEvents = await nc.jetstream().consumers.get('COORDINATION_EVENTS', {
        filterSubjects: ['coordination.job.succeeded'],
        opt_start_time: triggeredAt.toISOString(),
      });
      let envelope: { id: string; data: { jobId: string } } | undefined;
      while (!envelope) {
        const m = await succeededEvents.next({ expires: 5_000 });
        if (!m) throw new Error(`no coordination.job.succeeded for job ${jobId} in the stream`);
        const e = m.json<{ id: string; data: { jobId: string } }>();
        if (e.data.jobId === jobId) envelope = e;
      }
      expect(envelope.data.jobId).toBe(jobId);
      await nc
        .jetstream()
        .publish('coordination.job.succeeded', JSON.stringify(envelope), { msgID: `replay-${envelope.id}`, headers: headers() });
      await nc.flush();
      await eventually(
        async () => (await db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [envelope.id])).rowCount,
        (n) => n === 1,
        10_000,
        'processed event recorded',
      );
    } finally {
      await nc.close();
    }
    await new Promise((r) => setTimeout(r, 1_500)); // let the duplicate reach the consumer
    const after = await alice.operations.tasks.get.query({ id: task.id });
    expect(after.updatedAt).toBe(done.updatedAt);
    const completed = await db.query(
      `SELECT 1 FROM outbox WHERE subject = 'operations.task.completed' AND envelope->'data'->>'taskId' = $1`,
      [task.id],
    );
    expect(completed.rowCount).toBe(1);
  });

  it('refuses an unknown block with BAD_REQUEST and writes nothing', async () => {
    const prefix = `${runTag} unknown-block`;
    const err = await trpcError(
      alice.operations.tasks.create.mutate({ title: prefix, blockId: crypto.randomUUID(), subtasks: [{ title: `${prefix} s` }] }),
    );
    expect(err.data).toMatchObject({ code: 'BAD_REQUEST' });
    expect(err.message).toMatch(/does not exist/);
    expect(await taskCount(prefix)).toBe(0);
  });

  it('refuses malformed input with BAD_REQUEST and the zod issues, writing nothing', async () => {
    const prefix = `${runTag} malformed`;
    // priority outside the enum, subtask without a title
    const bad = { title: prefix, priority: 'P9', subtasks: [{ description: 'x' }] } as unknown as Parameters<
      typeof alice.operations.tasks.create.mutate
    >[0];
    const err = await trpcError(alice.operations.tasks.create.mutate(bad));
    expect(err.data.code).toBe('BAD_REQUEST');
    expect(err.data.zodIssues?.map((i) => i.path.join('.')).sort()).toEqual(['priority', 'subtasks.0.title']);
    expect(await taskCount(prefix)).toBe(0);

    const blockErr = await trpcError(
      alice.knowledge.blocks.create.mutate({ type: 'Nonsense', sessionId: runTag, title: 'x' } as unknown as Parameters<
        typeof alice.knowledge.blocks.create.mutate
      >[0]),
    );
    expect(blockErr.data.zodIssues).toHaveLength(1);

    const jobErr = await trpcError(alice.coordination.jobs.trigger.mutate({ jobType: 'gap_analysis', params: { depth: 'deep' } }));
    expect(jobErr.data.code).toBe('BAD_REQUEST');
  });

  it('answers NOT_FOUND for an unknown block', async () => {
    const err = await trpcError(alice.knowledge.blocks.get.query({ id: crypto.randomUUID() }));
    expect(err.data.code).toBe('NOT_FOUND');
  });

  it('refuses calls without a valid token with UNAUTHORIZED, writing nothing', async () => {
    const prefix = `${runTag} anonymous`;
    const anonymous = clientsFor(async () => '', TEST_PORTS);
    // Calls are started one at a time so no rejection goes unobserved.
    for (const call of [
      () => anonymous.operations.tasks.create.mutate({ title: prefix }),
      () => anonymous.knowledge.blocks.create.mutate({ type: 'Risk', sessionId: runTag, title: prefix }),
      () => anonymous.coordination.jobs.trigger.mutate({ jobType: 'build' }),
    ]) {
      expect((await trpcError(call())).data.code).toBe('UNAUTHORIZED');
    }
    const forged = clientsFor(await tokenFor({ kind: 'user', id: 'mallory', roles: [] }).then((t) => `${t.slice(0, -4)}AAAA`));
    expect((await trpcError(forged.operations.tasks.create.mutate({ title: prefix }))).data.code).toBe('UNAUTHORIZED');
    expect(await taskCount(prefix)).toBe(0);
  });
});
