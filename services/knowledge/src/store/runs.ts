import type { EventSubject, TypedEnvelope, RunStepChangeKind, RunStepStatus } from '@platform/contracts';
import neo4j, { type ManagedTransaction } from 'neo4j-driver';
import { isoOf } from './block-record.js';
import type { RunKind } from '../domain/recorded-runs.js';
import type { Graph } from './neo4j.js';
import { readGraph, writeTx, type Reader } from './neo4j.js';
import { appendOutboxMany } from './outbox.js';
import { ownerProjection, scopeParams, toOwnerView, visible, type Ownership, type OwnerView, type Scope } from './scope.js';

/*
 * A run is (:WorkflowRun) plus a tree of (:WorkflowStep)-[:CHILD_OF]->(:WorkflowStep) whose root is
 * run.rootStepId. Every change to a step is also written as a (:StepChange {runId, seq}) snapshot;
 * run.seq counts them. All writes to a run first take the run node's lock, so seq is gap-free and
 * the tree checks (parent exists, no cycle) see no concurrent change.
 *
 * Ownership lives on the run: its steps and changes are seen exactly when the run is (a step never
 * leaves its run), so every statement below that touches steps first matches a visible run.
 *
 * The labels keep their first names (WorkflowRun, WorkflowStep) although the API says "runs":
 * renaming a label means relabelling every stored node and recreating its constraints and indexes
 * (a data migration), which buys nothing a reader of the API sees.
 */

type Envelope = TypedEnvelope<EventSubject>;
type Json = Record<string, unknown>;

/** Walks never go deeper than this; the tree rules keep real runs far below it. */
export const MAX_TREE_DEPTH = 10_000;

export interface RunRecord extends OwnerView {
  id: string;
  /** 'manual' (runs.create), or what knowledge recorded from the platform's events: 'saga', 'task', 'job'. */
  kind: RunKind;
  name: string;
  sessionId: string | null;
  rootStepId: string;
  seq: number;
  createdAt: string;
  createdBy: string;
}

export interface StepRecord {
  id: string;
  runId: string;
  parentId: string | null;
  name: string;
  status: RunStepStatus;
  input: Json | null;
  output: Json | null;
  /** The run's seq when the step was added: a stable order for siblings. */
  addedSeq: number;
  createdAt: string;
  updatedAt: string;
}

export interface StepChangeRecord {
  runId: string;
  seq: number;
  stepId: string;
  kind: RunStepChangeKind;
  /** Snapshot of the step after the change: replay takes the last snapshot of each step. */
  parentId: string | null;
  name: string;
  status: RunStepStatus;
  previousStatus: RunStepStatus | null;
  output: Json | null;
  at: string;
  by: string;
}

/** What the store writes for a new step; input/output are JSON strings. */
export interface NewStep {
  id: string;
  runId: string;
  parentId: string | null;
  name: string;
  status: RunStepStatus;
  input: string | null;
  output: string | null;
  addedSeq: number;
  now: string;
}

export type NewChange = Omit<StepChangeRecord, 'output'> & { output: string | null };

const parse = (s: string | null | undefined): Json | null => (s ? (JSON.parse(s) as Json) : null);

const RUN = (v: string) =>
  `${v} { .id, kind: coalesce(${v}.kind, 'manual'), .name, .sessionId, .rootStepId, .seq, .createdBy, ${ownerProjection(v)}, createdAt: toString(${v}.createdAt) }`;
const STEP = (v: string) => `${v} { .id, .runId, .name, .status, .input, .output, .addedSeq,
  createdAt: toString(${v}.createdAt), updatedAt: toString(${v}.updatedAt),
  parentId: [(${v})-[:CHILD_OF]->(parent) | parent.id][0] }`;
const CHANGE = (v: string) =>
  `${v} { .runId, .seq, .stepId, .kind, .parentId, .name, .status, .previousStatus, .output, .by, at: toString(${v}.at) }`;

const toRun = (raw: unknown): RunRecord => {
  const { ownerKind, ownerId, teamId, ...r } = raw as Omit<RunRecord, 'owner' | 'teamId'> & {
    ownerKind?: string | null;
    ownerId?: string | null;
    teamId?: string | null;
  };
  return { ...r, sessionId: r.sessionId ?? null, createdAt: isoOf(r.createdAt), ...toOwnerView({ ownerKind, ownerId, teamId }) };
};
const toStep = (raw: unknown): StepRecord => {
  const s = raw as Omit<StepRecord, 'input' | 'output'> & { input?: string | null; output?: string | null };
  return {
    ...s,
    parentId: s.parentId ?? null,
    input: parse(s.input),
    output: parse(s.output),
    createdAt: isoOf(s.createdAt),
    updatedAt: isoOf(s.updatedAt),
  };
};
const toChange = (raw: unknown): StepChangeRecord => {
  const c = raw as Omit<StepChangeRecord, 'output'> & { output?: string | null };
  return { ...c, parentId: c.parentId ?? null, previousStatus: c.previousStatus ?? null, output: parse(c.output), at: isoOf(c.at) };
};

/** Locks a run the scope sees; null (nothing locked) when it is missing or hidden. */
async function lockRun(tx: ManagedTransaction, scope: Scope, runId: string): Promise<RunRecord | null> {
  const res = await tx.run(
    `MATCH (r:WorkflowRun {id: $runId}) WHERE ${visible('r')} SET r._lock = true REMOVE r._lock RETURN ${RUN('r')} AS run`,
    {
      runId,
      ...scopeParams(scope),
    },
  );
  const raw: unknown = res.records[0]?.get('run');
  return raw ? toRun(raw) : null;
}

async function writeSteps(tx: ManagedTransaction, steps: NewStep[]): Promise<void> {
  await tx.run(
    `UNWIND $steps AS s
     CREATE (:WorkflowStep {id: s.id, runId: s.runId, name: s.name, status: s.status, input: s.input, output: s.output,
       addedSeq: toInteger(s.addedSeq), createdAt: datetime(s.now), updatedAt: datetime(s.now)})`,
    { steps },
  );
  // Parents before children is not required here: all nodes of the batch exist by now.
  await tx.run(
    `UNWIND $links AS l
     MATCH (c:WorkflowStep {id: l.id}), (p:WorkflowStep {id: l.parentId})
     CREATE (c)-[:CHILD_OF]->(p)`,
    { links: steps.filter((s) => s.parentId !== null).map((s) => ({ id: s.id, parentId: s.parentId })) },
  );
}

async function writeChanges(tx: ManagedTransaction, runId: string, changes: NewChange[], events: Envelope[]): Promise<void> {
  await tx.run(
    `UNWIND $changes AS c
     CREATE (:StepChange {runId: c.runId, seq: toInteger(c.seq), stepId: c.stepId, kind: c.kind, parentId: c.parentId, name: c.name,
       status: c.status, previousStatus: c.previousStatus, output: c.output, at: datetime(c.at), by: c.by})`,
    { changes },
  );
  await tx.run('MATCH (r:WorkflowRun {id: $runId}) SET r.seq = toInteger($seq)', { runId, seq: Math.max(...changes.map((c) => c.seq)) });
  await appendOutboxMany(tx, events);
}

export function createRunTx(
  g: Graph,
  run: Omit<RunRecord, 'seq' | 'owner' | 'teamId' | 'kind'> & Ownership,
  root: NewStep,
  change: NewChange,
  event: Envelope,
): Promise<{ run: RunRecord; root: StepRecord }> {
  return writeTx(g, 'runs.create', async (tx) => {
    await tx.run(
      `CREATE (:WorkflowRun {id: $id, kind: 'manual', name: $name, sessionId: $sessionId, rootStepId: $rootStepId, seq: 0,
         createdAt: datetime($createdAt), createdBy: $createdBy, ownerKind: $ownerKind, ownerId: $ownerId, teamId: $teamId})`,
      run,
    );
    await writeSteps(tx, [root]);
    await writeChanges(tx, run.id, [change], [event]);
    const res = await tx.run(
      `MATCH (r:WorkflowRun {id: $runId}), (s:WorkflowStep {id: $stepId}) RETURN ${RUN('r')} AS run, ${STEP('s')} AS step`,
      { runId: run.id, stepId: root.id },
    );
    return { run: toRun(res.records[0]!.get('run')), root: toStep(res.records[0]!.get('step')) };
  });
}

/** Existing steps among `ids` in runs the scope sees: the domain checks parents against them. */
async function stepsByIds(tx: Reader, scope: Scope, ids: string[]): Promise<Map<string, StepRecord>> {
  const res = await tx.run(
    `MATCH (s:WorkflowStep) WHERE s.id IN $ids
     MATCH (run:WorkflowRun {id: s.runId}) WHERE ${visible('run')}
     RETURN ${STEP('s')} AS step`,
    { ids, ...scopeParams(scope) },
  );
  return new Map(
    res.records.map((r) => {
      const s = toStep(r.get('step'));
      return [s.id, s];
    }),
  );
}

export interface StepBatchPlan {
  steps: NewStep[];
  changes: NewChange[];
  events: Envelope[];
}

/** Step ids among `ids` taken in any run (a step id is unique in the whole graph). */
async function takenStepIds(tx: Reader, ids: string[]): Promise<Set<string>> {
  const res = await tx.run('MATCH (s:WorkflowStep) WHERE s.id IN $ids RETURN s.id AS id', { ids });
  return new Set(res.records.map((r) => r.get('id') as string));
}

export function addStepsTx(
  g: Graph,
  scope: Scope,
  runId: string,
  referencedIds: string[],
  plan: (run: RunRecord, existing: Map<string, StepRecord>, taken: ReadonlySet<string>) => StepBatchPlan,
): Promise<StepRecord[] | null> {
  return writeTx(g, 'runs.addSteps', async (tx) => {
    const run = await lockRun(tx, scope, runId);
    if (!run) return null;
    const p = plan(run, await stepsByIds(tx, scope, referencedIds), await takenStepIds(tx, referencedIds));
    await writeSteps(tx, p.steps);
    await writeChanges(tx, runId, p.changes, p.events);
    const created = await stepsByIds(
      tx,
      scope,
      p.steps.map((s) => s.id),
    );
    return p.steps.map((s) => created.get(s.id)!);
  });
}

async function runIdOfStep(tx: Reader, stepId: string): Promise<string | null> {
  const res = await tx.run('MATCH (s:WorkflowStep {id: $stepId}) RETURN s.runId AS runId', { stepId });
  return (res.records[0]?.get('runId') as string | undefined) ?? null;
}

export interface StepChangePlan {
  set: { status?: RunStepStatus; output?: string | null };
  change: NewChange;
  event: Envelope;
}

export function updateStepTx(
  g: Graph,
  scope: Scope,
  stepId: string,
  plan: (run: RunRecord, step: StepRecord) => StepChangePlan,
): Promise<StepRecord | null> {
  return writeTx(g, 'runs.updateStep', async (tx) => {
    const runId = await runIdOfStep(tx, stepId);
    const run = runId ? await lockRun(tx, scope, runId) : null;
    if (!run) return null;
    const step = (await stepsByIds(tx, scope, [stepId])).get(stepId)!;
    const p = plan(run, step);
    await tx.run('MATCH (s:WorkflowStep {id: $stepId}) SET s += $set, s.updatedAt = datetime($now)', {
      stepId,
      set: p.set,
      now: p.change.at,
    });
    await writeChanges(tx, run.id, [p.change], [p.event]);
    return (await stepsByIds(tx, scope, [stepId])).get(stepId)!;
  });
}

export interface MoveContext {
  run: RunRecord;
  step: StepRecord;
  newParent: StepRecord | null;
  /** True when the new parent is the step itself or one of its descendants. */
  wouldCycle: boolean;
}

export function moveStepTx(
  g: Graph,
  scope: Scope,
  stepId: string,
  newParentId: string,
  plan: (ctx: MoveContext) => { change: NewChange; event: Envelope },
): Promise<StepRecord | null> {
  return writeTx(g, 'runs.moveStep', async (tx) => {
    const runId = await runIdOfStep(tx, stepId);
    const run = runId ? await lockRun(tx, scope, runId) : null;
    if (!run) return null;
    // A parent in a run the caller does not see is not found, like one that does not exist.
    const found = await stepsByIds(tx, scope, [stepId, newParentId]);
    const cycle = await tx.run(
      `RETURN EXISTS { MATCH (:WorkflowStep {id: $newParentId})-[:CHILD_OF*0..${MAX_TREE_DEPTH}]->(:WorkflowStep {id: $stepId}) } AS cycle`,
      { stepId, newParentId },
    );
    const p = plan({
      run,
      step: found.get(stepId)!,
      newParent: found.get(newParentId) ?? null,
      wouldCycle: cycle.records[0]!.get('cycle') as boolean,
    });
    await tx.run(
      `MATCH (s:WorkflowStep {id: $stepId}), (np:WorkflowStep {id: $newParentId})
       OPTIONAL MATCH (s)-[old:CHILD_OF]->()
       DELETE old
       CREATE (s)-[:CHILD_OF]->(np)
       SET s.updatedAt = datetime($now)`,
      { stepId, newParentId, now: p.change.at },
    );
    await writeChanges(tx, run.id, [p.change], [p.event]);
    return (await stepsByIds(tx, scope, [stepId])).get(stepId)!;
  });
}

/**
 * Cypher for a CALL body over `start` (a step node bound outside): the step and every step below
 * it in its run, depth-first pre-order (siblings in the order they were added), at most $max rows,
 * collected as `rows` of {step, depth}. The sort key of a step is the list of addedSeq values from
 * `start` down to it; lists order element by element with a prefix first, which is pre-order. ORDER
 * BY … LIMIT is a top-k sort, so the database keeps at most $max rows and the driver receives no more.
 */
const preorderBelow = (start: string) => `
  MATCH p = (n:WorkflowStep)-[:CHILD_OF*0..${MAX_TREE_DEPTH}]->(${start})
  WHERE all(x IN nodes(p) WHERE x.runId = ${start}.runId)
  WITH n, length(p) AS depth, [x IN reverse(nodes(p)) | x.addedSeq] AS key
  ORDER BY key LIMIT $max
  RETURN collect({step: ${STEP('n')}, depth: depth}) AS rows`;

const toRows = (raw: unknown): Array<StepRecord & { depth: number }> =>
  (raw as Array<{ step: unknown; depth: unknown }>).map((r) => ({ ...toStep(r.step), depth: Number(r.depth) }));

/**
 * A visible run and at most `max` of its steps from the root in tree order (depth 0 = root); null
 * when the run is missing or hidden. Callers ask for one more than they answer to learn whether
 * the tree was cut.
 */
export function findRunTree(
  g: Graph,
  scope: Scope,
  runId: string,
  max: number,
): Promise<{ run: RunRecord; steps: Array<StepRecord & { depth: number }> } | null> {
  return readGraph(g, 'runs.tree', async (tx) => {
    const res = await tx.run(
      `MATCH (r:WorkflowRun {id: $runId}) WHERE ${visible('r')}
       OPTIONAL MATCH (root:WorkflowStep {id: r.rootStepId})
       CALL (root) {${preorderBelow('root')}
       }
       RETURN ${RUN('r')} AS run, rows`,
      { runId, max: neo4j.int(max), ...scopeParams(scope) },
    );
    const rec = res.records[0];
    if (!rec) return null;
    return { run: toRun(rec.get('run')), steps: toRows(rec.get('rows')) };
  });
}

/** A visible step and at most `max` steps of its subtree in tree order (depth relative to it); null when missing or hidden. */
export function findSubtree(g: Graph, scope: Scope, stepId: string, max: number): Promise<Array<StepRecord & { depth: number }> | null> {
  return readGraph(g, 'runs.subtree', async (tx) => {
    const res = await tx.run(
      `MATCH (s:WorkflowStep {id: $stepId})
       MATCH (run:WorkflowRun {id: s.runId}) WHERE ${visible('run')}
       CALL (s) {${preorderBelow('s')}
       }
       RETURN rows`,
      { stepId, max: neo4j.int(max), ...scopeParams(scope) },
    );
    const rec = res.records[0];
    return rec ? toRows(rec.get('rows')) : null;
  });
}

export function findStep(g: Graph, scope: Scope, stepId: string): Promise<StepRecord | null> {
  return readGraph(g, 'runs.step', async (tx) => (await stepsByIds(tx, scope, [stepId])).get(stepId) ?? null);
}

/** The step, its parent, …, the root, in that order; null when the step does not exist or is hidden. */
export function pathToRoot(g: Graph, scope: Scope, stepId: string): Promise<StepRecord[] | null> {
  return readGraph(g, 'runs.pathToRoot', async (tx) => {
    // Every node of the path must be in the start step's (visible) run; the tree rules keep it so.
    const res = await tx.run(
      `MATCH (s:WorkflowStep {id: $stepId})
       MATCH (run:WorkflowRun {id: s.runId}) WHERE ${visible('run')}
       MATCH p = (s)-[:CHILD_OF*0..${MAX_TREE_DEPTH}]->(root:WorkflowStep)
       WHERE NOT (root)-[:CHILD_OF]->() AND all(n IN nodes(p) WHERE n.runId = run.id)
       RETURN [n IN nodes(p) | ${STEP('n')}] AS steps`,
      { stepId, ...scopeParams(scope) },
    );
    const rec = res.records[0];
    return rec ? (rec.get('steps') as unknown[]).map(toStep) : null;
  });
}

export interface StepAtDepth {
  step: StepRecord;
  depth: number;
}

/**
 * Ancestors (depth 1 = parent) or descendants (depth 1 = children) up to maxDepth, nearest first
 * (then in the order they were added), at most `max` of them. In a tree each node has one path
 * from the start, so the variable-length match enumerates nodes, not path sets. Null when the
 * start step does not exist or is hidden.
 */
export function relatives(
  g: Graph,
  scope: Scope,
  stepId: string,
  direction: 'ancestors' | 'descendants',
  maxDepth: number,
  max: number,
): Promise<StepAtDepth[] | null> {
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_TREE_DEPTH) throw new Error('maxDepth out of range');
  const pattern =
    direction === 'ancestors' ? `(s)-[:CHILD_OF*1..${maxDepth}]->(n:WorkflowStep)` : `(n:WorkflowStep)-[:CHILD_OF*1..${maxDepth}]->(s)`;
  return readGraph(g, `runs.${direction}`, async (tx) => {
    const res = await tx.run(
      `MATCH (s:WorkflowStep {id: $stepId})
       MATCH (run:WorkflowRun {id: s.runId}) WHERE ${visible('run')}
       CALL (s, run) {
         MATCH p = ${pattern} WHERE n.runId = run.id
         WITH n, length(p) AS depth ORDER BY depth, n.addedSeq LIMIT $max
         RETURN collect({step: ${STEP('n')}, depth: depth}) AS rows
       }
       RETURN rows`,
      { stepId, max: neo4j.int(max), ...scopeParams(scope) },
    );
    const rec = res.records[0];
    if (!rec) return null;
    return (rec.get('rows') as Array<{ step: unknown; depth: unknown }>).map((r) => ({ step: toStep(r.step), depth: Number(r.depth) }));
  });
}

/** The ordered history of a run, optionally up to a seq or an instant: its first `max` changes. */
export function listChanges(
  g: Graph,
  runId: string,
  until: { seq?: number | undefined; at?: string | undefined },
  max: number,
): Promise<StepChangeRecord[]> {
  const where = ['c.runId = $runId'];
  if (until.seq !== undefined) where.push('c.seq <= $seq');
  if (until.at !== undefined) where.push('c.at <= datetime($at)');
  return readGraph(g, 'runs.changes', async (tx) => {
    const res = await tx.run(
      `MATCH (c:StepChange) WHERE ${where.join(' AND ')} WITH c ORDER BY c.seq LIMIT $max RETURN ${CHANGE('c')} AS change`,
      {
        runId,
        seq: until.seq ?? null,
        at: until.at ?? null,
        max: neo4j.int(max),
      },
    );
    return res.records.map((r) => toChange(r.get('change')));
  });
}

export function findRun(g: Graph, scope: Scope, runId: string): Promise<RunRecord | null> {
  return readGraph(g, 'runs.run', async (tx) => {
    const res = await tx.run(`MATCH (r:WorkflowRun {id: $runId}) WHERE ${visible('r')} RETURN ${RUN('r')} AS run`, {
      runId,
      ...scopeParams(scope),
    });
    const raw: unknown = res.records[0]?.get('run');
    return raw ? toRun(raw) : null;
  });
}

export interface RunFilter {
  kind?: RunKind | undefined;
  /** The root step's status: a run is as far as its root says. */
  status?: RunStepStatus | undefined;
  name?: string | undefined;
  namePrefix?: string | undefined;
  sessionId?: string | undefined;
  teamId?: string | undefined;
  ownerId?: string | undefined;
  /** Started at or after (inclusive). */
  startedAfter?: string | undefined;
  /** Started before (exclusive). */
  startedBefore?: string | undefined;
  /** Keyset position: the last run of the previous page (runs come newest first). */
  after?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** A run with its status (its root step's). */
export type RunSummary = RunRecord & { status: RunStepStatus };

/**
 * Runs the scope sees that match every given filter, newest first by (createdAt, id), at most
 * `limit` (callers ask one more than they answer to learn whether there is a next page). The
 * visibility predicate comes first, so a filter never reveals anything about another's runs.
 */
export function listRuns(g: Graph, scope: Scope, f: RunFilter): Promise<RunSummary[]> {
  const where: string[] = [visible('r')];
  if (f.kind !== undefined) where.push("coalesce(r.kind, 'manual') = $kind");
  if (f.name !== undefined) where.push('r.name = $name');
  if (f.namePrefix !== undefined) where.push('r.name STARTS WITH $namePrefix');
  if (f.sessionId !== undefined) where.push('r.sessionId = $sessionId');
  if (f.teamId !== undefined) where.push('r.teamId = $teamId');
  if (f.ownerId !== undefined) where.push('r.ownerId = $ownerId');
  if (f.startedAfter !== undefined) where.push('r.createdAt >= datetime($startedAfter)');
  if (f.startedBefore !== undefined) where.push('r.createdAt < datetime($startedBefore)');
  if (f.after) where.push('(r.createdAt < datetime($afterAt) OR (r.createdAt = datetime($afterAt) AND r.id < $afterId))');
  return readGraph(g, 'runs.list', async (tx) => {
    const res = await tx.run(
      `MATCH (r:WorkflowRun)
       WHERE ${where.join(' AND ')}
       MATCH (root:WorkflowStep {id: r.rootStepId})
       WITH r, root WHERE $status IS NULL OR root.status = $status
       WITH r, root ORDER BY r.createdAt DESC, r.id DESC LIMIT $limit
       RETURN ${RUN('r')} AS run, root.status AS status`,
      {
        status: f.status ?? null,
        kind: f.kind ?? null,
        name: f.name ?? null,
        namePrefix: f.namePrefix ?? null,
        sessionId: f.sessionId ?? null,
        teamId: f.teamId ?? null,
        ownerId: f.ownerId ?? null,
        startedAfter: f.startedAfter ?? null,
        startedBefore: f.startedBefore ?? null,
        afterAt: f.after?.createdAt ?? null,
        afterId: f.after?.id ?? null,
        limit: neo4j.int(f.limit),
        ...scopeParams(scope),
      },
    );
    return res.records.map((r) => ({ ...toRun(r.get('run')), status: r.get('status') as RunStepStatus }));
  });
}
