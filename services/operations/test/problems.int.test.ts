import type { ServiceServer } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, issueLines, serveRouter } from '@platform/testkit';
import { createOperationsRouter } from '../src/router/index.js';
import { testDeps } from './support/callers.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';

// Rule (issue 13, item 3): operations' errors on /api are RFC 9457 problem+json a non-TypeScript
// caller can read. Its real router behind the kit's HTTP server, on a scratch database.
let s: ScratchDb;
let server: ServiceServer;
beforeAll(async () => {
  s = await migratedScratchDb('problems');
  server = await serveRouter(createOperationsRouter(testDeps(s)), 'operations-problems');
});
afterAll(async () => {
  await server?.close();
  await s?.drop();
});

describe('operations /api errors', () => {
  it('a missing task: 404 not-found problem naming the task, its id as a member', async () => {
    const id = randomUUID();
    const res = await fetch(`${server.url}/api/tasks/get?id=${id}`, { headers: bearer('user:ivy') });
    const body = await expectProblem(res, { status: 404, code: 'NOT_FOUND', title: 'Not Found', instance: '/api/tasks/get' });
    expect(body['detail']).toContain(id);
    expect(body['id']).toBe(id);
    expect(body['issues']).toBeUndefined();
  });

  it('bad input: 400 bad-request problem with one issue per invalid field, and nothing written', async () => {
    const res = await fetch(`${server.url}/api/tasks/create`, {
      method: 'POST',
      headers: bearer('user:ivy'),
      body: JSON.stringify({ title: '', priority: 'P7', subtasks: [{}] }),
    });
    const body = await expectProblem(res, { status: 400, code: 'BAD_REQUEST', title: 'Bad Request', instance: '/api/tasks/create' });
    expect(issueLines(body)).toEqual(['priority: invalid_value', 'subtasks.0.title: invalid_type', 'title: too_small']);
    expect(body['detail']).toMatch(/^Input validation failed: .*priority/);
    expect(Number((await s.admin.query(`SELECT count(*) AS n FROM tasks`)).rows[0].n)).toBe(0);
  });
});
