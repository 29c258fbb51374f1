import { graphSettings, loadGraphConfig } from '../config.js';
import { connectGraph } from '../store/neo4j.js';
import { bootstrapSchema, schemaStatus } from '../store/schema.js';
import { formatTable } from './format.js';

/**
 * `schema:status [--apply] [--json]`: lists the constraints and indexes the knowledge service
 * expects next to what the graph has, and the recorded schema version. Exit 0 when everything
 * matches, 1 otherwise. `--apply` runs the (idempotent) bootstrap first.
 */
const args = new Set(process.argv.slice(2));
const config = loadGraphConfig();
const graph = await connectGraph(graphSettings(config));
try {
  const opts = { embeddingDimensions: config.EMBEDDING_DIMENSIONS };
  if (args.has('--apply')) {
    const applied = await bootstrapSchema(graph, opts);
    console.log(
      `applied schema version ${applied.version} (was ${applied.previous})${applied.migrated.length ? `; migrations: ${applied.migrated.join('; ')}` : ''}`,
    );
  }
  const status = await schemaStatus(graph, opts);
  if (args.has('--json')) {
    console.log(JSON.stringify(status, null, 2));
  } else {
    console.log(`schema version: recorded ${status.recordedVersion}, expected ${status.expectedVersion}\n`);
    console.log(
      formatTable(
        ['name', 'kind', 'expected', 'actual', 'status'],
        status.rows.map((r) => [r.name, r.kind, r.expected, r.actual, r.status]),
      ),
    );
    console.log(
      `\n${status.ok ? 'OK: the graph has the expected schema' : 'NOT OK: run `schema:status -- --apply` or start the service to bootstrap'}`,
    );
  }
  process.exitCode = status.ok ? 0 : 1;
} finally {
  await graph.driver.close();
}
