import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, storeEnv } from '@platform/testkit';
import type { Graph } from '../src/store/neo4j.js';
import { bootstrapSchema, expectedSchema, SCHEMA_VERSION, schemaStatus } from '../src/store/schema.js';
import { openTestGraph, testGraphConfig } from './support/harness.js';

let graph: Graph;
let dims: number;

beforeAll(async () => {
  ({ graph } = await openTestGraph());
  dims = testGraphConfig().EMBEDDING_DIMENSIONS;
});
afterAll(async () => graph?.driver.close());

describe('schema bootstrap', () => {
  it('is idempotent and records its version in the graph', async () => {
    const again = await bootstrapSchema(graph, { embeddingDimensions: dims });
    expect(again).toEqual({ version: SCHEMA_VERSION, previous: SCHEMA_VERSION, migrated: [] });
    const res = await graph.driver.executeQuery(
      "MATCH (v:SchemaVersion {name: 'knowledge'}) RETURN v.version AS v, count(*) AS n",
      {},
      { database: graph.database },
    );
    expect(res.records[0]!.toObject()).toEqual({ v: SCHEMA_VERSION, n: 1 });
  });

  it('reports every expected object as present and online', async () => {
    const status = await schemaStatus(graph, { embeddingDimensions: dims });
    expect(status.ok).toBe(true);
    const names = status.rows.filter((r) => r.status === 'ok').map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(expectedSchema({ embeddingDimensions: dims }).map((s) => s.name)));
    expect(status.rows.find((r) => r.name === 'block_embedding')?.actual).toBe(`VECTOR Block(embedding) dims=${dims}`);
  });

  it('reports a vector index whose dimension differs from the configured one', async () => {
    const status = await schemaStatus(graph, { embeddingDimensions: dims + 1 });
    expect(status.ok).toBe(false);
    expect(status.rows.find((r) => r.name === 'block_embedding')?.status).toBe('different');
  });
});

describe('schema:status command', () => {
  it('prints the comparison and exits 0 when the schema matches, 1 when it does not', () => {
    const run = (env: Record<string, string>) => {
      try {
        return {
          code: 0,
          out: execFileSync('npx', ['tsx', '--conditions=@platform/source', 'services/knowledge/src/cli/schema-status.ts'], {
            cwd: ROOT,
            env: { ...process.env, ...storeEnv(), ...env },
            stdio: 'pipe',
          }).toString(),
        };
      } catch (err) {
        const e = err as { status: number; stdout: Buffer };
        return { code: e.status, out: e.stdout.toString() };
      }
    };
    const ok = run({ EMBEDDING_DIMENSIONS: String(dims) });
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/block_fulltext\s+FULLTEXT/);
    expect(ok.out).toMatch(/OK: the graph has the expected schema/);
    const bad = run({ EMBEDDING_DIMENSIONS: String(dims + 1) });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/block_embedding.*different/);
  });
});
