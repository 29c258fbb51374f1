import { generateOpenApiDocument, type OpenApiRouter } from 'trpc-to-openapi';
import { staticTeamDirectory } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../store/neo4j.js';
import { createKnowledgeRouter } from './index.js';

// The service generates /openapi.json at start: a procedure without meta, or a schema the
// generator cannot express, would stop the service from starting.
const router = createKnowledgeRouter({
  graph: {} as Graph,
  clock: () => new Date(0),
  newId: () => '00000000-0000-4000-8000-000000000000',
  embeddingDimensions: 8,
  teams: staticTeamDirectory(),
});

describe('knowledge OpenAPI surface', () => {
  it('has openapi meta on every query and mutation (subscriptions are tRPC-only SSE) and generates a document', () => {
    const procedures = Object.entries(
      router._def.procedures as unknown as Record<
        string,
        { _def: { type: string; meta?: { openapi?: { path: string; protect: boolean } } } }
      >,
    );
    expect(procedures.length).toBeGreaterThanOrEqual(25);
    const subscriptions = procedures.filter(([, p]) => p._def.type === 'subscription');
    expect(subscriptions.map(([name]) => name)).toEqual(['runs.onChange']);
    expect(subscriptions.filter(([, p]) => p._def.meta?.openapi)).toEqual([]);
    const missing = procedures.filter(([, p]) => p._def.type !== 'subscription' && !p._def.meta?.openapi?.protect).map(([name]) => name);
    expect(missing).toEqual([]);
    const doc = generateOpenApiDocument(router as unknown as OpenApiRouter, {
      title: 'k',
      version: '0',
      baseUrl: 'http://x/api',
      openApiVersion: '3.1.0',
    });
    expect(Object.keys(doc.paths ?? {})).toEqual(
      expect.arrayContaining(['/blocks/create', '/links/shortest-path', '/search/hybrid', '/runs/replay']),
    );
  });
});
