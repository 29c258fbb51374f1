import type { RunStepChangeKind, RunStepStatus } from '@platform/contracts';
import { createEnvelope, type Clock, type IdGenerator, type Logger } from '@platform/kit';
import type { ManagedTransaction } from 'neo4j-driver';
import type { NodeObservation, RecordPlan, RunSpec } from '../domain/recorded-runs.js';
import { treeOrder } from '../domain/run-rules.js';
import { MAX_TREE_DEPTH } from './runs.js';
import { writeTx, type Graph } from './neo4j.js';
import { appendOutbox } from './outbox.js';

/*
 * Writes what the platform's events say about runs (src/domain/recorded-runs.ts) into the same
 * (:WorkflowRun)/(:WorkflowStep)/(:StepChange) model the runs API writes, so every read, replay and
 * ownership rule of runs applies to them unchanged. One event is one transaction: the nodes it
 * names (parents first), the changes they went through (each with the run's next seq) and the
 * matching knowledge.run.step.changed events in the outbox.
 *
 * Extra properties: a run's `kind` ('saga' | 'task' | 'job'), `sourceId` and `srcOrder`; a step's
 * `srcOrder` (the order of the last observation it took) and `placeholder` (named by another
 * event, not yet by its own).
 */

export interface RecordDeps {
  graph: Graph;
  clock: Clock;
  newId: IdGenerator;
  log: Logger;
}

interface Existing {
  id: string;
  runId: string;
  parentId: string | null;
  name: string;
  status: RunStepStatus;
  input: string | null;
  output: string | null;
  srcOrder: number;
  placeholder: boolean;
}

interface Snapshot {
  id: string;
  parentId: string | null;
  name: string;
  status: RunStepStatus;
  output: string | null;
}

const json = (v: Record<string, unknown> | null) => (v === null ? null : JSON.stringify(v));

/** A step as moved between runs: read with STEP_ROW (the step node bound to `s`), parsed by stepRow. */
interface StepRow {
  id: string;
  name: string;
  status: RunStepStatus;
  output: string | null;
  addedSeq: number;
  parentId: string | null;
}
const STEP_ROW = 's { .id, .name, .status, .output, addedSeq: toInteger(s.addedSeq), parentId: [(s)-[:CHILD_OF]->(q) | q.id][0] }';
function stepRow(r: { get(key: 'step'): unknown }): StepRow {
  const s = r.get('step') as Omit<StepRow, 'addedSeq' | 'parentId'> & { addedSeq: unknown; parentId?: string | null };
  return { ...s, addedSeq: Number(s.addedSeq), parentId: s.parentId ?? null };
}

/**
 * A step as it is now, write-locked for the rest of the transaction: another replica recording an
 * event about the same step waits, then reads what this one wrote (so an older observation can
 * never win on a stale read).
 */
async function findStep(tx: ManagedTransaction, id: string): Promise<Existing | null> {
  const res = await tx.run(
    `MATCH (s:WorkflowStep {id: $id}) SET s._lock = true REMOVE s._lock
     RETURN s { .id, .runId, .name, .status, .input, .output, srcOrder: coalesce(s.srcOrder, -1), placeholder: coalesce(s.placeholder, false),
       parentId: [(s)-[:CHILD_OF]->(p) | p.id][0] } AS step`,
    { id },
  );
  const raw = res.records[0]?.get('step') as (Omit<Existing, 'srcOrder'> & { srcOrder: unknown; parentId?: string | null }) | undefined;
  return raw ? { ...raw, parentId: raw.parentId ?? null, srcOrder: Number(raw.srcOrder) } : null;
}

/** The per-event writer: it holds the transaction, the clock reading and who the changes are by. */
class Recorder {
  changes = 0;

  constructor(
    private readonly tx: ManagedTransaction,
    private readonly deps: RecordDeps,
    private readonly by: string,
    private readonly now: string,
  ) {}

  /** Appends a change at the run's next seq (the SET takes the run's write lock) and its event. */
  async change(runId: string, kind: RunStepChangeKind, step: Snapshot, previousStatus: RunStepStatus | null): Promise<number> {
    const res = await this.tx.run(
      `MATCH (r:WorkflowRun {id: $runId}) SET r.seq = r.seq + 1
       CREATE (:StepChange {runId: r.id, seq: r.seq, stepId: $stepId, kind: $kind, parentId: $parentId, name: $name, status: $status,
         previousStatus: $previousStatus, output: $output, at: datetime($now), by: $by})
       RETURN r.seq AS seq`,
      {
        runId,
        stepId: step.id,
        kind,
        parentId: step.parentId,
        name: step.name,
        status: step.status,
        previousStatus,
        output: step.output,
        now: this.now,
        by: this.by,
      },
    );
    const seq = Number(res.records[0]!.get('seq'));
    await appendOutbox(
      this.tx,
      createEnvelope(
        'knowledge',
        'knowledge.run.step.changed',
        { runId, stepId: step.id, seq, change: kind, parentId: step.parentId, status: step.status, previousStatus, by: this.by },
        this.deps,
      ),
    );
    this.changes++;
    return seq;
  }

  async createRun(run: RunSpec, node: NodeObservation): Promise<void> {
    await this.tx.run(
      `CREATE (:WorkflowRun {id: $id, name: $name, sessionId: null, rootStepId: $rootStepId, seq: 0, createdAt: datetime($at), createdBy: $by,
         ownerKind: $ownerKind, ownerId: $ownerId, teamId: $teamId, kind: $kind, sourceId: $sourceId, srcOrder: $srcOrder})`,
      {
        id: run.id,
        name: run.name,
        rootStepId: node.stepId,
        at: run.at,
        by: this.by,
        ...run.owner,
        kind: run.kind,
        sourceId: run.sourceId,
        srcOrder: node.ownsRun ? node.order : -1,
      },
    );
    await this.createStep(run.id, null, node);
  }

  async createStep(runId: string, parentId: string | null, node: NodeObservation): Promise<void> {
    const snap: Snapshot = { id: node.stepId, parentId, name: node.name, status: node.status, output: json(node.output) };
    const seq = await this.change(runId, 'added', snap, null);
    await this.tx.run(
      `CREATE (s:WorkflowStep {id: $id, runId: $runId, name: $name, status: $status, input: $input, output: $output, addedSeq: toInteger($seq),
         createdAt: datetime($now), updatedAt: datetime($now), srcOrder: $srcOrder, placeholder: $placeholder})
       WITH s OPTIONAL MATCH (p:WorkflowStep {id: $parentId})
       FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (s)-[:CHILD_OF]->(p))`,
      {
        id: node.stepId,
        runId,
        name: node.name,
        status: node.status,
        input: json(node.input),
        output: snap.output,
        seq,
        now: this.now,
        srcOrder: node.placeholder ? -1 : node.order,
        placeholder: node.placeholder,
        parentId,
      },
    );
  }

  /** Moves a step under a parent of the same run; refused (false) when the parent lies below it. */
  async move(step: Existing, parent: Existing): Promise<boolean> {
    const cycle = await this.tx.run(
      `RETURN EXISTS { MATCH (:WorkflowStep {id: $parentId})-[:CHILD_OF*0..${MAX_TREE_DEPTH}]->(:WorkflowStep {id: $stepId}) } AS cycle`,
      { stepId: step.id, parentId: parent.id },
    );
    if (cycle.records[0]!.get('cycle') as boolean) return false;
    await this.tx.run(
      `MATCH (s:WorkflowStep {id: $stepId}), (p:WorkflowStep {id: $parentId})
       OPTIONAL MATCH (s)-[old:CHILD_OF]->() DELETE old
       CREATE (s)-[:CHILD_OF]->(p) SET s.updatedAt = datetime($now)`,
      { stepId: step.id, parentId: parent.id, now: this.now },
    );
    await this.change(
      step.runId,
      'moved',
      { id: step.id, parentId: parent.id, name: step.name, status: step.status, output: step.output },
      step.status,
    );
    return true;
  }

  /**
   * A step that rooted a run of its own (it was named before its parent was known) joins its
   * parent's run with everything below it: each step is `added` to the parent's run in tree order
   * (so its replay shows them from then on) and the emptied run is removed with its history.
   */
  async adopt(root: Existing, parent: Existing): Promise<void> {
    const res = await this.tx.run(`MATCH (s:WorkflowStep {runId: $from}) RETURN ${STEP_ROW} AS step`, { from: root.runId });
    const steps = res.records.map(stepRow);
    await this.tx.run(
      `MATCH (s:WorkflowStep {runId: $from}) SET s.runId = $to
       WITH count(s) AS moved
       MATCH (c:WorkflowStep {id: $rootId}), (p:WorkflowStep {id: $parentId}) CREATE (c)-[:CHILD_OF]->(p) SET c.updatedAt = datetime($now)`,
      { from: root.runId, to: parent.runId, rootId: root.id, parentId: parent.id, now: this.now },
    );
    for (const s of treeOrder(steps, root.id)) {
      const seq = await this.change(
        parent.runId,
        'added',
        { id: s.id, parentId: s.id === root.id ? parent.id : s.parentId, name: s.name, status: s.status, output: s.output },
        null,
      );
      await this.tx.run('MATCH (s:WorkflowStep {id: $id}) SET s.addedSeq = toInteger($seq)', { id: s.id, seq });
    }
    // `seq IS NOT NULL` lets the planner use the (runId, seq) unique index; on runId alone it scans every StepChange.
    await this.tx.run('MATCH (c:StepChange {runId: $from}) WHERE c.seq IS NOT NULL DELETE c', { from: root.runId });
    await this.tx.run('MATCH (r:WorkflowRun {id: $from}) DETACH DELETE r', { from: root.runId });
  }

  /** The step and every step below it in its run, in tree order. */
  private async subtreeOf(step: Existing): Promise<StepRow[]> {
    const res = await this.tx.run(
      `MATCH (top:WorkflowStep {id: $id})
       MATCH p = (s:WorkflowStep)-[:CHILD_OF*0..${MAX_TREE_DEPTH}]->(top) WHERE all(x IN nodes(p) WHERE x.runId = top.runId)
       RETURN ${STEP_ROW} AS step`,
      { id: step.id },
    );
    const rows = res.records.map(stepRow);
    // treeOrder starts at a root: the moving step is one for this walk.
    return treeOrder(
      rows.map((s) => (s.id === step.id ? { ...s, parentId: null } : s)),
      step.id,
    ).map((s) => (s.id === step.id ? { ...s, parentId: step.parentId } : s));
  }

  /**
   * A recorded task moved to another tree, or to the top level, after it was recorded: it leaves its
   * run with everything below it (a `removed` change each, so the old run's replay shows them gone
   * from then on) and joins the parent's run, or roots a run of its own (an `added` change each).
   */
  async transplant(step: Existing, parent: Existing | null, ownRun: RunSpec | null): Promise<void> {
    const moving = await this.subtreeOf(step);
    for (const s of [...moving].reverse()) {
      await this.change(
        step.runId,
        'removed',
        { id: s.id, parentId: s.parentId, name: s.name, status: s.status, output: s.output },
        s.status,
      );
    }
    let to: string;
    if (parent) {
      to = parent.runId;
    } else {
      if (!ownRun) throw new Error(`step ${step.id} cannot root a run: its event names none`);
      to = ownRun.id;
      await this.tx.run(
        `CREATE (:WorkflowRun {id: $id, name: $name, sessionId: null, rootStepId: $rootStepId, seq: 0, createdAt: datetime($at), createdBy: $by,
           ownerKind: $ownerKind, ownerId: $ownerId, teamId: $teamId, kind: $kind, sourceId: $sourceId, srcOrder: -1})`,
        {
          id: ownRun.id,
          name: ownRun.name,
          rootStepId: step.id,
          at: ownRun.at,
          by: this.by,
          ...ownRun.owner,
          kind: ownRun.kind,
          sourceId: ownRun.sourceId,
        },
      );
    }
    await this.tx.run(
      `UNWIND $ids AS id MATCH (s:WorkflowStep {id: id}) SET s.runId = $to
       WITH count(*) AS moved
       MATCH (top:WorkflowStep {id: $id}) OPTIONAL MATCH (top)-[old:CHILD_OF]->() DELETE old
       WITH top SET top.updatedAt = datetime($now)
       WITH top OPTIONAL MATCH (p:WorkflowStep {id: $parentId})
       FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (top)-[:CHILD_OF]->(p))`,
      { ids: moving.map((s) => s.id), to, id: step.id, parentId: parent?.id ?? null, now: this.now },
    );
    for (const s of moving) {
      const seq = await this.change(
        to,
        'added',
        { id: s.id, parentId: s.id === step.id ? (parent?.id ?? null) : s.parentId, name: s.name, status: s.status, output: s.output },
        null,
      );
      await this.tx.run('MATCH (s:WorkflowStep {id: $id}) SET s.addedSeq = toInteger($seq)', { id: s.id, seq });
    }
  }

  /** Takes a newer observation's fields (name, status, input, output); an older or equal one changes nothing. */
  async observe(step: Existing, node: NodeObservation): Promise<void> {
    if (node.placeholder || node.order <= step.srcOrder) return;
    const output = json(node.output);
    const input = json(node.input);
    await this.tx.run(
      `MATCH (s:WorkflowStep {id: $id}) SET s.name = $name, s.status = $status, s.input = $input, s.output = $output, s.srcOrder = $order,
         s.placeholder = false, s.updatedAt = datetime($now)`,
      { id: step.id, name: node.name, status: node.status, input, output, order: node.order, now: this.now },
    );
    if (step.name !== node.name || step.status !== node.status || step.output !== output) {
      const kind: RunStepChangeKind = step.status !== node.status ? 'status' : 'output';
      await this.change(
        step.runId,
        kind,
        { id: step.id, parentId: step.parentId, name: node.name, status: node.status, output },
        step.status,
      );
    }
    if (node.ownsRun && node.run && step.parentId === null) {
      // The run follows its root's own event: its name and owner (a placeholder's were a guess).
      await this.tx.run(
        `MATCH (r:WorkflowRun {id: $runId}) WHERE coalesce(r.srcOrder, -1) < $order
         SET r.name = $name, r.ownerKind = $ownerKind, r.ownerId = $ownerId, r.teamId = $teamId, r.srcOrder = $order`,
        { runId: step.runId, name: node.run.name, ...node.run.owner, order: node.order },
      );
    }
  }
}

/**
 * Applies one event's plan in one transaction. Returns how many changes it recorded (0 for a
 * redelivered or outdated event).
 */
export function recordPlan(deps: RecordDeps, plan: RecordPlan): Promise<number> {
  return writeTx(deps.graph, 'runs.record', async (tx) => {
    const r = new Recorder(tx, deps, plan.by, deps.clock().toISOString());
    for (const node of plan.nodes) {
      let step = await findStep(tx, node.stepId);
      const parent = node.parentStepId === null ? null : await findStep(tx, node.parentStepId);
      if (node.parentStepId !== null && !parent)
        throw new Error(`parent step ${node.parentStepId} of ${node.stepId} was not written first`);
      if (!step) {
        if (parent) await r.createStep(parent.runId, parent.id, node);
        else if (node.run) await r.createRun(node.run, node);
        else throw new Error(`step ${node.stepId} has neither a parent nor a run`);
        continue;
      }
      // A placeholder only makes sure the node exists; an older (or the same) observation changes nothing, its place included.
      if (node.placeholder || node.order <= step.srcOrder) continue;
      if (parent && step.parentId !== parent.id) {
        if (step.runId === parent.runId) {
          if (!(await r.move(step, parent)))
            deps.log.warn({ stepId: step.id, parentId: parent.id }, 'recorded step not moved: its new parent lies below it');
        } else if (step.parentId === null) {
          await r.adopt(step, parent);
        } else {
          await r.transplant(step, parent, null);
        }
        step = (await findStep(tx, node.stepId))!;
      } else if (!parent && step.parentId !== null) {
        await r.transplant(step, null, node.run);
        step = (await findStep(tx, node.stepId))!;
      }
      await r.observe(step, node);
    }
    return r.changes;
  });
}
