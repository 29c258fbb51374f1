import { createHash } from 'node:crypto';
import type { RunStepStatus, TaskStatus, TypedEnvelope } from '@platform/contracts';
import type { Ownership } from '../store/scope.js';

/**
 * The platform's own workflows as runs (pure rules; src/store/recorded-runs.ts writes them):
 *
 * - a saga is a run (kind `saga`): its root step is the saga, one child per saga step (by index),
 *   and a step's compensation is a child of the step it undoes;
 * - a task is a step; a top-level task roots a run (kind `task`) and its subtasks hang below it, so
 *   a task with subtasks is its tree;
 * - a job for a task is a step under the task's step; any other job is a run of its own (kind `job`).
 *
 * Every id is a UUIDv5 of the source's id, so a redelivered or out-of-order event names the same
 * nodes. An event may name a parent not recorded yet: it is created as a placeholder and filled in
 * when its own event arrives. Each observation carries an `order` (saga and job version, task event
 * time): a node takes an observation only when its order is above the node's, so an older event
 * never overwrites newer state and a redelivered one changes nothing.
 */

export type RunKind = 'manual' | 'saga' | 'task' | 'job';

/** Namespace of the recorded runs' ids (a fixed random UUID: ids stay the same across releases). */
const NAMESPACE = '6f1c7f36-4a54-4d0e-9a47-2b0b8f0d6c1e';

/** RFC 4122 version 5 (SHA-1, name-based) UUID of `name` in our namespace. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const recordedIds = {
  sagaRun: (sagaId: string) => uuidV5(`saga-run:${sagaId}`),
  sagaRoot: (sagaId: string) => uuidV5(`saga:${sagaId}`),
  sagaStep: (sagaId: string, index: number) => uuidV5(`saga:${sagaId}:step:${index}`),
  sagaCompensation: (sagaId: string, index: number) => uuidV5(`saga:${sagaId}:step:${index}:compensation`),
  taskRun: (taskId: string) => uuidV5(`task-run:${taskId}`),
  taskStep: (taskId: string) => uuidV5(`task:${taskId}`),
  jobRun: (jobId: string) => uuidV5(`job-run:${jobId}`),
  jobStep: (jobId: string) => uuidV5(`job:${jobId}`),
};

/** A run to create when a node has to root one. */
export interface RunSpec {
  id: string;
  kind: RunKind;
  name: string;
  /** The source record the run stands for (saga, task or job id). */
  sourceId: string;
  owner: Ownership;
  /** When the event that made the run happened: the run's createdAt (lists order and filter by it). */
  at: string;
}

type Json = Record<string, unknown>;

/** What an event says about one node. Nodes come parents first. */
export interface NodeObservation {
  stepId: string;
  /** The step it hangs under, or null: it roots `run` (when it has to be created). */
  parentStepId: string | null;
  run: RunSpec | null;
  name: string;
  /** Only make sure the node exists (a parent named before its own event): never change it. */
  placeholder: boolean;
  status: RunStepStatus;
  input: Json | null;
  output: Json | null;
  /** Orders the observations of one node: a lower or equal one than the node's is ignored. */
  order: number;
  /** When it roots its run: the run's name and owner follow it (a placeholder's were a guess). */
  ownsRun: boolean;
}

export interface RecordPlan {
  /** The service whose event this is: the `by` of the changes. */
  by: string;
  nodes: NodeObservation[];
}

type SagaSubject =
  | 'operations.saga.started'
  | 'operations.saga.compensating'
  | 'operations.saga.completed'
  | 'operations.saga.compensated'
  | 'operations.saga.failed';
type TaskSubject = 'operations.task.created' | 'operations.task.updated' | 'operations.task.completed' | 'operations.task.deleted';
type JobSubject =
  | 'coordination.job.queued'
  | 'coordination.job.started'
  | 'coordination.job.succeeded'
  | 'coordination.job.failed'
  | 'coordination.job.cancelled'
  | 'coordination.job.dead';

export const RECORDED_OPERATIONS_SUBJECTS = [
  'operations.saga.started',
  'operations.saga.compensating',
  'operations.saga.completed',
  'operations.saga.compensated',
  'operations.saga.failed',
  'operations.saga.step.changed',
  'operations.task.created',
  'operations.task.updated',
  'operations.task.completed',
  'operations.task.deleted',
] as const;
export const RECORDED_COORDINATION_SUBJECTS = [
  'coordination.job.queued',
  'coordination.job.started',
  'coordination.job.succeeded',
  'coordination.job.failed',
  'coordination.job.cancelled',
  'coordination.job.dead',
] as const;
export type RecordedSubject = (typeof RECORDED_OPERATIONS_SUBJECTS)[number] | (typeof RECORDED_COORDINATION_SUBJECTS)[number];

/** A saga's owner: the principal that started it. Sagas are not shared with a team. */
const sagaOwner = (startedBy: string): Ownership => ({ ownerKind: 'user', ownerId: startedBy, teamId: null });

function sagaRun(d: { sagaId: string; sagaType: string; startedBy: string }, at: string): RunSpec {
  return { id: recordedIds.sagaRun(d.sagaId), kind: 'saga', name: d.sagaType, sourceId: d.sagaId, owner: sagaOwner(d.startedBy), at };
}

function sagaRootPlaceholder(d: { sagaId: string; sagaType: string; startedBy: string }, at: string): NodeObservation {
  return {
    stepId: recordedIds.sagaRoot(d.sagaId),
    parentStepId: null,
    run: sagaRun(d, at),
    name: d.sagaType,
    placeholder: true,
    status: 'running',
    input: null,
    output: null,
    order: 0,
    ownsRun: false,
  };
}

const SAGA_STATUS: Record<string, RunStepStatus> = {
  started: 'running',
  compensating: 'running',
  completed: 'succeeded',
  compensated: 'failed',
  failed: 'failed',
};

/** Saga events older than `version` (written before it existed) order by nothing better than 1. */
const orderOf = (version: number | undefined) => version ?? 1;

function sagaPlan(e: TypedEnvelope<SagaSubject>): RecordPlan {
  const d = e.data;
  const verb = e.subject.slice('operations.saga.'.length);
  const root: NodeObservation = {
    ...sagaRootPlaceholder(d, e.occurredAt),
    placeholder: false,
    status: SAGA_STATUS[verb]!,
    input: { sagaId: d.sagaId, sagaType: d.sagaType },
    output: { sagaStatus: d.status, currentStep: d.currentStep, error: d.error },
    order: orderOf(d.version),
    ownsRun: true,
  };
  return { by: e.source, nodes: [root] };
}

const STEP_STATUS: Record<string, RunStepStatus> = { running: 'running', retrying: 'running', succeeded: 'succeeded', failed: 'failed' };

function sagaStepPlan(e: TypedEnvelope<'operations.saga.step.changed'>): RecordPlan {
  const d = e.data;
  const root = sagaRootPlaceholder(d, e.occurredAt);
  const stepId = recordedIds.sagaStep(d.sagaId, d.index);
  const output: Json = {
    phase: d.phase,
    stepStatus: d.status,
    attempt: d.attempt,
    ...(d.output !== undefined ? { output: d.output } : {}),
    ...(d.error !== null ? { error: d.error } : {}),
  };
  const observed = {
    placeholder: false,
    status: STEP_STATUS[d.status]!,
    input: { sagaId: d.sagaId, index: d.index, step: d.name },
    output,
    order: d.version,
    run: null,
    ownsRun: false,
  };
  // Siblings are ordered by when they were added: the steps before this one are named first (as
  // placeholders, filled in by their own events), so a saga's steps stay in definition order
  // whatever order their events arrive in.
  const earlier: NodeObservation[] = Array.from({ length: d.index }, (_, i) => ({
    stepId: recordedIds.sagaStep(d.sagaId, i),
    parentStepId: root.stepId,
    run: null,
    name: `step ${i}`,
    placeholder: true,
    status: 'pending',
    input: null,
    output: null,
    order: 0,
    ownsRun: false,
  }));
  if (d.phase === 'action') {
    return { by: e.source, nodes: [root, ...earlier, { stepId, parentStepId: root.stepId, name: d.name, ...observed }] };
  }
  // A compensation hangs under the step it undoes (a placeholder until that step's own event is recorded).
  const undone: NodeObservation = {
    stepId,
    parentStepId: root.stepId,
    run: null,
    name: d.name,
    placeholder: true,
    status: 'pending',
    input: null,
    output: null,
    order: 0,
    ownsRun: false,
  };
  return {
    by: e.source,
    nodes: [
      root,
      ...earlier,
      undone,
      { stepId: recordedIds.sagaCompensation(d.sagaId, d.index), parentStepId: stepId, name: `compensate ${d.name}`, ...observed },
    ],
  };
}

const TASK_STATUS: Record<TaskStatus, RunStepStatus> = {
  todo: 'pending',
  blocked: 'pending',
  in_progress: 'running',
  done: 'succeeded',
  cancelled: 'cancelled',
};

const taskName = (taskId: string) => `task ${taskId}`;

function taskRun(taskId: string, owner: Ownership, at: string): RunSpec {
  return { id: recordedIds.taskRun(taskId), kind: 'task', name: taskName(taskId), sourceId: taskId, owner, at };
}

/** A task named before its own event (a subtask's parent, a job's target): it roots its own run until it says otherwise. */
function taskPlaceholder(taskId: string, owner: Ownership, at: string): NodeObservation {
  return {
    stepId: recordedIds.taskStep(taskId),
    parentStepId: null,
    run: taskRun(taskId, owner, at),
    name: taskName(taskId),
    placeholder: true,
    status: 'pending',
    input: null,
    output: null,
    order: 0,
    ownsRun: false,
  };
}

function taskPlan(e: TypedEnvelope<TaskSubject>): RecordPlan {
  const d = e.data;
  const owner: Ownership = { ownerKind: 'user', ownerId: d.ownerId, teamId: d.teamId ?? null };
  const deleted = e.subject === 'operations.task.deleted';
  const task: NodeObservation = {
    stepId: recordedIds.taskStep(d.taskId),
    parentStepId: d.parentId ? recordedIds.taskStep(d.parentId) : null,
    run: d.parentId ? null : taskRun(d.taskId, owner, e.occurredAt),
    name: taskName(d.taskId),
    placeholder: false,
    status: deleted ? 'cancelled' : TASK_STATUS[d.status],
    input: { taskId: d.taskId, priority: d.priority, blockId: d.blockId, dueAt: d.dueAt ?? null },
    output: { taskStatus: d.status, ...(deleted ? { deleted: true } : {}) },
    order: Date.parse(e.occurredAt),
    ownsRun: d.parentId === null,
  };
  return { by: e.source, nodes: d.parentId ? [taskPlaceholder(d.parentId, owner, e.occurredAt), task] : [task] };
}

const JOB_STATUS: Record<string, RunStepStatus> = {
  queued: 'pending',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  dead: 'failed',
};
const JOB_RANK: Record<string, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2, dead: 3 };

function jobPlan(e: TypedEnvelope<JobSubject>): RecordPlan {
  const d = e.data;
  // A job without an owner (written before jobs had owners) is the platform's: services and admins see it.
  const owner: Ownership = d.owner
    ? { ownerKind: d.owner.kind, ownerId: d.owner.id, teamId: null }
    : { ownerKind: 'service', ownerId: 'coordination', teamId: null };
  const forTask = d.targetKind === 'task' && d.targetId !== null;
  const stepId = recordedIds.jobStep(d.jobId);
  const job: NodeObservation = {
    stepId,
    parentStepId: forTask ? recordedIds.taskStep(d.targetId!) : null,
    run: forTask
      ? null
      : { id: recordedIds.jobRun(d.jobId), kind: 'job', name: `${d.jobType} job`, sourceId: d.jobId, owner, at: e.occurredAt },
    name: `${d.jobType} job`,
    placeholder: false,
    status: JOB_STATUS[d.status]!,
    input: { jobId: d.jobId, jobType: d.jobType, targetKind: d.targetKind, targetId: d.targetId },
    output: {
      jobStatus: d.status,
      attempt: d.attempt,
      agent: d.agent,
      ...(d.result !== undefined ? { result: d.result } : {}),
      ...(d.error !== undefined ? { error: d.error } : {}),
    },
    // Events before `version` existed: attempts grow and a job's statuses move forward within one.
    order: d.version ?? d.attempt * 10 + JOB_RANK[d.status]!,
    ownsRun: !forTask,
  };
  return { by: e.source, nodes: forTask ? [taskPlaceholder(d.targetId!, owner, e.occurredAt), job] : [job] };
}

/** What an event of the recorded subjects says about runs. */
export function planFor(e: TypedEnvelope<RecordedSubject>): RecordPlan {
  if (e.subject === 'operations.saga.step.changed') return sagaStepPlan(e as TypedEnvelope<'operations.saga.step.changed'>);
  if (e.subject.startsWith('operations.saga.')) return sagaPlan(e as TypedEnvelope<SagaSubject>);
  if (e.subject.startsWith('operations.task.')) return taskPlan(e as TypedEnvelope<TaskSubject>);
  return jobPlan(e as TypedEnvelope<JobSubject>);
}
