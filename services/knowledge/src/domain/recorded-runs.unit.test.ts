import { createEnvelope } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import { planFor, recordedIds, uuidV5 } from './recorded-runs.js';

describe('recorded run ids', () => {
  it('are RFC 4122 version 5 UUIDs (the RFC example: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('name the same node for the same source id, and different nodes for different roles', () => {
    const id = '0b9f5a6e-5d0c-4a57-9a43-6f1f3c1e2a10';
    expect(recordedIds.sagaStep(id, 1)).toBe(recordedIds.sagaStep(id, 1));
    const all = [
      recordedIds.sagaRun(id),
      recordedIds.sagaRoot(id),
      recordedIds.sagaStep(id, 0),
      recordedIds.sagaStep(id, 1),
      recordedIds.sagaCompensation(id, 1),
      recordedIds.taskRun(id),
      recordedIds.taskStep(id),
      recordedIds.jobRun(id),
      recordedIds.jobStep(id),
    ];
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('planFor', () => {
  const sagaId = '0b9f5a6e-5d0c-4a57-9a43-6f1f3c1e2a10';
  it('puts a compensation under the step it undoes, naming that step as a placeholder', () => {
    const e = createEnvelope('operations', 'operations.saga.step.changed', {
      sagaId,
      sagaType: 'checkout',
      startedBy: 'alice',
      version: 6,
      index: 1,
      name: 'charge',
      phase: 'compensation',
      status: 'succeeded',
      attempt: 1,
      error: null,
    });
    const plan = planFor(e);
    // The root, the earlier step (so siblings keep definition order), the undone step, the compensation.
    expect(plan.nodes.map((n) => [n.stepId, n.parentStepId, n.placeholder])).toEqual([
      [recordedIds.sagaRoot(sagaId), null, true],
      [recordedIds.sagaStep(sagaId, 0), recordedIds.sagaRoot(sagaId), true],
      [recordedIds.sagaStep(sagaId, 1), recordedIds.sagaRoot(sagaId), true],
      [recordedIds.sagaCompensation(sagaId, 1), recordedIds.sagaStep(sagaId, 1), false],
    ]);
    expect(plan.nodes[3]).toMatchObject({ name: 'compensate charge', status: 'succeeded', order: 6 });
    expect(plan.nodes[0]!.run).toMatchObject({ kind: 'saga', owner: { ownerKind: 'user', ownerId: 'alice', teamId: null } });
  });

  it('orders job events by version, or by attempt and status for events written before version existed', () => {
    const job = (status: 'queued' | 'running' | 'failed', attempt: number, version?: number) =>
      planFor(
        createEnvelope('coordination', `coordination.job.${status === 'running' ? 'started' : status}`, {
          jobId: sagaId,
          jobType: 'build',
          status,
          targetKind: 'none',
          targetId: null,
          attempt,
          agent: null,
          ...(version ? { version } : {}),
        }),
      ).nodes[0]!.order;
    expect(job('running', 1, 7)).toBe(7);
    expect([job('queued', 0), job('running', 1), job('failed', 1), job('queued', 2), job('running', 2)]).toEqual([0, 11, 12, 20, 21]);
  });
});
