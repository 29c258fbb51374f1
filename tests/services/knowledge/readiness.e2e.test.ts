import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, storeEnv } from '@platform/testkit';
import { serviceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../../scripts/lib/processes.js';
import { eventually, tokenFor } from '../../../scripts/lib/test-system.js';
import { callProcedure } from '../../lib/http-call.js';

// Stopping Neo4j must turn knowledge's /readyz into a 503 naming neo4j while /healthz stays 200,
// and knowledge must recover by itself once Neo4j is back. This needs the Neo4j that
// scripts/infra.sh manages: with an external NEO4J_URI the test cannot stop it and fails loudly.
const ports = { knowledge: 4211, operations: 4212, coordination: 4213 };
let knowledge: ServiceProcess;
const infra = (...args: string[]) =>
  execFileSync('bash', ['scripts/infra.sh', ...args], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, NEO4J_URI: '' } }).toString();

beforeAll(async () => {
  if (process.env['NEO4J_URI'] && process.env['NEO4J_URI'] !== storeEnv({})['NEO4J_URI']) {
    throw new Error(
      'NEO4J_URI points at an external Neo4j: this test must stop and start Neo4j, so it needs the local one from scripts/infra.sh',
    );
  }
  knowledge = spawnService('knowledge', serviceEnv('knowledge', ports), 'test-knowledge-readiness');
  await waitForHttp(`${knowledge.url}/readyz`, 90_000, knowledge);
});

afterAll(async () => {
  infra('up', 'neo4j');
  await knowledge?.stop();
});

const createBlock = async (title: string) =>
  callProcedure(
    ports,
    { service: 'knowledge', path: 'blocks.create', type: 'mutation' },
    { type: 'Risk', sessionId: 'readiness-drill', title },
    await tokenFor({ kind: 'user', id: 'drill', roles: [] }),
  );

describe('knowledge readiness', () => {
  it('answers 503 naming neo4j while Neo4j is down, 200 on /healthz, and recovers', async () => {
    infra('down', 'neo4j');
    const started = Date.now();
    const down = await eventually(
      () => fetch(`${knowledge.url}/readyz`),
      (r) => r.status === 503,
      20_000,
      'readyz 503',
    );
    expect(down.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const body = (await down.json()) as { failing: string[]; detail: string };
    expect(body.failing).toEqual(['neo4j']);
    expect(body.detail).toMatch(/neo4j/);
    expect((await fetch(`${knowledge.url}/healthz`)).status).toBe(200);

    // Writes while Neo4j is down: the driver retries its managed transaction, then gives a typed 503.
    const refused = await createBlock('during the outage');
    expect(refused.status).toBe(503);
    expect(refused.code).toBe('SERVICE_UNAVAILABLE');

    infra('up', 'neo4j');
    const downFor = Date.now() - started;
    await waitForHttp(`${knowledge.url}/readyz`, 60_000, knowledge);
    // Recovered by itself: the same process writes again.
    const ok = await eventually(
      () => createBlock('after the outage'),
      (r) => r.status === 200,
      30_000,
      'write after recovery',
    );
    console.log(
      `drill neo4j: down ${downFor} ms, write during outage → ${refused.status} ${refused.code} in ${refused.ms.toFixed(0)} ms, ready again ${Date.now() - started - downFor} ms after restart, write → ${ok.status}`,
    );
  });
});
