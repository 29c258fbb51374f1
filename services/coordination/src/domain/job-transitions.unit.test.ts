import { JobStatus, type JobStatus as Status } from '@platform/contracts';
import { DomainError } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../store/job-record.js';
import { settlementFor } from './claim.js';
import {
  afterFailure,
  assertCancellable,
  assertHeldBy,
  assertRetryable,
  isClaimable,
  kill,
  requeue,
  transition,
} from './job-transitions.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
let ids = 0;
const deps = { clock: () => new Date(NOW), newId: () => `id-${++ids}` };

function job(status: Status, changes: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'j1',
    jobType: 'build',
    targetKind: 'none',
    targetId: null,
    params: {},
    status,
    priority: 'high',
    attempt: 1,
    failures: 0,
    maxAttempts: 3,
    notBefore: null,
    agent: status === 'running' ? 'a1' : null,
    leaseRevision: status === 'running' ? 7 : null,
    progress: null,
    idempotencyKey: null,
    scheduleId: null,
    createdBy: 'user:alice',
    owner: null,
    teamId: null,
    traceparent: null,
    createdAt: '2026-03-01T11:00:00.000Z',
    updatedAt: '2026-03-01T11:00:00.000Z',
    history: [{ status: 'queued', at: '2026-03-01T11:00:00.000Z', attempt: 0, agent: null }],
    outbox: [],
    ...changes,
  };
}

/** The DomainError code `fn` throws, or 'allowed'. */
function verdict(fn: () => void): string {
  try {
    fn();
    return 'allowed';
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
}

const everyStatus = JobStatus.options;
const subjects = (j: JobRecord) => j.outbox.map((m) => m.subject);

describe('which moves each status allows', () => {
  it.each(everyStatus)('cancel from %s', (status) => {
    expect(verdict(() => assertCancellable(job(status)))).toBe(status === 'queued' || status === 'running' ? 'allowed' : 'CONFLICT');
  });

  it.each(everyStatus)('retry by hand from %s', (status) => {
    expect(verdict(() => assertRetryable(job(status)))).toBe(status === 'dead' ? 'allowed' : 'CONFLICT');
  });

  it.each(everyStatus)('claim (start) from %s', (status) => {
    expect(isClaimable(job(status))).toBe(status === 'queued');
  });

  it.each(everyStatus)('complete, fail or release by its agent from %s', (status) => {
    // The agent that held it last still sees it, but only a running job is its to change.
    expect(verdict(() => assertHeldBy(job(status, { agent: 'a1' }), 'a1'))).toBe(status === 'running' ? 'allowed' : 'CONFLICT');
  });

  it.each(everyStatus)('any change by another agent from %s is NOT_FOUND (no hint the job exists)', (status) => {
    expect(verdict(() => assertHeldBy(job(status, { agent: 'a1' }), 'a2'))).toBe('NOT_FOUND');
  });

  it('a refusal names the status it found', () => {
    try {
      assertCancellable(job('succeeded'));
      expect.unreachable();
    } catch (err) {
      expect((err as DomainError).details).toEqual({ status: 'succeeded' });
    }
  });
});

describe('transition', () => {
  it.each(everyStatus)('to %s appends one history entry and the event announcing it', (status) => {
    const before = job('queued');
    const next = transition(deps, before, status, { attempt: 2 }, 'why');
    expect(next.status).toBe(status);
    expect(next.updatedAt).toBe(new Date(NOW).toISOString());
    expect(next.history).toHaveLength(before.history.length + 1);
    expect(next.history.at(-1)).toEqual({ status, at: new Date(NOW).toISOString(), attempt: 2, agent: null, note: 'why' });
    const events = {
      queued: 'queued',
      running: 'started',
      succeeded: 'succeeded',
      failed: 'failed',
      cancelled: 'cancelled',
      dead: 'dead',
    } as const;
    expect(subjects(next)).toEqual([`coordination.job.${events[status]}`]);
    const env = JSON.parse(next.outbox[0]!.payload) as { id: string; data: { status: string; version: number } };
    expect(env.id).toBe(next.outbox[0]!.msgId);
    expect(env.data).toMatchObject({ status, version: next.history.length });
    expect(before.history).toHaveLength(1); // the record read is not changed
  });

  it('keeps what the outbox still owes before the new event', () => {
    const owed = { subject: 'x', msgId: 'm0', payload: '{}' };
    expect(transition(deps, job('running', { outbox: [owed] }), 'succeeded').outbox[0]).toEqual(owed);
  });
});

describe('requeue', () => {
  it('clears the agent and progress, announces queued, then sends the work item', () => {
    const queued = requeue(
      deps,
      job('running', { progress: { fraction: 0.5, message: null, at: 'x' } }),
      { leaseRevision: null },
      'released',
    );
    expect(queued).toMatchObject({ status: 'queued', agent: null, progress: null, leaseRevision: null });
    expect(subjects(queued)).toEqual(['coordination.job.queued', 'jobs.queue.build.high']);
    // A later requeue is a new work item (its id names the transition), a re-sent one is not.
    expect(queued.outbox[1]!.msgId).toBe(`j1.q${queued.history.length}`);
  });
});

describe('kill', () => {
  it('announces dead and sends the dead letter with the history', () => {
    const dead = kill(deps, job('failed'), 'gave up');
    expect(dead.status).toBe('dead');
    expect(subjects(dead)).toEqual(['coordination.job.dead', 'jobs.dead.build']);
    const letter = JSON.parse(dead.outbox[1]!.payload) as { reason: string; job: { jobId: string; history: unknown[] } };
    expect(letter.reason).toBe('gave up');
    expect(letter.job.jobId).toBe('j1');
    expect(letter.job.history).toHaveLength(dead.history.length);
  });
});

describe('afterFailure', () => {
  it('queues again after the type backoff while attempts remain', () => {
    const next = afterFailure(deps, job('failed', { failures: 0 }), 'boom', true);
    expect(next).toMatchObject({ status: 'queued', failures: 1, notBefore: new Date(NOW + 2_000).toISOString() });
    expect(next.history.at(-1)!.note).toBe('retry 1/2 after 2000 ms: boom');
  });

  it('doubles the backoff with each failure', () => {
    expect(afterFailure(deps, job('failed', { failures: 1 }), 'boom', true).notBefore).toBe(new Date(NOW + 4_000).toISOString());
  });

  it('queues at once, without backoff, when the agent was lost', () => {
    const next = afterFailure(deps, job('running', { failures: 0 }), 'agent offline', false);
    expect(next).toMatchObject({ status: 'queued', failures: 1, notBefore: null });
    expect(next.history.at(-1)!.note).toBe('retry 1/2: agent offline');
  });

  it('is dead after the last attempt', () => {
    const next = afterFailure(deps, job('failed', { failures: 2 }), 'boom', true);
    expect(next).toMatchObject({ status: 'dead', failures: 3 });
    expect(next.history.at(-1)!.note).toBe('gave up after 3 failure(s): boom');
    expect(subjects(next)).toEqual(['coordination.job.dead', 'jobs.dead.build']);
  });
});

describe('settlementFor (what becomes of a pulled work item)', () => {
  it('started: done (acked)', () => expect(settlementFor({ started: job('running') })).toEqual({ kind: 'done' }));
  it('a retry in its backoff: back when due', () => expect(settlementFor({ laterMs: 1_500 })).toEqual({ kind: 'later', ms: 1_500 }));
  it('cancelled or already running: dropped', () => expect(settlementFor({ gone: true })).toEqual({ kind: 'drop' }));
});
