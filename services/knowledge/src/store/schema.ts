import { Neo4jError } from 'neo4j-driver';
import { StartRefused } from '@platform/kit';
import type { Graph } from './neo4j.js';

/**
 * Versioned, idempotent schema bootstrap. Every object is created with IF NOT EXISTS, so running
 * it again (or from two processes at once) is harmless; data migrations run once, when the
 * version recorded on the (:SchemaVersion {name: 'knowledge'}) node is below theirs.
 * `schemaStatus` compares what exists with what this code expects (the `schema:status` command).
 */
export const SCHEMA_VERSION = 3;

export type SchemaKind = 'UNIQUENESS' | 'RANGE' | 'FULLTEXT' | 'VECTOR' | 'LOOKUP';

export interface SchemaObject {
  name: string;
  kind: SchemaKind;
  label: string | null;
  properties: string[];
  /** Only for VECTOR indexes: the configured dimension. */
  dimensions?: number;
  cypher: string;
}

export interface SchemaOptions {
  embeddingDimensions: number;
}

/** The labels this service owns: status reports unexpected indexes on these only. */
export const OWNED_LABELS = ['Block', 'WorkflowRun', 'WorkflowStep', 'StepChange', 'Outbox', 'SchemaVersion'];

const unique = (name: string, label: string, props: string[]): SchemaObject => ({
  name,
  kind: 'UNIQUENESS',
  label,
  properties: props,
  cypher: `CREATE CONSTRAINT ${name} IF NOT EXISTS FOR (n:${label}) REQUIRE (${props.map((p) => `n.${p}`).join(', ')}) IS UNIQUE`,
});
const range = (name: string, label: string, props: string[]): SchemaObject => ({
  name,
  kind: 'RANGE',
  label,
  properties: props,
  cypher: `CREATE INDEX ${name} IF NOT EXISTS FOR (n:${label}) ON (${props.map((p) => `n.${p}`).join(', ')})`,
});

export function expectedSchema(opts: SchemaOptions): SchemaObject[] {
  if (!Number.isInteger(opts.embeddingDimensions) || opts.embeddingDimensions < 1)
    throw new Error('embeddingDimensions must be a positive integer');
  return [
    unique('block_id_unique', 'Block', ['id']),
    range('block_session', 'Block', ['sessionId']),
    range('block_status', 'Block', ['status']),
    range('block_idea', 'Block', ['ideaId']),
    // list() pages by (createdAt, id); the index lets Neo4j read in that order.
    range('block_created', 'Block', ['createdAt']),
    range('block_legacy_id', 'Block', ['legacyId']),
    // Version 3: ownership. Every read filters on owner or team; these let a caller's own blocks be
    // found without a label scan (blocks written before v3 have neither: only services/admins see them).
    range('block_owner', 'Block', ['ownerId']),
    range('block_team', 'Block', ['teamId']),
    {
      name: 'block_fulltext',
      kind: 'FULLTEXT',
      label: 'Block',
      properties: ['title', 'content'],
      cypher: 'CREATE FULLTEXT INDEX block_fulltext IF NOT EXISTS FOR (n:Block) ON EACH [n.title, n.content]',
    },
    {
      name: 'block_embedding',
      kind: 'VECTOR',
      label: 'Block',
      properties: ['embedding'],
      dimensions: opts.embeddingDimensions,
      cypher: `CREATE VECTOR INDEX block_embedding IF NOT EXISTS FOR (n:Block) ON (n.embedding)
        OPTIONS {indexConfig: {\`vector.dimensions\`: ${opts.embeddingDimensions}, \`vector.similarity_function\`: 'cosine'}}`,
    },
    // Block type labels (Decision, Risk, …) are served by the node label lookup index Neo4j
    // creates by default; it is listed so a dropped one is noticed and recreated.
    {
      name: 'node_label_lookup',
      kind: 'LOOKUP',
      label: null,
      properties: [],
      cypher: 'CREATE LOOKUP INDEX node_label_lookup IF NOT EXISTS FOR (n) ON EACH labels(n)',
    },
    unique('workflow_run_id_unique', 'WorkflowRun', ['id']),
    unique('workflow_step_id_unique', 'WorkflowStep', ['id']),
    range('workflow_step_run', 'WorkflowStep', ['runId']),
    // workflows.list pages newest first by (createdAt, id); the index lets Neo4j read in that order.
    range('workflow_run_created', 'WorkflowRun', ['createdAt']),
    // One change per (run, seq): the history of a run has a total order that cannot fork.
    unique('step_change_seq_unique', 'StepChange', ['runId', 'seq']),
    unique('outbox_id_unique', 'Outbox', ['id']),
    range('outbox_created', 'Outbox', ['createdAt']),
    unique('schema_version_name_unique', 'SchemaVersion', ['name']),
  ];
}

/**
 * Data migrations, run once each in version order; each statement is idempotent and batched.
 * Version 3 (ownership) has none on purpose: a block without owner properties is nobody's and no
 * migration can know whose it was; services and admins still see it, and may re-own it by hand.
 */
const migrations: ReadonlyArray<{ version: number; name: string; cypher: string }> = [
  {
    version: 2,
    name: 'backfill block validity and properties written by version 1',
    cypher: `MATCH (b:Block) WHERE b.validFrom IS NULL
      WITH b LIMIT 10000
      SET b.validFrom = coalesce(b.createdAt, datetime()), b.properties = coalesce(b.properties, '{}')
      RETURN count(b) AS n`,
  },
];

/** Another process creating the same object at the same moment is not an error. */
function alreadyExists(err: unknown): boolean {
  return err instanceof Neo4jError && /EquivalentSchemaRuleAlreadyExists|AlreadyExists/i.test(err.code);
}

export async function recordedVersion(g: Graph): Promise<number> {
  const res = await g.driver.executeQuery(
    "MATCH (v:SchemaVersion {name: 'knowledge'}) RETURN v.version AS version",
    {},
    { database: g.database },
  );
  return (res.records[0]?.get('version') as number | undefined) ?? 0;
}

export async function bootstrapSchema(g: Graph, opts: SchemaOptions): Promise<{ version: number; previous: number; migrated: string[] }> {
  const previous = await recordedVersion(g);
  if (previous > SCHEMA_VERSION) {
    // Retrying cannot fix this (the graph is fine, this code is old): StartRefused makes the service exit.
    throw new StartRefused(
      `graph schema version ${previous} is newer than this code's ${SCHEMA_VERSION}: deploy the newer knowledge service`,
    );
  }
  for (const s of expectedSchema(opts)) {
    try {
      await g.driver.executeQuery(s.cypher, {}, { database: g.database });
    } catch (err) {
      if (!alreadyExists(err)) throw err;
    }
  }
  await g.driver.executeQuery('CALL db.awaitIndexes(120)', {}, { database: g.database });
  const migrated: string[] = [];
  for (const m of migrations.filter((x) => x.version > previous)) {
    for (;;) {
      const res = await g.driver.executeQuery(m.cypher, {}, { database: g.database });
      if (((res.records[0]?.get('n') as number | undefined) ?? 0) === 0) break;
    }
    migrated.push(m.name);
  }
  await g.driver.executeQuery(
    `MERGE (v:SchemaVersion {name: 'knowledge'})
     SET v.version = CASE WHEN coalesce(v.version, 0) > $version THEN v.version ELSE $version END, v.appliedAt = datetime()`,
    { version: SCHEMA_VERSION },
    { database: g.database },
  );
  return { version: SCHEMA_VERSION, previous, migrated };
}

export interface SchemaStatusRow {
  name: string;
  kind: string;
  expected: string;
  actual: string;
  status: 'ok' | 'missing' | 'different' | 'not online' | 'unexpected';
}

export interface SchemaStatus {
  expectedVersion: number;
  recordedVersion: number;
  ok: boolean;
  rows: SchemaStatusRow[];
}

interface ExistingIndex {
  name: string;
  type: string;
  entityType: string;
  labelsOrTypes: string[] | null;
  properties: string[] | null;
  state: string;
  owningConstraint: string | null;
  options: { indexConfig?: Record<string, unknown> };
}

const describe = (kind: string, label: string | null, props: string[], dims?: number) =>
  `${kind} ${label ?? '*'}(${props.join(', ')})${dims ? ` dims=${dims}` : ''}`;

/** What exists versus what is expected, one row per object, plus unexpected indexes on our labels. */
export async function schemaStatus(g: Graph, opts: SchemaOptions): Promise<SchemaStatus> {
  const idx = await g.driver.executeQuery(
    'SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state, owningConstraint, options',
    {},
    { database: g.database },
  );
  const cons = await g.driver.executeQuery(
    'SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties, ownedIndex',
    {},
    { database: g.database },
  );
  const indexes = idx.records.map((r) => r.toObject() as ExistingIndex);
  const constraints = cons.records.map(
    (r) => r.toObject() as { name: string; type: string; labelsOrTypes: string[]; properties: string[]; ownedIndex: string | null },
  );
  const rows: SchemaStatusRow[] = [];
  const seen = new Set<string>();

  for (const e of expectedSchema(opts)) {
    const expected = describe(e.kind, e.label, e.properties, e.dimensions);
    if (e.kind === 'UNIQUENESS') {
      const c = constraints.find((x) => x.name === e.name);
      if (c?.ownedIndex) seen.add(c.ownedIndex);
      seen.add(e.name);
      const backing = indexes.find((i) => i.name === c?.ownedIndex);
      const actual = c ? describe(c.type, c.labelsOrTypes[0] ?? null, c.properties) : '-';
      const same = c && c.type === 'UNIQUENESS' && c.labelsOrTypes[0] === e.label && c.properties.join() === e.properties.join();
      rows.push({
        name: e.name,
        kind: e.kind,
        expected,
        actual,
        status: !c ? 'missing' : !same ? 'different' : backing && backing.state !== 'ONLINE' ? 'not online' : 'ok',
      });
      continue;
    }
    const i =
      e.kind === 'LOOKUP' ? indexes.find((x) => x.type === 'LOOKUP' && x.entityType === 'NODE') : indexes.find((x) => x.name === e.name);
    if (i) seen.add(i.name);
    const dims = i?.options.indexConfig?.['vector.dimensions'] as number | undefined;
    const actual = i ? describe(i.type, i.labelsOrTypes?.[0] ?? null, i.properties ?? [], dims) : '-';
    const same =
      i &&
      i.type === e.kind &&
      (i.labelsOrTypes?.[0] ?? null) === e.label &&
      (i.properties ?? []).join() === e.properties.join() &&
      (e.dimensions === undefined || dims === e.dimensions);
    rows.push({
      name: e.name,
      kind: e.kind,
      expected,
      actual,
      status: !i ? 'missing' : !same ? 'different' : i.state !== 'ONLINE' ? 'not online' : 'ok',
    });
  }
  for (const i of indexes) {
    if (seen.has(i.name) || i.owningConstraint || !i.labelsOrTypes?.some((l) => OWNED_LABELS.includes(l))) continue;
    rows.push({
      name: i.name,
      kind: i.type,
      expected: '-',
      actual: describe(i.type, i.labelsOrTypes[0] ?? null, i.properties ?? []),
      status: 'unexpected',
    });
  }
  const version = await recordedVersion(g);
  return {
    expectedVersion: SCHEMA_VERSION,
    recordedVersion: version,
    // Unexpected extra indexes are reported but harmless; anything missing or different is not.
    ok: version === SCHEMA_VERSION && rows.every((r) => r.status === 'ok' || r.status === 'unexpected'),
    rows,
  };
}
