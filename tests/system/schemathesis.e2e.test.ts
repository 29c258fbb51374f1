import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '@platform/testkit';
import { startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// Schemathesis (from PyPI) against each running service's /openapi.json, with a valid token:
// no server error and no response that violates the documented schema.
const ports = { knowledge: 4231, operations: 4232, coordination: 4233 };
const MAX_EXAMPLES = process.env['SCHEMATHESIS_MAX_EXAMPLES'] ?? '15';
let system: TestSystem;
let bin: string;

beforeAll(async () => {
  bin = execFileSync('bash', ['scripts/tools/schemathesis.sh'], { cwd: ROOT, encoding: 'utf8' }).trim();
  system = await startTestSystem({ ports, env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await system?.stop();
});

function schemathesis(url: string, token: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      bin,
      [
        'run',
        `${url}/openapi.json`,
        '--checks',
        'not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance',
        '--header',
        `Authorization: Bearer ${token}`,
        '--max-examples',
        MAX_EXAMPLES,
        '--phases',
        'examples,coverage,fuzzing',
        '--workers',
        '1',
        '--max-response-time',
        '20',
        '--seed',
        '42',
      ],
      { env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false', NO_COLOR: '1' } },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('schemathesis', () => {
  for (const service of ['knowledge', 'operations', 'coordination'] as const) {
    it(`finds no server error or schema violation in ${service}`, { timeout: 600_000 }, async () => {
      // Agents' procedures need an agent token; users' need a user: run once per principal kind.
      for (const kind of ['user', 'agent'] as const) {
        const token = await tokenFor({ kind, id: `schemathesis-${kind}`, roles: kind === 'user' ? ['admin'] : ['agent'] }, 3_600);
        const { code, output } = await schemathesis(system.services[service].url, token);
        const summary = output
          .split('\n')
          .filter((l) => /passed|failed|errors?|Test cases|operations/i.test(l))
          .slice(-8)
          .join('\n');
        console.log(`schemathesis ${service} as ${kind}:\n${summary}`);
        if (code !== 0) writeFileSync(join(ROOT, '.data', 'logs', `schemathesis-${service}-${kind}.txt`), output);
        expect(code, `${output.slice(-3_000)}\n(full output in .data/logs/schemathesis-${service}-${kind}.txt)`).toBe(0);
      }
    });
  }
});
