// Walks the vertical slice against the running system (`npm start`) and prints each step.
import { createServiceClient } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import type { OperationsRouter } from '@platform/operations/router';
import { TRPCClientError } from '@trpc/client';
import { devToken, SERVICE_PORTS } from './lib/local-env.js';

const user = process.argv[2] ?? 'demo-user';
const token = await devToken({ kind: 'user', id: user, roles: [] });
const client = (port: number) => ({ baseUrl: `http://127.0.0.1:${port}`, getToken: async () => token, timeoutMs: 10_000 });
const knowledge = createServiceClient<KnowledgeRouter>(client(SERVICE_PORTS.knowledge));
const operations = createServiceClient<OperationsRouter>(client(SERVICE_PORTS.operations));
const coordination = createServiceClient<CoordinationRouter>(client(SERVICE_PORTS.coordination));

const step = (n: number, text: string, detail: unknown) => console.log(`${n}. ${text}\n   ${JSON.stringify(detail)}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  const block = await knowledge.blocks.create.mutate({ type: 'Decision', sessionId: 'demo', title: 'Adopt the agent platform', content: 'Decided in the demo' });
  step(1, 'knowledge.blocks.create → Neo4j', { id: block.id, type: block.type, status: block.status });
  step(2, 'knowledge.blocks.get', { title: (await knowledge.blocks.get.query({ id: block.id })).title });

  const task = await operations.tasks.create.mutate({ title: 'Roll out the platform', blockId: block.id, subtasks: [{ title: 'Write the runbook' }, { title: 'Train the team' }] });
  step(3, 'operations.tasks.create (block checked via knowledge, 2 subtasks) → Postgres', { id: task.id, status: task.status, subtasks: task.subtasks.length });

  const job = await coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: { target: 'demo' } });
  step(4, 'coordination.jobs.trigger → JetStream work queue', job);

  let status = job.status as string;
  for (let i = 0; i < 100 && status !== 'succeeded' && status !== 'failed'; i++) {
    await sleep(200);
    status = (await coordination.jobs.get.query({ jobId: job.jobId })).status;
  }
  const history = (await coordination.jobs.get.query({ jobId: job.jobId })).history.map((h) => `${h.status}${h.agent ? `@${h.agent}` : ''}`);
  step(5, 'example agent took the job', { status, history });

  let done = await operations.tasks.get.query({ id: task.id });
  for (let i = 0; i < 100 && done.status !== 'done'; i++) {
    await sleep(200);
    done = await operations.tasks.get.query({ id: task.id });
  }
  step(6, 'operations consumed coordination.job.succeeded → task', { status: done.status, completedAt: done.completedAt });

  const refusal = await operations.tasks.create.mutate({ title: 'x', blockId: crypto.randomUUID() }).catch((e: unknown) => e);
  step(7, 'refusal: task for an unknown block', refusal instanceof TRPCClientError ? { code: (refusal.data as { code?: string } | undefined)?.code, message: refusal.message } : refusal);
  process.exit(done.status === 'done' ? 0 : 1);
} catch (err) {
  console.error('demo failed (is `npm start` running?):', err instanceof Error ? err.message : err);
  process.exit(1);
}
