import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from '@platform/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, storeEnv } from '@platform/testkit';
import sqlite from 'node-sqlite3-wasm';
import { blockIdFor } from '../src/import/legacy-ids.js';
import { importLegacy } from '../src/import/importer.js';
import { lineProgress } from '../src/import/progress.js';
import type { ImportReport } from '../src/import/report.js';
import { expectTrpcError } from './support/errors.js';
import { deleteTagged, startHarness, type Harness } from './support/harness.js';
import { namespacedCopy } from './support/legacy-copy.js';

// The sample legacy store, imported into the shared Neo4j under a namespace of its own (see
// namespacedCopy): every number below is the fixture's, computed independently with SQL.
let h: Harness;
let copy: ReturnType<typeof namespacedCopy>;
let first: ImportReport;
let second: ImportReport;
const progressLines: string[] = [];
/** Whose the imported records become (the importer's --owner); nobody else may see them. */
const importer: Principal = { kind: 'user', id: `importer-${Date.now().toString(36)}`, roles: [] };
const owner = { kind: importer.kind, id: importer.id };

const legacy = (id: string) => (/^[0-9a-f]{8}-/.test(id) ? copy.prefix + id.slice(8) : `${id}-${copy.prefix}`);
const cli = (args: string[]) => {
  try {
    const out = execFileSync('npx', ['tsx', '--conditions=@platform/source', 'services/knowledge/src/cli/import-legacy.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...storeEnv() },
      stdio: 'pipe',
    });
    return { code: 0, out: out.toString() };
  } catch (err) {
    const e = err as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: e.status, out: e.stdout.toString() + e.stderr.toString() };
  }
};

beforeAll(async () => {
  h = await startHarness('kb-import');
  copy = namespacedCopy();
  first = await importLegacy(h.graph, {
    file: copy.file,
    owner,
    defaultSessionId: copy.defaultSessionId,
    seed: 42,
    batchSize: 500,
    progress: lineProgress((l) => progressLines.push(l)),
  });
  second = await importLegacy(h.graph, { file: copy.file, owner, defaultSessionId: copy.defaultSessionId, seed: 42 });
}, 240_000);

afterAll(async () => {
  if (copy) await deleteTagged(h.graph, copy.prefix);
  copy?.remove();
  await h?.cleanup();
}, 120_000);

describe('legacy import of the sample store', () => {
  it('reads every row and reconciles', () => {
    expect(first.source).toMatchObject({ sessions: 20, blocks: 3000, links: 4846 });
    expect(first.reconciliation).toEqual({ ok: true, problems: [] });
    expect(first.ok).toBe(true);
  });

  it('creates every block with its mapped type and keeps the original type', () => {
    expect(first.blocks).toMatchObject({
      read: 3000,
      accepted: 3000,
      rejected: 0,
      created: 3000,
      alreadyPresent: 0,
      idsDerived: 2623,
      rejects: [],
    });
    expect(first.blocks.byType).toEqual({
      Knowledge: { source: 941, graph: 941 },
      Decision: { source: 336, graph: 336 },
      Assumption: { source: 170, graph: 170 },
      Task: { source: 309, graph: 309 },
      Evidence: { source: 370, graph: 370 },
      Proposal: { source: 167, graph: 167 },
      Question: { source: 172, graph: 172 },
      Risk: { source: 176, graph: 176 },
      Requirement: { source: 359, graph: 359 },
    });
    expect(first.blocks.byOriginalType).toMatchObject({
      option: { count: 174, mappedTo: 'Decision' },
      constraint: { count: 170, mappedTo: 'Requirement' },
      mood: { count: 24, mappedTo: 'Knowledge' },
      LEGACY_NOTE: { count: 19, mappedTo: 'Knowledge' },
      hypothesis: { count: 15, mappedTo: 'Knowledge' },
      '': { count: 20, mappedTo: 'Knowledge' },
    });
  });

  it('says what cleaning did, per rule', () => {
    expect(first.blocks.flags).toEqual({
      type_unmapped: 58,
      type_missing: 20,
      confidence_clamped: 542,
      confidence_defaulted: 285,
      status_defaulted: 533,
      session_defaulted: 126,
      title_derived: 152,
      properties_malformed: 21,
      content_empty: 34,
      content_long: 7,
      hostile_looking: 29,
      created_at_from_updated_at: 27,
      created_at_from_session: 61,
      created_at_from_snapshot: 7,
      updated_at_missing: 96,
      updated_at_before_created: 434,
    });
    expect(first.blocks.timestampFormats.createdAt).toEqual({
      iso: expect.any(Number),
      sql: expect.any(Number),
      epoch_ms: 481,
      missing: 95,
    });
    expect(first.blocks.timestampFormats.createdAt['iso']! + first.blocks.timestampFormats.createdAt['sql']!).toBe(2424);
  });

  it('reports dangling and self links, collapses duplicates and creates the rest', () => {
    expect(first.links).toMatchObject({
      read: 4846,
      accepted: 4772,
      rejected: 74,
      rejectsByReason: { self_link: 31, dangling_target: 43 },
      created: 4726,
      duplicatesCollapsed: 46,
      alreadyPresent: 0,
      endpointsMissingInGraph: 0,
      flags: { type_normalized: 5, confidence_defaulted: 2381, created_at_missing: 139 },
    });
    expect(first.links.rejects).toHaveLength(74);
    expect(first.links.rejects.filter((r) => r.reason === 'self_link').every((r) => r.source === r.target)).toBe(true);
    expect(first.links.byType['SUPPORTS']).toEqual({ sourceRows: 478, inGraph: 478 });
    expect(first.links.byType['REQUIRES']).toEqual({ sourceRows: 394, inGraph: 394 });
  });

  it('spot-checks sampled blocks field by field', () => {
    expect(first.spotCheck).toEqual({ sampled: 25, matched: 25, mismatches: [] });
  });

  it('creates nothing on a second run and says so', () => {
    expect(second.ok).toBe(true);
    expect(second.blocks).toMatchObject({ created: 0, alreadyPresent: 3000 });
    expect(second.links).toMatchObject({ created: 0, alreadyPresent: 4772, duplicatesCollapsed: 0 });
    expect(second.summary).toBe('nothing new: all 3000 blocks and 4772 link rows were already in the graph');
    expect(second.blocks.byType).toEqual(first.blocks.byType);
  });

  it('holds each (source, type, target) once after both runs (link batches of one type are never written at once)', async () => {
    expect(await linkTriples(copy.prefix)).toEqual({ links: 4726, triples: 4726 });
  });

  it('reported progress as plain lines', () => {
    expect(progressLines[0]).toBe('blocks: starting, 3000 rows');
    expect(progressLines).toContain('links: starting, 4846 rows');
    expect(progressLines.some((l) => /^blocks: 3000\/3000 \(100%\)/.test(l))).toBe(true);
  });
});

/** Relationships between the namespace's blocks, and how many distinct (source, type, target) they form. */
async function linkTriples(prefix: string): Promise<{ links: number; triples: number }> {
  const res = await h.graph.driver.executeQuery(
    'MATCH (a:Block)-[l]->(b:Block) WHERE a.sessionId STARTS WITH $p RETURN count(l) AS links, count(DISTINCT [a.id, type(l), b.id]) AS triples',
    { p: prefix },
    { database: h.graph.database },
  );
  return res.records[0]!.toObject() as { links: number; triples: number };
}

describe('links when some blocks were there before the run', () => {
  // An earlier, partial import (every other block, the links among those) already made some links.
  let full: ReturnType<typeof namespacedCopy>;
  let partial: ImportReport;
  let rest: ImportReport;
  beforeAll(async () => {
    full = namespacedCopy();
    const partialFile = join(full.file, '..', 'partial.sqlite');
    copyFileSync(full.file, partialFile);
    const db = new sqlite.Database(partialFile);
    try {
      db.run('DELETE FROM memory_blocks WHERE rowid % 2 = 0');
    } finally {
      db.close();
    }
    const opts = { owner, defaultSessionId: full.defaultSessionId, seed: 7, batchSize: 500 };
    partial = await importLegacy(h.graph, { ...opts, file: partialFile });
    rest = await importLegacy(h.graph, { ...opts, file: full.file });
  }, 240_000);
  afterAll(async () => {
    if (full) await deleteTagged(h.graph, full.prefix);
    full?.remove();
  }, 120_000);

  it('merges every link, creating only the missing ones and never one twice', async () => {
    expect(partial.ok && rest.ok).toBe(true);
    expect(partial.blocks.created).toBe(1500);
    expect(rest.blocks).toMatchObject({ created: 1500, alreadyPresent: 1500 });
    expect(partial.links.created).toBeGreaterThan(0);
    expect(rest.links.created).toBe(4726 - partial.links.created);
    expect(rest.links.created + rest.links.alreadyPresent + rest.links.duplicatesCollapsed).toBe(4772);
    expect(await linkTriples(full.prefix)).toEqual({ links: 4726, triples: 4726 });
  });
});

describe('imported blocks through the API', () => {
  it('belong to the owner named on the command line: another user is told they do not exist', async () => {
    const res = await h.graph.driver.executeQuery(
      'MATCH (b:Block) WHERE b.sessionId STARTS WITH $p RETURN count(b) AS n, count(DISTINCT [b.ownerKind, b.ownerId, b.teamId]) AS owners, collect(b.id)[0] AS id',
      { p: copy.prefix },
      { database: h.graph.database },
    );
    expect(res.records[0]!.get('n')).toBe(3000);
    expect(res.records[0]!.get('owners')).toBe(1);
    const id = res.records[0]!.get('id') as string;
    expect(await h.caller(importer).blocks.get({ id })).toMatchObject({ id, owner, teamId: null, createdBy: 'legacy-import' });
    await expectTrpcError(h.caller().blocks.get({ id }), 'NOT_FOUND');
    const links = await h.graph.driver.executeQuery(
      'MATCH (a:Block)-[l]->(:Block) WHERE a.sessionId STARTS WITH $p RETURN count(l) AS n, count(DISTINCT [l.ownerKind, l.ownerId]) AS owners, collect(l.ownerId)[0] AS ownerId',
      { p: copy.prefix },
      { database: h.graph.database },
    );
    expect(links.records[0]!.toObject()).toMatchObject({ owners: 1, ownerId: importer.id });
    expect(first.options.owner).toEqual({ ...owner, teamId: null });
  });

  it('stores hostile-looking strings verbatim and exposes the legacy origin', async () => {
    const api = h.caller(importer);
    const res = await h.graph.driver.executeQuery(
      "MATCH (b:Block) WHERE b.sessionId STARTS WITH $p AND 'hostile_looking' IN b.importFlags AND b.title STARTS WITH 'Robert' RETURN b.id AS id LIMIT 1",
      { p: copy.prefix },
      { database: h.graph.database },
    );
    const block = await api.blocks.get({ id: res.records[0]!.get('id') as string });
    expect(block.title).toBe("Robert'); DROP TABLE tasks;--");
    expect(block.legacy?.importFlags).toContain('hostile_looking');
    expect(block.createdBy).toBe('legacy-import');
  });

  it('maps non-UUID legacy ids to stable UUIDs, keeping the legacy id', async () => {
    const legacyId = legacy('legacy-1008');
    const block = await h.caller(importer).blocks.get({ id: blockIdFor(legacyId).id });
    expect(block.legacy?.legacyId).toBe(legacyId);
  });

  it('keeps malformed properties as raw text and unknown types as migratedFrom', async () => {
    const res = await h.graph.driver.executeQuery(
      `MATCH (b:Block) WHERE b.sessionId STARTS WITH $p AND b.propertiesRaw IS NOT NULL RETURN b.id AS id LIMIT 1
       UNION MATCH (b:Block) WHERE b.sessionId STARTS WITH $p AND b.migratedFrom = 'LEGACY_NOTE' RETURN b.id AS id LIMIT 1`,
      { p: copy.prefix },
      { database: h.graph.database },
    );
    const [malformed, migrated] = await Promise.all(res.records.map((r) => h.caller(importer).blocks.get({ id: r.get('id') as string })));
    expect(malformed!.legacy).toMatchObject({
      importFlags: expect.arrayContaining(['properties_malformed']),
      propertiesRaw: expect.stringMatching(/^\{"tags"/),
    });
    expect(malformed!.properties).toEqual({});
    expect(migrated!).toMatchObject({ type: 'Knowledge', legacy: { originalType: 'LEGACY_NOTE', migratedFrom: 'LEGACY_NOTE' } });
  });
});

describe('import:legacy command', () => {
  it('exits 0 with a JSON report, and 1 when reconciliation fails', async () => {
    const reportPath = join(copy.file, '..', 'report.json');
    const ok = cli([copy.file, '--owner', importer.id, '--report', reportPath, '--default-session', copy.defaultSessionId, '--seed', '1']);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/nothing new/);
    expect(ok.out).toMatch(/reconciliation: OK/);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as ImportReport;
    expect(report.blocks.alreadyPresent).toBe(3000);

    // Someone edits an imported block behind the importer's back: a full spot check sees it.
    const id = blockIdFor(legacy('legacy-1008')).id;
    await h.graph.driver.executeQuery("MATCH (b:Block {id: $id}) SET b.title = 'tampered'", { id }, { database: h.graph.database });
    const bad = cli([
      copy.file,
      '--owner',
      importer.id,
      '--owner-kind',
      'user',
      '--report',
      reportPath,
      '--default-session',
      copy.defaultSessionId,
      '--spot-check',
      '3000',
      '--quiet',
    ]);
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toMatch(/reconciliation FAILED/);
    const failed = JSON.parse(readFileSync(reportPath, 'utf8')) as ImportReport;
    expect(failed.spotCheck.mismatches).toEqual([
      { legacyId: legacy('legacy-1008'), id, field: 'title', expected: expect.any(String), actual: 'tampered' },
    ]);
  }, 180_000);

  it('exits 2 for a file that is not a legacy store', () => {
    const notSqlite = join(copy.file, '..', 'empty.sqlite');
    writeFileSync(notSqlite, '');
    const r = cli([notSqlite, '--owner', importer.id, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/cannot read .*memory_blocks|cannot read .*table/);
    expect(cli([]).code).toBe(2);
  }, 60_000);

  it('exits 2 with a clear message when the owner is missing or malformed, before touching the graph', () => {
    const noOwner = cli([copy.file, '--quiet']);
    expect(noOwner.code).toBe(2);
    expect(noOwner.out).toMatch(/--owner <principal-id> is required/);
    const badKind = cli([copy.file, '--owner', importer.id, '--owner-kind', 'admin', '--quiet']);
    expect(badKind.code).toBe(2);
    expect(badKind.out).toMatch(/--owner-kind must be user, service or agent/);
    const badTeam = cli([copy.file, '--owner', importer.id, '--team', 'not-a-uuid', '--quiet']);
    expect(badTeam.code).toBe(2);
    expect(badTeam.out).toMatch(/--team must be a team id/);
  }, 60_000);
});
