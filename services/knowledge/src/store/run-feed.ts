import { RunStepChangeKind, RunStepStatus } from '@platform/contracts';
import neo4j from 'neo4j-driver';
import { z } from 'zod';
import { isoOf } from './block-record.js';
import { readGraph, type Graph } from './neo4j.js';

/**
 * The two reads behind runs.onChange (domain/run-feed.ts): how far each watched run has got, and a
 * run's changes after a seq. Neither checks visibility: the subscription checked the run is the
 * caller's before it reads (ownership of a run never changes), like replay's history read.
 */

/** The current `seq` (number of changes) of each of these runs that exists. */
export function runSeqs(g: Graph, runIds: readonly string[]): Promise<Map<string, number>> {
  return readGraph(g, 'runs.seqs', async (tx) => {
    const res = await tx.run('UNWIND $ids AS id MATCH (r:WorkflowRun {id: id}) RETURN r.id AS id, r.seq AS seq', { ids: [...runIds] });
    return new Map(res.records.map((r) => [r.get('id') as string, Number(r.get('seq'))]));
  });
}

/**
 * A change as runs.replay answers it (the StepChange snapshot, `output` parsed). A schema rather
 * than an interface: its inferred type is what the client package's router declarations inline.
 */
const FeedChange = z.object({
  runId: z.string(),
  seq: z.number().int(),
  stepId: z.string(),
  kind: RunStepChangeKind,
  parentId: z.string().nullable(),
  name: z.string(),
  status: RunStepStatus,
  previousStatus: RunStepStatus.nullable(),
  output: z.record(z.string(), z.unknown()).nullable(),
  at: z.string(),
  by: z.string(),
});

/** A run's changes with seq > `after`, in seq order, at most `max`. */
export function changesAfter(g: Graph, runId: string, after: number, max: number) {
  return readGraph(g, 'runs.changes-after', async (tx) => {
    const res = await tx.run(
      `MATCH (c:StepChange) WHERE c.runId = $runId AND c.seq > $after WITH c ORDER BY c.seq LIMIT $max
       RETURN c { .runId, .seq, .stepId, .kind, .parentId, .name, .status, .previousStatus, .output, .by, at: toString(c.at) } AS change`,
      { runId, after: neo4j.int(after), max: neo4j.int(max) },
    );
    return res.records.map((r) => {
      const c = r.get('change') as Record<string, unknown> & { output?: string | null; at: string };
      return FeedChange.parse({
        ...c,
        parentId: c['parentId'] ?? null,
        previousStatus: c['previousStatus'] ?? null,
        output: c.output ? (JSON.parse(c.output) as unknown) : null,
        at: isoOf(c.at),
      });
    });
  });
}
