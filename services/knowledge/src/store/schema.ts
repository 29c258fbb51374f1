import type { Graph } from './neo4j.js';

/**
 * Versioned, idempotent schema bootstrap. Each statement uses IF NOT EXISTS, so re-running is
 * harmless; the applied version is recorded on a (:SchemaVersion) node so `schema:status` can
 * compare what exists with what is expected.
 */
export const SCHEMA_VERSION = 1;
export const schemaStatements: ReadonlyArray<{ name: string; cypher: string }> = [
  { name: 'block_id_unique', cypher: 'CREATE CONSTRAINT block_id_unique IF NOT EXISTS FOR (b:Block) REQUIRE b.id IS UNIQUE' },
  { name: 'block_session', cypher: 'CREATE INDEX block_session IF NOT EXISTS FOR (b:Block) ON (b.sessionId)' },
  { name: 'outbox_id_unique', cypher: 'CREATE CONSTRAINT outbox_id_unique IF NOT EXISTS FOR (o:Outbox) REQUIRE o.id IS UNIQUE' },
  { name: 'outbox_created', cypher: 'CREATE INDEX outbox_created IF NOT EXISTS FOR (o:Outbox) ON (o.createdAt)' },
];

export async function bootstrapSchema(g: Graph): Promise<{ version: number }> {
  for (const s of schemaStatements) {
    await g.driver.executeQuery(s.cypher, {}, { database: g.database });
  }
  await g.driver.executeQuery(
    `MERGE (v:SchemaVersion {name: 'knowledge'})
     SET v.version = $version, v.appliedAt = datetime()`,
    { version: SCHEMA_VERSION },
    { database: g.database },
  );
  await g.driver.executeQuery('CALL db.awaitIndexes(60)', {}, { database: g.database });
  return { version: SCHEMA_VERSION };
}
