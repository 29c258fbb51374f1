import type { Graph } from '../../src/store/neo4j.js';

/**
 * Deletes, in batches of 5,000, the blocks (with their links) whose sessionId starts with
 * `prefix`, and the workflow runs (steps, changes) whose sessionId does. Tests and the bench put
 * everything they create under such a prefix, so they never touch anyone else's data.
 */
export async function deleteTagged(graph: Graph, prefix: string): Promise<number> {
  if (prefix.length < 6) throw new Error(`refusing to delete by the short prefix ${JSON.stringify(prefix)}`);
  const q = (cypher: string) => graph.driver.executeQuery(cypher, { prefix }, { database: graph.database });
  let deleted = 0;
  for (;;) {
    const res = await q('MATCH (b:Block) WHERE b.sessionId STARTS WITH $prefix WITH b LIMIT 5000 DETACH DELETE b RETURN count(*) AS n');
    const n = res.records[0]?.get('n') as number;
    deleted += n;
    if (n === 0) break;
  }
  await q(`MATCH (r:WorkflowRun) WHERE r.sessionId STARTS WITH $prefix
           OPTIONAL MATCH (s:WorkflowStep {runId: r.id})
           OPTIONAL MATCH (c:StepChange {runId: r.id})
           DETACH DELETE r, s, c`);
  return deleted;
}
