import { z } from 'zod';
import { BlockId, IsoDateTime, PrincipalId, TaskId, Uuid } from '../ids.js';
import { TaskPriority, TaskStatus } from '../tasks.js';

/** The fields tasks.edit changes. */
export const TaskDetailField = z.enum(['title', 'description', 'priority', 'dueAt']);
export type TaskDetailField = z.infer<typeof TaskDetailField>;

export const TaskEvent = z.object({
  taskId: TaskId,
  ownerId: PrincipalId,
  status: TaskStatus,
  priority: TaskPriority,
  parentId: TaskId.nullable(),
  blockId: BlockId.nullable(),
  /** Team the task is shared with (absent in events written before teams existed). */
  teamId: Uuid.nullable().optional(),
  /** When the task should be done (absent in events written before due dates existed). */
  dueAt: IsoDateTime.nullable().optional(),
  /** On `operations.task.updated`: what changed (`details`: title, description, priority or due date — see `changed`). */
  change: z.enum(['status', 'parent', 'details']).optional(),
  previousStatus: TaskStatus.optional(),
  /** On a `details` change: the fields tasks.edit changed (read their values from operations). */
  changed: z.array(TaskDetailField).min(1).optional(),
});

/**
 * `operations.task.deleted`: one event per deleted task, the deepest subtasks first and the task the
 * owner deleted last, all from one transaction. The data is the task as it was.
 */
export const TaskDeletedEvent = TaskEvent.extend({
  /** The task the owner deleted: the task itself, or the ancestor a subtask went with. */
  deletedWith: TaskId,
});

export const ApprovalEvent = z.object({
  approvalId: Uuid,
  subjectKind: z.string().min(1).max(50),
  subjectId: z.string().min(1).max(200),
  status: z.enum(['pending', 'approved', 'rejected', 'cancelled']),
  teamId: Uuid.nullable(),
  requestedBy: PrincipalId,
  decidedBy: PrincipalId.nullable(),
  decidedAt: IsoDateTime.nullable(),
});

export const MemoryEvent = z.object({
  memoryId: Uuid,
  /** Exactly one of the two owners is set. */
  ownerUserId: PrincipalId.nullable(),
  agentId: Uuid.nullable(),
  type: z.enum(['episodic', 'semantic', 'procedural']),
  tier: z.enum(['core', 'recall', 'archival']),
  status: z.enum(['active', 'archived', 'expired']),
  version: z.number().int().min(1),
  change: z.enum(['created', 'updated', 'tagged', 'untagged', 'expired']),
});

export const SagaEvent = z.object({
  sagaId: Uuid,
  sagaType: z.string().min(1).max(100),
  status: z.enum(['running', 'compensating', 'completed', 'compensated', 'failed']),
  /** Next step to run (or to compensate, when compensating). */
  currentStep: z.number().int(),
  startedBy: PrincipalId,
  error: z.string().nullable(),
  /**
   * The saga's stream version after this change: orders every event of one saga (saga and step
   * events written in one transaction share it). Absent in events written before it existed.
   */
  version: z.number().int().min(1).optional(),
});

/** A step of a saga changed: what it does (`action`) or its undoing (`compensation`). */
export const SagaStepPhase = z.enum(['action', 'compensation']);
/**
 * `running`: the saga is at this step now; `retrying`: an attempt failed and another follows;
 * `succeeded` / `failed`: the step's final outcome (`failed`: its retries were used up).
 */
export const SagaStepStatus = z.enum(['running', 'retrying', 'succeeded', 'failed']);

/** `operations.saga.step.changed`: written in the transaction that records the step's state. */
export const SagaStepEvent = z.object({
  sagaId: Uuid,
  sagaType: z.string().min(1).max(100),
  startedBy: PrincipalId,
  /** The saga's stream version after this change (see SagaEvent.version). */
  version: z.number().int().min(1),
  /** The step's position in its saga's definition (0 = first). */
  index: z.number().int().min(0),
  name: z.string().min(1).max(200),
  phase: SagaStepPhase,
  status: SagaStepStatus,
  attempt: z.number().int().min(0),
  /** On `succeeded` actions: the step's result, cut to a summary when large (`{ truncated, preview }`). */
  output: z.unknown().optional(),
  error: z.string().max(1_000).nullable(),
});

/** An event appended to operations' event store (the envelope id is the stored event's id). */
export const AppendedEvent = z.object({
  position: z.number().int().positive(),
  eventId: Uuid,
  aggregateId: z.string().min(1).max(200),
  aggregateType: z.string().min(1).max(100),
  eventType: z.string().min(1).max(100),
  version: z.number().int().positive(),
  data: z.unknown(),
});

/** Subjects the operations service publishes (stream OPERATIONS_EVENTS, `operations.>`). */
export const operationsEvents = {
  'operations.task.created': TaskEvent,
  'operations.task.updated': TaskEvent,
  'operations.task.completed': TaskEvent,
  'operations.task.deleted': TaskDeletedEvent,
  'operations.approval.requested': ApprovalEvent,
  'operations.approval.decided': ApprovalEvent,
  'operations.memory.created': MemoryEvent,
  'operations.memory.updated': MemoryEvent,
  'operations.memory.expired': MemoryEvent,
  'operations.saga.started': SagaEvent,
  'operations.saga.compensating': SagaEvent,
  'operations.saga.completed': SagaEvent,
  'operations.saga.compensated': SagaEvent,
  'operations.saga.failed': SagaEvent,
  'operations.saga.step.changed': SagaStepEvent,
  'operations.event.appended': AppendedEvent,
} as const;
