import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@platform/contracts';
import { startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';
import { accepts, clampWaits, hostileInputs, RawJson, validInputs } from '../lib/arbitraries.js';
import { callProcedure, type CallResult } from '../lib/http-call.js';
import { allProcedures, type ProcedureInfo } from '../lib/procedures.js';
import { storeSnapshot } from '../lib/store-snapshot.js';

// Property-based fuzzing of every tRPC procedure of every service, over HTTP against the three
// services running as processes on the real stores. Hostile inputs must get a typed 4xx (never a
// 500, never a hang) and write nothing; valid inputs must never get a 5xx.
const ports = { knowledge: 4221, operations: 4222, coordination: 4223 };
const HOSTILE_RUNS = Number(process.env['FUZZ_HOSTILE_RUNS'] ?? 20);
const VALID_RUNS = Number(process.env['FUZZ_VALID_RUNS'] ?? 10);
const procedures = allProcedures();
let system: TestSystem;
const tokens: Record<Principal['kind'], string> = { user: '', agent: '', service: '' };
const counts = new Map<string, { hostile: number; valid: number; ok: number }>();

// Transport-level refusals that carry no tRPC code (the request never reached a procedure).
const TRANSPORT_4XX = new Set([413, 414, 431]);
const key = (p: ProcedureInfo) => `${p.service}:${p.path}`;

function expectTyped4xx(p: ProcedureInfo, r: CallResult, input: unknown) {
  const where = `${key(p)} with ${String(input instanceof RawJson ? input : JSON.stringify(input)).slice(0, 200)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
  expect(r.status, where).toBeGreaterThanOrEqual(400);
  expect(r.status, where).toBeLessThan(500);
  if (!TRANSPORT_4XX.has(r.status)) expect(r.code, where).toMatch(/^[A-Z_]+$/);
}

beforeAll(async () => {
  system = await startTestSystem({ ports, env: { LOG_LEVEL: 'warn' } });
  tokens.user = await tokenFor({ kind: 'user', id: `fuzz-user-${Date.now()}`, roles: ['admin'] }, 3_600);
  tokens.agent = await tokenFor({ kind: 'agent', id: `fuzz-agent-${Date.now()}`, roles: ['agent'] }, 3_600);
  tokens.service = await tokenFor({ kind: 'service', id: 'operations', roles: ['service'] }, 3_600);
});

afterAll(async () => {
  await system?.stop();
  const rows = [...counts.entries()].map(
    ([k, c]) => `${k.padEnd(48)} hostile ${String(c.hostile).padStart(4)}  valid ${String(c.valid).padStart(4)} (accepted ${c.ok})`,
  );
  console.log(`\nfuzz cases per procedure (${counts.size} procedures):\n${rows.join('\n')}`);
});

describe('fuzzing every procedure', () => {
  it('lists procedures from every service', () => {
    expect(new Set(procedures.map((p) => p.service))).toEqual(new Set(['knowledge', 'operations', 'coordination']));
  });

  it('refuses hostile input with a typed 4xx, never a 5xx or a hang, and writes nothing', { timeout: 600_000 }, async () => {
    // Each caller's identity row is provisioned by its first write: do that first, so the snapshot
    // compares only what the refused calls themselves could have written.
    for (const who of ['user', 'agent', 'service'] as const) {
      const r = await callProcedure(
        ports,
        { service: 'operations', path: 'tasks.create', type: 'mutation' },
        { title: `fuzz warm-up ${who}` },
        tokens[who],
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 1_500));
    const before = await storeSnapshot();
    for (const p of procedures) {
      const c = counts.get(key(p)) ?? { hostile: 0, valid: 0, ok: 0 };
      counts.set(key(p), c);
      await fc.assert(
        fc.asyncProperty(hostileInputs(p.input), fc.constantFrom<Principal['kind']>('user', 'agent', 'service'), async (input, who) => {
          // A mutation can land on a value the schema still accepts: that is a valid call, not a hostile one.
          fc.pre(!accepts(p.input, input));
          c.hostile++;
          expectTyped4xx(p, await callProcedure(ports, p, input, tokens[who]), input);
        }),
        { numRuns: HOSTILE_RUNS },
      );
    }
    await new Promise((r) => setTimeout(r, 1_500)); // outbox relays run on a timer
    expect(await storeSnapshot()).toEqual(before);
  });

  it('never answers valid input with a 5xx', { timeout: 600_000 }, async () => {
    for (const p of procedures) {
      const c = counts.get(key(p)) ?? { hostile: 0, valid: 0, ok: 0 };
      counts.set(key(p), c);
      await fc.assert(
        fc.asyncProperty(validInputs(p.input).map(clampWaits), async (input) => {
          c.valid++;
          // The caller kind that a procedure admits is found by asking: FORBIDDEN → try the next kind.
          let r: CallResult | undefined;
          for (const who of ['user', 'agent', 'service'] as const) {
            r = await callProcedure(ports, p, input, tokens[who]);
            if (r.code !== 'FORBIDDEN') break;
          }
          if (!accepts(p.input, input)) return expectTyped4xx(p, r!, input);
          expect(
            r!.status,
            `${key(p)} with ${JSON.stringify(input)?.slice(0, 300)}: ${JSON.stringify(r!.body).slice(0, 300)}`,
          ).toBeLessThan(500);
          if (r!.status === 200) c.ok++;
        }),
        { numRuns: VALID_RUNS },
      );
    }
  });
});
