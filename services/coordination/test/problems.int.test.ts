import type { ServiceServer } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, issueLines, serveRouter } from '@platform/testkit';
import { startTestCoordination, type TestCoordination } from './support/coordination.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Rule (issue 13, item 3): coordination's errors on /api are RFC 9457 problem+json a non-TypeScript
// caller can read. Its real router behind the kit's HTTP server, on a private nats-server.
let nats: PrivateNats;
let coord: TestCoordination;
let server: ServiceServer;
beforeAll(async () => {
  nats = await startPrivateNats(4599);
  coord = await startTestCoordination(nats);
  server = await serveRouter(coord.router, 'coordination-problems');
});
afterAll(async () => {
  await server?.close();
  await coord?.close();
  await nats?.destroy();
});

describe('coordination /api errors', () => {
  it('a missing job: 404 not-found problem naming the job, its id as a member', async () => {
    const id = randomUUID();
    const res = await fetch(`${server.url}/api/jobs/get?jobId=${id}`, { headers: bearer('user:alice') });
    const body = await expectProblem(res, { status: 404, code: 'NOT_FOUND', title: 'Not Found', instance: '/api/jobs/get' });
    expect(body['detail']).toContain(id);
    expect(body['id']).toBe(id);
  });

  it('bad input: 400 bad-request problem with one issue per invalid field, and no job queued', async () => {
    const res = await fetch(`${server.url}/api/jobs/trigger`, {
      method: 'POST',
      headers: bearer('user:alice'),
      body: JSON.stringify({ jobType: 'no_such_type', priority: 'urgent!', teamId: 'not-a-uuid' }),
    });
    const body = await expectProblem(res, { status: 400, code: 'BAD_REQUEST', title: 'Bad Request', instance: '/api/jobs/trigger' });
    expect(issueLines(body)).toEqual(['jobType: invalid_value', 'priority: invalid_value', 'teamId: invalid_format']);
    expect((await coord.as({ kind: 'user', id: 'alice', roles: [] }).jobs.list({})).jobs).toEqual([]);
  });
});
