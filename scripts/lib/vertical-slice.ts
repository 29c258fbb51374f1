/**
 * The vertical slice, walked through the three services' public APIs: a knowledge block (Neo4j), a
 * task on it with subtasks (operations, Postgres, block checked via knowledge), a job on the task
 * (coordination, JetStream) taken by an agent, the task done by operations consuming
 * coordination.job.succeeded, and a refusal. Used by `npm run demo` (against `npm start`) and by the
 * image check (scripts/images/check.ts, against the containers). Throws when a step does not end
 * where it must.
 */
import { createServiceClient } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import type { OperationsRouter } from '@platform/operations/router';
import { TRPCClientError } from '@trpc/client';
import { devToken, type ServiceName } from '@platform/testkit';

export type SliceStep = (n: number, text: string, detail: unknown) => void;

export async function walkVerticalSlice(ports: Record<ServiceName, number>, user: string, step: SliceStep): Promise<void> {
  const token = await devToken({ kind: 'user', id: user, roles: [] });
  const client = (port: number) => ({ baseUrl: `http://127.0.0.1:${port}`, getToken: async () => token, timeoutMs: 10_000 });
  const knowledge = createServiceClient<KnowledgeRouter>(client(ports.knowledge));
  const operations = createServiceClient<OperationsRouter>(client(ports.operations));
  const coordination = createServiceClient<CoordinationRouter>(client(ports.coordination));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const block = await knowledge.blocks.create.mutate({
    type: 'Decision',
    sessionId: 'demo',
    title: 'Adopt the agent platform',
    content: 'Decided in the demo',
  });
  step(1, 'knowledge.blocks.create → Neo4j', { id: block.id, type: block.type, status: block.status });
  step(2, 'knowledge.blocks.get', { title: (await knowledge.blocks.get.query({ id: block.id })).title });

  const task = await operations.tasks.create.mutate({
    title: 'Roll out the platform',
    blockId: block.id,
    subtasks: [{ title: 'Write the runbook' }, { title: 'Train the team' }],
  });
  step(3, 'operations.tasks.create (block checked via knowledge, 2 subtasks) → Postgres', {
    id: task.id,
    status: task.status,
    subtasks: task.subtasks.length,
  });

  const job = await coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: { target: 'demo' } });
  step(4, 'coordination.jobs.trigger → JetStream work queue', job);

  let status = job.status as string;
  for (let i = 0; i < 100 && status !== 'succeeded' && status !== 'failed'; i++) {
    await sleep(200);
    status = (await coordination.jobs.get.query({ jobId: job.jobId })).status;
  }
  const history = (await coordination.jobs.get.query({ jobId: job.jobId })).history.map(
    (h) => `${h.status}${h.agent ? `@${h.agent}` : ''}`,
  );
  step(5, 'an agent took the job', { status, history });
  if (status !== 'succeeded') throw new Error(`job ${job.jobId} ended ${status}, not succeeded (is an agent running?)`);

  let done = await operations.tasks.get.query({ id: task.id });
  for (let i = 0; i < 100 && done.status !== 'done'; i++) {
    await sleep(200);
    done = await operations.tasks.get.query({ id: task.id });
  }
  step(6, 'operations consumed coordination.job.succeeded → task', { status: done.status, completedAt: done.completedAt });
  if (done.status !== 'done') throw new Error(`task ${task.id} is ${done.status}, not done`);

  const refusal = await operations.tasks.create.mutate({ title: 'x', blockId: crypto.randomUUID() }).catch((e: unknown) => e);
  const code = refusal instanceof TRPCClientError ? (refusal.data as { code?: string } | undefined)?.code : undefined;
  step(7, 'refusal: task for an unknown block', refusal instanceof TRPCClientError ? { code, message: refusal.message } : refusal);
  if (code === undefined) throw new Error(`a task for an unknown block was not refused: ${JSON.stringify(refusal)}`);
}
