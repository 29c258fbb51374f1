import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '@platform/testkit';
import { serviceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../../scripts/lib/processes.js';
import { eventually, tokenFor } from '../../../scripts/lib/test-system.js';
import { callProcedure } from '../../lib/http-call.js';

// Rule: knowledge starts while its Neo4j is down (here: a private Neo4j that was never started),
// answers /healthz 200, /readyz 503 problem+json naming neo4j, refuses calls with SERVICE_UNAVAILABLE
// and a message that names neo4j, and becomes ready by itself (schema bootstrapped, calls served)
// once Neo4j comes up — the same process, no restart. NATS is the shared one.
const ports = { knowledge: 4281, operations: 4282, coordination: 4283 };
const NEO4J_PORT = 7791;
let data = '';
let knowledge: ServiceProcess | undefined;

// The private Neo4j is scripts/infra.sh's own, moved to a temp dir and port (INFRA_DATA, INFRA_NEO4J_PORT).
const infra = (...args: string[]) =>
  execFileSync('bash', ['scripts/infra.sh', ...args], {
    cwd: ROOT,
    env: { ...process.env, INFRA_DATA: data, INFRA_NEO4J_PORT: String(NEO4J_PORT), NEO4J_URI: '' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

beforeAll(() => {
  data = mkdtempSync(join(tmpdir(), 'start-without-neo4j-'));
  // Reuse the jars the shared instance fetched (read-only) and its compiled launcher, so `up` needs
  // no Maven run; without them infra.sh fetches them as on a first run.
  const shared = join(ROOT, '.data', 'neo4j');
  mkdirSync(join(data, 'neo4j'), { recursive: true });
  if (existsSync(join(shared, 'lib', '.pom.sha256'))) symlinkSync(join(shared, 'lib'), join(data, 'neo4j', 'lib'));
  if (existsSync(join(shared, 'classes', '.sha256'))) cpSync(join(shared, 'classes'), join(data, 'neo4j', 'classes'), { recursive: true });
  knowledge = spawnService(
    'knowledge',
    serviceEnv('knowledge', ports, { NEO4J_URI: `bolt://127.0.0.1:${NEO4J_PORT}`, NEO4J_USER: 'neo4j', NEO4J_PASSWORD: 'neo4j_local_pw' }),
    'test-knowledge-start-without-neo4j',
  );
});

afterAll(async () => {
  await knowledge?.stop();
  try {
    if (data) infra('down', 'neo4j');
  } finally {
    if (data) rmSync(data, { recursive: true, force: true }); // removes the lib symlink, not the shared jars
  }
});

const createBlock = async (title: string) =>
  callProcedure(
    ports,
    { service: 'knowledge', path: 'blocks.create', type: 'mutation' },
    { type: 'Risk', sessionId: 'start-without-neo4j', title },
    await tokenFor({ kind: 'user', id: 'no-store', roles: [] }),
  );

describe('knowledge started without Neo4j', () => {
  it(
    'is alive, not ready (naming neo4j), refuses calls, then becomes ready by itself when Neo4j starts',
    { timeout: 300_000 },
    async () => {
      const proc = knowledge!;
      await waitForHttp(`${proc.url}/healthz`, 60_000, proc);

      // NATS (shared, up) is reached within moments; Neo4j stays the one named.
      const notReady = await eventually(
        () =>
          fetch(`${proc.url}/readyz`).then(async (r) => ({
            status: r.status,
            type: r.headers.get('content-type'),
            body: (await r.json()) as { failing: string[]; detail: string; checks: Record<string, { error?: string }> },
          })),
        (r) => r.status === 503 && r.body.failing.join() === 'neo4j',
        20_000,
        'readyz 503 naming only neo4j',
      );
      expect(notReady.type).toMatch(/^application\/problem\+json/);
      expect(notReady.body.detail).toBe('not ready: neo4j');
      expect(notReady.body.checks['neo4j']?.error).toMatch(/not reached since start/);

      const refused = await createBlock('while neo4j is down');
      expect(refused.status).toBe(503);
      expect(refused.code).toBe('SERVICE_UNAVAILABLE');
      const message = (refused.body as { error: { message: string } }).error.message;
      expect(message).toMatch(/^neo4j is unavailable: not reached since this service started/);
      // The gate answers at once: no driver retry window (10 s) is spent on a store never reached.
      expect(refused.ms).toBeLessThan(2_000);
      // The REST surface gives the same refusal.
      const rest = await fetch(`${proc.url}/api/blocks/create`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await tokenFor({ kind: 'user', id: 'no-store', roles: [] })}`,
        },
        body: JSON.stringify({ type: 'Risk', sessionId: 'start-without-neo4j', title: 'rest' }),
      });
      expect(rest.status).toBe(503);
      expect(await rest.text()).toContain('neo4j is unavailable: not reached since this service started');
      expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);

      const upAt = Date.now();
      infra('up', 'neo4j');
      const neo4jUpMs = Date.now() - upAt;
      await waitForHttp(`${proc.url}/readyz`, 60_000, proc);
      const readyMs = Date.now() - upAt - neo4jUpMs;
      const ok = await createBlock('after neo4j came up');
      expect(ok.status).toBe(200);
      expect(proc.child.exitCode).toBeNull(); // the same process throughout
      console.log(
        `start without neo4j: refused in ${refused.ms.toFixed(0)} ms (${refused.code}); neo4j up took ${neo4jUpMs} ms; knowledge ready ${readyMs} ms after that; write → ${ok.status}`,
      );
    },
  );
});
