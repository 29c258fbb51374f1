import type { RunStepStatus } from '@platform/contracts';
import { badRequest, conflict, notFound } from '@platform/kit';
import type { StepChangeRecord, StepRecord } from '../store/runs.js';

/** Pure rules of run trees: batch ordering and cycle refusal, status transitions, replay. */

const TRANSITIONS: Record<RunStepStatus, readonly RunStepStatus[]> = {
  pending: ['running', 'succeeded', 'failed', 'skipped', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled'],
  // A failed step may be retried.
  failed: ['running', 'cancelled'],
  succeeded: [],
  skipped: [],
  cancelled: [],
};

export function assertTransition(stepId: string, from: RunStepStatus, to: RunStepStatus): void {
  if (from !== to && !TRANSITIONS[from].includes(to)) {
    throw conflict(`step ${stepId} cannot go from ${from} to ${to}`, { from, to, allowed: TRANSITIONS[from] });
  }
}

export interface BatchStep {
  id: string;
  parentId: string;
}

/**
 * Orders a batch so every parent comes before its children, and refuses what would not be a tree:
 * a duplicate or already-used id, a parent that exists nowhere, a parent in another run, or
 * parent references inside the batch that loop (A under B under A) and so never reach the run.
 */
export function orderStepBatch<T extends BatchStep>(
  runId: string,
  batch: T[],
  existing: ReadonlyMap<string, Pick<StepRecord, 'id' | 'runId'>>,
): T[] {
  const byId = new Map<string, T>();
  for (const s of batch) {
    if (byId.has(s.id)) throw badRequest(`step id ${s.id} appears twice in the batch`, { stepId: s.id });
    if (existing.has(s.id)) throw conflict(`step ${s.id} already exists`, { stepId: s.id });
    byId.set(s.id, s);
  }
  for (const s of batch) {
    if (s.parentId === s.id) throw badRequest(`step ${s.id} cannot be its own parent (cycle)`, { stepId: s.id });
    const parent = existing.get(s.parentId);
    if (parent && parent.runId !== runId)
      throw badRequest(`parent ${s.parentId} belongs to another run`, { parentId: s.parentId, runId: parent.runId });
    if (!parent && !byId.has(s.parentId)) throw notFound('step', s.parentId);
  }
  const ordered: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: T) => {
    if (state.get(s.id) === 'done') return;
    if (state.get(s.id) === 'visiting') throw badRequest(`steps ${s.id} and its batch parents form a cycle`, { stepId: s.id });
    state.set(s.id, 'visiting');
    const parentInBatch = byId.get(s.parentId);
    if (parentInBatch) visit(parentInBatch);
    state.set(s.id, 'done');
    ordered.push(s);
  };
  for (const s of batch) visit(s);
  return ordered;
}

export interface TreeStep extends StepRecord {
  depth: number;
}

/** Depth-first pre-order from the root (siblings in the order they were added), with depths. */
export function treeOrder<S extends { id: string; parentId: string | null; addedSeq: number }>(
  steps: S[],
  rootId: string,
): Array<S & { depth: number }> {
  const children = new Map<string | null, S[]>();
  for (const s of steps) children.set(s.parentId, [...(children.get(s.parentId) ?? []), s]);
  for (const list of children.values()) list.sort((a, b) => a.addedSeq - b.addedSeq);
  const out: Array<S & { depth: number }> = [];
  const root = steps.find((s) => s.id === rootId);
  if (!root) return out;
  const stack: Array<{ s: S; depth: number }> = [{ s: root, depth: 0 }];
  while (stack.length) {
    const { s, depth } = stack.pop()!;
    out.push({ ...s, depth });
    const kids = children.get(s.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ s: kids[i]!, depth: depth + 1 });
  }
  return out;
}

export interface ReplayedStep {
  id: string;
  parentId: string | null;
  name: string;
  status: RunStepStatus;
  output: Record<string, unknown> | null;
  addedSeq: number;
  lastSeq: number;
  depth: number;
}

/**
 * Rebuilds the run as it was after the given changes (already cut at the wanted seq or instant):
 * each change holds the step's state after it, so the last change of each step is its state.
 */
export function replaySteps(changes: StepChangeRecord[], rootId: string): ReplayedStep[] {
  const steps = new Map<string, Omit<ReplayedStep, 'depth'>>();
  for (const c of [...changes].sort((a, b) => a.seq - b.seq)) {
    if (c.kind === 'removed') {
      steps.delete(c.stepId);
      continue;
    }
    const prev = steps.get(c.stepId);
    steps.set(c.stepId, {
      id: c.stepId,
      parentId: c.parentId,
      name: c.name,
      status: c.status,
      output: c.output,
      addedSeq: prev?.addedSeq ?? c.seq,
      lastSeq: c.seq,
    });
  }
  return treeOrder([...steps.values()], rootId);
}
