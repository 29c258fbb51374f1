import type { ServiceServer } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, issueLines, serveRouter } from '@platform/testkit';
import { createKnowledgeRouter } from '../src/router/index.js';
import { startHarness, type Harness } from './support/harness.js';

// Rule (issue 13, item 3): knowledge's errors on /api are RFC 9457 problem+json a non-TypeScript
// caller can read. Its real router behind the kit's HTTP server, on the real Neo4j.
let h: Harness;
let server: ServiceServer;
beforeAll(async () => {
  h = await startHarness('kb-problems');
  server = await serveRouter(createKnowledgeRouter(h.deps), 'knowledge-problems');
});
afterAll(async () => {
  await server?.close();
  await h?.cleanup();
});

describe('knowledge /api errors', () => {
  it('a missing block: 404 not-found problem naming the block, its id as a member', async () => {
    const id = randomUUID();
    const res = await fetch(`${server.url}/api/blocks/get?id=${id}`, { headers: bearer('user:alice') });
    const body = await expectProblem(res, { status: 404, code: 'NOT_FOUND', title: 'Not Found', instance: '/api/blocks/get' });
    expect(body['detail']).toContain(id);
    expect(body['id']).toBe(id);
  });

  it('bad input: 400 bad-request problem with one issue per invalid field, and no block made', async () => {
    const res = await fetch(`${server.url}/api/blocks/create`, {
      method: 'POST',
      headers: bearer('user:alice'),
      body: JSON.stringify({ type: 'NotAType', sessionId: h.tag, title: '', confidence: 7 }),
    });
    const body = await expectProblem(res, { status: 400, code: 'BAD_REQUEST', title: 'Bad Request', instance: '/api/blocks/create' });
    expect(issueLines(body)).toEqual(['confidence: too_big', 'title: too_small', 'type: invalid_value']);
    const made = await h.graph.driver.executeQuery('MATCH (b:Block {sessionId: $tag}) RETURN count(b) AS n', { tag: h.tag });
    expect(Number(made.records[0]!.get('n'))).toBe(0);
  });
});
