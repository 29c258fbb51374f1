import type { Principal, RunStepChangeKind, RunStepStatus } from '@platform/contracts';
import { badRequest, conflict, createEnvelope, notFound } from '@platform/kit';
import {
  addStepsTx,
  createRunTx,
  findRun,
  findRunTree,
  findSubtree,
  listChanges,
  listRuns as listRunRows,
  MAX_TREE_DEPTH,
  moveStepTx,
  pathToRoot,
  relatives,
  updateStepTx,
  type NewChange,
  type NewStep,
  type RunFilter,
  type RunRecord,
  type RunSummary,
  type StepAtDepth,
  type StepChangeRecord,
  type StepRecord,
} from '../store/runs.js';
import { ownershipFor, scopeOf } from './access.js';
import type { BlockDeps } from './blocks.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { assertTransition, orderStepBatch, replaySteps, type ReplayedStep } from './run-rules.js';

type Json = Record<string, unknown>;
const json = (v: Json | null | undefined) => (v === undefined || v === null ? null : JSON.stringify(v));

function change(
  deps: BlockDeps,
  principal: Principal,
  c: {
    runId: string;
    seq: number;
    kind: RunStepChangeKind;
    step: { id: string; parentId: string | null; name: string; status: RunStepStatus; output: string | null };
    previousStatus: RunStepStatus | null;
    at: string;
  },
) {
  const record: NewChange = {
    runId: c.runId,
    seq: c.seq,
    stepId: c.step.id,
    kind: c.kind,
    parentId: c.step.parentId,
    name: c.step.name,
    status: c.step.status,
    previousStatus: c.previousStatus,
    output: c.step.output,
    at: c.at,
    by: principal.id,
  };
  const event = createEnvelope(
    'knowledge',
    'knowledge.run.step.changed',
    {
      runId: c.runId,
      stepId: c.step.id,
      seq: c.seq,
      change: c.kind,
      parentId: c.step.parentId,
      status: c.step.status,
      previousStatus: c.previousStatus,
      by: principal.id,
    },
    deps,
  );
  return { record, event };
}

export interface CreateRunInput {
  name: string;
  sessionId?: string | undefined;
  root: { name?: string | undefined; input?: Json | undefined };
  /** Shares the run (its steps and history) with this team; the caller must be a member. */
  teamId?: string | undefined;
}

/** A recorded run (a saga's, task's or job's) changes only through its source's events, never through the API. */
function assertManual(run: RunRecord): void {
  if (run.kind !== 'manual')
    throw badRequest(`run ${run.id} is recorded from the platform's ${run.kind} events and cannot be changed through the API`, {
      runId: run.id,
      kind: run.kind,
    });
}

/** A run starts with its root step (change seq 1); every other step hangs below it. */
export async function createRun(
  deps: BlockDeps,
  principal: Principal,
  input: CreateRunInput,
): Promise<{ run: RunRecord; root: StepRecord }> {
  const owner = ownershipFor(principal, await scopeOf(deps.teams, principal), input.teamId);
  const now = deps.clock().toISOString();
  const runId = deps.newId();
  const root: NewStep = {
    id: deps.newId(),
    runId,
    parentId: null,
    name: input.root.name ?? input.name,
    status: 'pending',
    input: json(input.root.input),
    output: null,
    addedSeq: 1,
    now,
  };
  const c = change(deps, principal, { runId, seq: 1, kind: 'added', step: root, previousStatus: null, at: now });
  return createRunTx(
    deps.graph,
    {
      id: runId,
      name: input.name,
      sessionId: input.sessionId ?? null,
      rootStepId: root.id,
      createdAt: now,
      createdBy: principal.id,
      ...owner,
    },
    root,
    c.record,
    c.event,
  );
}

export interface AddStepInput {
  id?: string | undefined;
  parentId: string;
  name: string;
  status?: RunStepStatus | undefined;
  input?: Json | undefined;
}

/** Adds a batch of steps (a whole subtree if ids are given) in one transaction, parents first. */
export async function addSteps(
  deps: BlockDeps,
  principal: Principal,
  input: { runId: string; steps: AddStepInput[] },
): Promise<StepRecord[]> {
  const now = deps.clock().toISOString();
  const batch = input.steps.map((s) => ({ ...s, id: s.id ?? deps.newId() }));
  const referenced = [...new Set(batch.flatMap((s) => [s.id, s.parentId]))];
  const steps = await addStepsTx(deps.graph, await scopeOf(deps.teams, principal), input.runId, referenced, (run, existing, taken) => {
    assertManual(run);
    // Step ids are unique in the whole graph: one taken in a run the caller cannot see is still
    // taken (a random UUID only its owner knows; the answer names no run).
    for (const s of batch) if (taken.has(s.id) && !existing.has(s.id)) throw conflict(`step ${s.id} already exists`, { stepId: s.id });
    const ordered = orderStepBatch(run.id, batch, existing);
    const newSteps: NewStep[] = ordered.map((s, i) => ({
      id: s.id,
      runId: run.id,
      parentId: s.parentId,
      name: s.name,
      status: s.status ?? 'pending',
      input: json(s.input),
      output: null,
      addedSeq: run.seq + i + 1,
      now,
    }));
    const changes = newSteps.map((s) =>
      change(deps, principal, { runId: run.id, seq: s.addedSeq, kind: 'added', step: s, previousStatus: null, at: now }),
    );
    return { steps: newSteps, changes: changes.map((c) => c.record), events: changes.map((c) => c.event) };
  });
  if (!steps) throw notFound('run', input.runId);
  return steps;
}

export async function updateStep(
  deps: BlockDeps,
  principal: Principal,
  input: { stepId: string; status?: RunStepStatus | undefined; output?: Json | null | undefined },
): Promise<StepRecord> {
  const now = deps.clock().toISOString();
  const updated = await updateStepTx(deps.graph, await scopeOf(deps.teams, principal), input.stepId, (run, step) => {
    assertManual(run);
    const status = input.status ?? step.status;
    assertTransition(step.id, step.status, status);
    const output = input.output === undefined ? json(step.output) : json(input.output);
    const kind: RunStepChangeKind = status !== step.status ? 'status' : 'output';
    const c = change(deps, principal, {
      runId: run.id,
      seq: run.seq + 1,
      kind,
      step: { id: step.id, parentId: step.parentId, name: step.name, status, output },
      previousStatus: step.status,
      at: now,
    });
    return { set: { status, ...(input.output !== undefined ? { output } : {}) }, change: c.record, event: c.event };
  });
  if (!updated) throw notFound('step', input.stepId);
  return updated;
}

/** Re-parents a step inside its run; refuses anything that would turn the tree into a cycle. */
export async function moveStep(deps: BlockDeps, principal: Principal, input: { stepId: string; parentId: string }): Promise<StepRecord> {
  const now = deps.clock().toISOString();
  const moved = await moveStepTx(
    deps.graph,
    await scopeOf(deps.teams, principal),
    input.stepId,
    input.parentId,
    ({ run, step, newParent, wouldCycle }) => {
      assertManual(run);
      if (!newParent) throw notFound('step', input.parentId);
      if (newParent.runId !== run.id) throw badRequest(`parent ${newParent.id} belongs to another run`, { parentId: newParent.id });
      if (wouldCycle)
        throw badRequest(`moving step ${step.id} under ${newParent.id} would create a cycle`, { stepId: step.id, parentId: newParent.id });
      if (step.parentId === null) throw badRequest('the root step of a run cannot be moved', { stepId: step.id });
      const c = change(deps, principal, {
        runId: run.id,
        seq: run.seq + 1,
        kind: 'moved',
        step: { id: step.id, parentId: newParent.id, name: step.name, status: step.status, output: json(step.output) },
        previousStatus: step.status,
        at: now,
      });
      return { change: c.record, event: c.event };
    },
  );
  if (!moved) throw notFound('step', input.stepId);
  return moved;
}

/**
 * Tree reads answer at most a limit of steps (TREE_LIMIT: default 1,000, max 5,000). The store is
 * asked for one more than the limit and never returns more, so `truncated` is known without
 * counting the whole tree; the answer is the first `limit` steps in the read's order.
 */
export const TREE_LIMIT = { default: 1_000, max: 5_000 } as const;

function cut<T>(rows: T[], limit: number): { items: T[]; truncated: boolean } {
  return { items: rows.slice(0, limit), truncated: rows.length > limit };
}

export async function runTree(
  deps: BlockDeps,
  principal: Principal,
  input: { runId: string; limit: number },
): Promise<{ run: RunRecord; steps: Array<StepRecord & { depth: number }>; truncated: boolean }> {
  const found = await findRunTree(deps.graph, await scopeOf(deps.teams, principal), input.runId, input.limit + 1);
  if (!found) throw notFound('run', input.runId);
  const { items, truncated } = cut(found.steps, input.limit);
  return { run: found.run, steps: items, truncated };
}

export async function stepPathToRoot(deps: BlockDeps, principal: Principal, stepId: string): Promise<StepRecord[]> {
  const path = await pathToRoot(deps.graph, await scopeOf(deps.teams, principal), stepId);
  if (!path) throw notFound('step', stepId);
  return path;
}

export async function stepRelatives(
  deps: BlockDeps,
  principal: Principal,
  input: { stepId: string; direction: 'ancestors' | 'descendants'; maxDepth?: number | undefined; limit: number },
): Promise<{ items: StepAtDepth[]; truncated: boolean }> {
  const rows = await relatives(
    deps.graph,
    await scopeOf(deps.teams, principal),
    input.stepId,
    input.direction,
    input.maxDepth ?? MAX_TREE_DEPTH,
    input.limit + 1,
  );
  if (!rows) throw notFound('step', input.stepId);
  return cut(rows, input.limit);
}

/** The step and everything below it, in tree order, depth relative to the step (at most `limit` steps). */
export async function subtree(
  deps: BlockDeps,
  principal: Principal,
  input: { stepId: string; limit: number },
): Promise<{ steps: Array<StepRecord & { depth: number }>; truncated: boolean }> {
  const rows = await findSubtree(deps.graph, await scopeOf(deps.teams, principal), input.stepId, input.limit + 1);
  if (!rows) throw notFound('step', input.stepId);
  const { items, truncated } = cut(rows, input.limit);
  return { steps: items, truncated };
}

export interface Replay {
  run: RunRecord;
  changes: StepChangeRecord[];
  steps: ReplayedStep[];
  truncated: boolean;
}

/**
 * The run's ordered change history up to a seq or an instant, and the tree it adds up to. At most
 * `limit` changes are read: when the history (up to the asked point) is longer, the answer is its
 * first `limit` changes and the run as it was after the last of them, with `truncated` true, so
 * the steps are always a state the run really had (`tree` shows the present state of a long run).
 * A run never has more steps than changes, so the steps are capped by the same limit.
 */
export async function replayRun(
  deps: BlockDeps,
  principal: Principal,
  input: { runId: string; untilSeq?: number | undefined; at?: string | undefined; limit: number },
): Promise<Replay> {
  // The history is read only once the run is known to be visible (ownership never changes).
  const run = await findRun(deps.graph, await scopeOf(deps.teams, principal), input.runId);
  if (!run) throw notFound('run', input.runId);
  const { items: changes, truncated } = cut(
    await listChanges(deps.graph, run.id, { seq: input.untilSeq, at: input.at }, input.limit + 1),
    input.limit,
  );
  return { run, changes, steps: replaySteps(changes, run.rootStepId), truncated };
}

/**
 * Runs the caller sees, filtered, newest first, a page at a time: the cursor is the last run's
 * (createdAt, id), in the same opaque form as blocks.list's (a foreign one is BAD_REQUEST).
 */
export async function listRunPage(
  deps: BlockDeps,
  principal: Principal,
  input: Omit<RunFilter, 'after' | 'limit'> & { cursor?: string | undefined; limit: number },
): Promise<{ items: RunSummary[]; nextCursor: string | null }> {
  const { cursor, limit, ...filter } = input;
  const after = cursor ? decodeCursor(cursor) : undefined;
  const rows = await listRunRows(deps.graph, await scopeOf(deps.teams, principal), { ...filter, after, limit: limit + 1 });
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
