import { createServiceClient } from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../../scripts/lib/processes.js';
import { tokenFor } from '../../../scripts/lib/test-system.js';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import { deleteTagged } from '../../../services/knowledge/test/support/cleanup.js';
import { openTestGraph, uniqueTag } from '../../../services/knowledge/test/support/harness.js';

// The service as a process: it boots with the full router (the OpenAPI document is generated at
// start), and answers both typed tRPC clients and plain REST callers.
const ports = { knowledge: 4301, operations: 4302, coordination: 4303 };
const tag = uniqueTag('kb-http');
let knowledge: ServiceProcess;
let token: string;

beforeAll(async () => {
  knowledge = spawnService('knowledge', serviceEnv('knowledge', ports), 'test-knowledge-http');
  await waitForHttp(`${knowledge.url}/readyz`, 90_000, knowledge);
  token = await tokenFor({ kind: 'user', id: 'http-tester', roles: [] });
});

afterAll(async () => {
  await knowledge?.stop();
  const { graph } = await openTestGraph();
  try {
    await deleteTagged(graph, tag);
  } finally {
    await graph.driver.close();
  }
});

describe('knowledge over HTTP', () => {
  it('serves tRPC and REST from the same procedures', async () => {
    const client = createServiceClient<KnowledgeRouter>({ baseUrl: knowledge.url, getToken: async () => token, timeoutMs: 15_000 });
    const a = await client.blocks.create.mutate({ type: 'Decision', sessionId: tag, title: 'Ship the knowledge service' });
    const b = await client.blocks.create.mutate({ type: 'Evidence', sessionId: tag, title: 'Benchmarks are in' });
    await client.links.create.mutate({ sourceId: b.id, targetId: a.id, type: 'SUPPORTS' });
    const { path } = await client.links.shortestPath.query({ fromId: a.id, toId: b.id });
    expect(path?.blocks.map((x) => x.id)).toEqual([a.id, b.id]);

    const res = await fetch(`${knowledge.url}/api/search/full-text`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'knowledge service', sessionId: tag }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { hits: Array<{ block: { id: string }; matchedBy: string[] }> };
    expect(body.hits.map((h) => h.block.id)).toEqual([a.id]);

    const doc = (await (await fetch(`${knowledge.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/blocks/list', '/links/neighbours', '/search/hybrid', '/runs/path-to-root']),
    );
  });
});
