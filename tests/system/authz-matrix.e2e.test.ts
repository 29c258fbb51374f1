import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@platform/contracts';
import { startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';
import { clampWaits, validInputs } from '../lib/arbitraries.js';
import { callProcedure } from '../lib/http-call.js';
import { allProcedures } from '../lib/procedures.js';
import { crossUserScenarios } from './authz-cross-user.js';
import { AUTHZ_MATRIX, type Caller } from './authz-table.js';

// Walks the authorization table (tests/system/authz-table.ts) against the running services:
// every procedure must be listed; anonymous callers get UNAUTHORIZED; a principal kind the table
// denies gets FORBIDDEN; an allowed kind is never refused for who it is. Cross-user reads and
// writes (and Postgres RLS under them) are in authz-cross-user.ts.
const ports = { knowledge: 4241, operations: 4242, coordination: 4243 };
let system: TestSystem;
const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>;
const REFUSED_FOR_IDENTITY = new Set(['UNAUTHORIZED', 'FORBIDDEN']);

beforeAll(async () => {
  system = await startTestSystem({ ports, env: { LOG_LEVEL: 'warn' } });
  const id = Date.now();
  const kinds: Record<Exclude<Caller, 'anonymous'>, Principal> = {
    user: { kind: 'user', id: `authz-user-${id}`, roles: [] },
    agent: { kind: 'agent', id: `authz-agent-${id}`, roles: ['agent'] },
    service: { kind: 'service', id: 'authz-service', roles: ['service'] },
  };
  for (const [k, p] of Object.entries(kinds)) tokens[k as keyof typeof kinds] = await tokenFor(p, 3_600);
});
afterAll(async () => {
  await system?.stop();
});

describe('authorization matrix', () => {
  const procedures = allProcedures();

  it('lists every procedure of every service, and nothing else', () => {
    const keys = procedures.map((p) => `${p.service}:${p.path}`).sort();
    expect(Object.keys(AUTHZ_MATRIX).sort()).toEqual(keys);
  });

  it('refuses anonymous callers and denied principal kinds, and admits allowed ones', { timeout: 300_000 }, async () => {
    let checks = 0;
    for (const p of procedures) {
      const rule = AUTHZ_MATRIX[`${p.service}:${p.path}`]!;
      const [input] = fc.sample(validInputs(p.input).map(clampWaits), { numRuns: 1, seed: 7 });
      const anon = await callProcedure(ports, p, input, null);
      expect(anon.code, `${p.service}:${p.path} anonymous`).toBe('UNAUTHORIZED');
      checks++;
      for (const who of ['user', 'agent', 'service'] as const) {
        const r = await callProcedure(ports, p, input, tokens[who]);
        const where = `${p.service}:${p.path} as ${who} → ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
        if (rule.includes(who)) expect(REFUSED_FOR_IDENTITY.has(r.code ?? ''), where).toBe(false);
        else expect(r.code, where).toBe('FORBIDDEN');
        checks++;
      }
    }
    console.log(`authorization matrix: ${procedures.length} procedures × 4 callers = ${checks} checks`);
  });

  for (const scenario of crossUserScenarios) {
    it(`cross-user: ${scenario.name}`, { timeout: 60_000 }, async () => {
      await scenario.run(ports);
    });
  }
});
