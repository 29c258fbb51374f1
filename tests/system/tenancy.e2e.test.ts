import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// Tenancy across the three services as processes, with an example agent: a service that asks another
// on a user's behalf asks AS that user, so one user can never reach another's records through a
// second service (issue 12's reproduced escalation: B triggers a build on A's task, the agent
// finishes it, operations marks A's task done).
const ports = { knowledge: 4261, operations: 4262, coordination: 4263 };
const run = `ten-${Date.now().toString(36)}`;
let system: TestSystem | undefined;
let alice: ReturnType<typeof clientsFor>;
let bob: ReturnType<typeof clientsFor>;

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  return ((err as TRPCClientError<never>).data as unknown as { code: string }).code;
};

beforeAll(async () => {
  system = await startTestSystem({ ports, agents: 1, env: { LOG_LEVEL: 'warn' } });
  alice = clientsFor(await tokenFor({ kind: 'user', id: `alice-${run}`, roles: [] }, 3_600), ports);
  bob = clientsFor(await tokenFor({ kind: 'user', id: `bob-${run}`, roles: [] }, 3_600), ports);
}, 180_000);

afterAll(async () => {
  await system?.stop();
});

describe('tenancy across services', () => {
  it("operations checks a task's block as the task's creator: another user's block does not exist for them", async () => {
    const block = await alice.knowledge.blocks.create.mutate({ type: 'Decision', sessionId: run, title: 'alice only' });
    expect(await codeOf(bob.operations.tasks.create.mutate({ title: `bob on alice's block ${run}`, blockId: block.id }))).toBe(
      'BAD_REQUEST',
    );
    const own = await alice.operations.tasks.create.mutate({ title: `alice on her block ${run}`, blockId: block.id });
    expect(own.id).toBeTruthy();
  });

  it("B cannot trigger a build on A's task, so A's task is never finished by B's job; A's own job finishes it", async () => {
    const task = await alice.operations.tasks.create.mutate({ title: `alice's task ${run}` });
    expect(
      await codeOf(bob.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: {}, idempotencyKey: `bob-${run}` })),
    ).toBe('NOT_FOUND');
    // No job aimed at the task exists, whoever looks (a service sees every job).
    const service = clientsFor(await tokenFor({ kind: 'service', id: 'operations', roles: ['service'] }, 600), ports);
    expect((await service.coordination.jobs.list.query({ targetId: task.id })).jobs).toEqual([]);
    // Nothing of B's reached the task: still todo after the agent had time to work.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await alice.operations.tasks.get.query({ id: task.id })).status).toBe('todo');

    await alice.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: {}, idempotencyKey: `alice-${run}` });
    await eventually(
      () => alice.operations.tasks.get.query({ id: task.id }),
      (t) => t.status === 'done',
      30_000,
      "alice's task done by her own job",
    );
  });
});
