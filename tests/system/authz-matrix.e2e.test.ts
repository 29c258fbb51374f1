import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@platform/contracts';
import type { ServiceName } from '@platform/testkit';
import { startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';
import { clampWaits, validInputs } from '../lib/arbitraries.js';
import { callProcedure, callRest, type CallResult } from '../lib/http-call.js';
import { allProcedures, type ProcedureInfo } from '../lib/procedures.js';
import { crossUserScenarios } from './authz-cross-user.js';
import { AUTHZ_MATRIX, SAMPLE_INPUT, TEAM_ROLES, type Authed, type Caller, type Outcome, type World } from './authz-table.js';

// Walks the authorization table (authz-table.ts) against the three services as processes: every
// procedure must be listed; each rule's callers get exactly the outcome the table says. Cross-user
// reads and writes are the `otherUser` (and team role) columns; Postgres RLS under them is in
// authz-cross-user.ts.
const ports: Record<ServiceName, number> = { knowledge: 4241, operations: 4242, coordination: 4243 };
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let system: TestSystem | undefined;
const tokens = {} as Record<Authed, string>;
const ids = {} as Record<Authed, string>;
let world: World;
const secretIds = { tasks: [] as string[], memories: [] as string[], conversations: [] as string[] };

const procedures = allProcedures();
const procByKey = new Map(procedures.map((p) => [`${p.service}:${p.path}`, p]));

async function callAs(token: string | null, service: ServiceName, path: string, input: unknown): Promise<CallResult> {
  const p = procByKey.get(`${service}:${path}`);
  if (!p) throw new Error(`no procedure ${service}:${path}`);
  return callProcedure(ports, p, input, token);
}

const dataOf = (r: CallResult) => (r.body as { result?: { data?: unknown } }).result?.data;

beforeAll(async () => {
  system = await startTestSystem({ ports, env: { LOG_LEVEL: 'warn' } });
  const principals: Record<Authed, Principal> = {
    user: { kind: 'user', id: `authz-user-${run}`, roles: [] },
    otherUser: { kind: 'user', id: `authz-other-${run}`, roles: [] },
    teamOwner: { kind: 'user', id: `authz-towner-${run}`, roles: [] },
    teamAdmin: { kind: 'user', id: `authz-tadmin-${run}`, roles: [] },
    teamMember: { kind: 'user', id: `authz-tmember-${run}`, roles: [] },
    teamViewer: { kind: 'user', id: `authz-tviewer-${run}`, roles: [] },
    agent: { kind: 'agent', id: `authz-agent-${run}`, roles: ['agent'] },
    otherAgent: { kind: 'agent', id: `authz-otheragent-${run}`, roles: ['agent'] },
    // A service vouches only for itself (its own key): the matrix calls as operations.
    service: { kind: 'service', id: 'operations', roles: ['service'] },
    platformAdmin: { kind: 'user', id: `authz-admin-${run}`, roles: ['admin'] },
  };
  for (const [k, p] of Object.entries(principals) as Array<[Authed, Principal]>) {
    tokens[k] = await tokenFor(p, 3_600);
    ids[k] = p.id;
  }
  let n = 0;
  const call: World['call'] = async (who, service, path, input) => {
    const r = await callAs(tokens[who], service, path, input);
    if (r.status < 200 || r.status >= 300)
      throw new Error(`fixture ${service}:${path} as ${who} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    const data = dataOf(r) as { id?: string } | undefined;
    // remember the owner's rows for the RLS check
    if (who === 'user' && service === 'operations' && data?.id) {
      if (path === 'tasks.create') secretIds.tasks.push(data.id);
      if (path === 'memories.create') secretIds.memories.push(data.id);
      if (path === 'conversations.create') secretIds.conversations.push(data.id);
    }
    return data;
  };
  for (const who of Object.keys(principals) as Authed[]) await call(who, 'operations', 'users.me', {});
  const team = (await call('user', 'operations', 'teams.create', { name: `authz-team-${run}` })) as { id: string };
  for (const [who, role] of Object.entries(TEAM_ROLES) as Array<[Authed, string]>)
    await call('user', 'operations', 'teams.invite', { teamId: team.id, userId: ids[who], role });
  const agentRow = (await call('platformAdmin', 'operations', 'agents.create', { name: ids.agent, config: { model: 'authz-model' } })) as {
    id: string;
  };
  await call('agent', 'coordination', 'agents.register', {
    name: ids.agent,
    version: '1.0.0',
    capabilities: ['gap_analysis', 'build', 'proposal'],
  });
  world = {
    run,
    ids,
    teamId: team.id,
    agentRowId: agentRow.id,
    call,
    next: () => ++n,
    freshUser: async () => {
      const id = `authz-fresh-${run}-${++n}`;
      const r = await callAs(await tokenFor({ kind: 'user', id, roles: [] }, 600), 'operations', 'users.me', {});
      if (r.status !== 200) throw new Error(`fresh user ${id}: ${r.status}`);
      return id;
    },
  };
}, 180_000);

afterAll(async () => {
  await system?.stop();
});

/** Whether a result matches the table's outcome; a reason when not. */
function judge(outcome: Outcome, r: CallResult, secret: string | undefined): string | null {
  const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const got = `${r.status} ${r.code ?? ''} ${text.slice(0, 300)}`;
  const ok2xx = r.status >= 200 && r.status < 300;
  switch (outcome) {
    case 'ok':
      if (!ok2xx) return `expected 2xx, got ${got}`;
      if (secret !== undefined && !text.includes(secret)) return `expected the answer to contain ${secret}, got ${got}`;
      return null;
    case 'HIDDEN':
      if (!ok2xx) return `expected 2xx without the owner's row, got ${got}`;
      if (secret !== undefined && text.includes(secret)) return `LEAK: the answer contains the owner's ${secret}: ${got}`;
      return null;
    case 'PASSES_AUTH':
      if (r.code === 'UNAUTHORIZED' || r.code === 'FORBIDDEN' || r.status >= 500) return `expected to get past authorization, got ${got}`;
      return null;
    default:
      return r.code === outcome ? null : `expected ${outcome}, got ${got}`;
  }
}

describe('authorization matrix', () => {
  it('every procedure is on the REST surface too (subscriptions, tRPC over SSE, are not)', () => {
    expect(procedures.filter((p) => !p.rest && p.type !== 'subscription').map((p) => `${p.service}:${p.path}`)).toEqual([]);
    expect(procedures.filter((p) => p.rest && p.type === 'subscription').map((p) => `${p.service}:${p.path}`)).toEqual([]);
  });

  it('lists every procedure of every service, and nothing else', () => {
    const keys = procedures.map((p) => `${p.service}:${p.path}`).sort();
    const table = Object.keys(AUTHZ_MATRIX).sort();
    expect({ missingFromTable: keys.filter((k) => !table.includes(k)), notAProcedure: table.filter((k) => !keys.includes(k)) }).toEqual({
      missingFromTable: [],
      notAProcedure: [],
    });
  });

  it('gives every caller exactly what the table says', { timeout: 900_000 }, async () => {
    const failures: string[] = [];
    let checks = 0;
    let allowed = 0;
    let denied = 0;
    let rules = 0;
    let coarseRows = 0;
    for (const p of procedures as ProcedureInfo[]) {
      const key = `${p.service}:${p.path}`;
      const entry = AUTHZ_MATRIX[key];
      if (!entry) continue; // reported by the test above
      if (entry.coarse) coarseRows++;
      for (const rule of entry.rules) {
        rules++;
        for (const [caller, outcome] of Object.entries(rule.expect) as Array<[Caller, Outcome]>) {
          // The same rule over both surfaces: tRPC (/trpc) and REST (/api), each with a fresh fixture.
          // A subscription is opened over /trpc (server-sent events) and read up to its first event or refusal.
          for (const transport of p.type === 'subscription' ? (['trpc'] as const) : (['trpc', 'api'] as const)) {
            const where = `${key}${rule.label ? ` [${rule.label}]` : ''} as ${caller} over /${transport}`;
            checks++;
            if (outcome === 'ok' || outcome === 'HIDDEN' || outcome === 'PASSES_AUTH') allowed++;
            else denied++;
            try {
              const built = await rule.build(world, caller);
              const input =
                built.input === SAMPLE_INPUT ? fc.sample(validInputs(p.input).map(clampWaits), { numRuns: 1, seed: 7 })[0] : built.input;
              const token = caller === 'anonymous' ? null : tokens[caller];
              const r = transport === 'trpc' ? await callProcedure(ports, p, input, token) : await callRest(ports, p, input, token);
              const why = judge(outcome, r, built.secret);
              // tasks.delete removes a task the fixtures made: the RLS check at the end counts only rows that still exist.
              if (key === 'operations:tasks.delete' && r.status >= 200 && r.status < 300) {
                const gone = (input as { id: string }).id;
                secretIds.tasks.splice(0, secretIds.tasks.length, ...secretIds.tasks.filter((id) => id !== gone));
              }
              if (why) failures.push(`${where}: ${why}`);
            } catch (err) {
              failures.push(`${where}: fixture failed: ${err instanceof Error ? err.message : String(err)}`);
            }
          }
        }
      }
    }
    const callers = new Set(Object.values(AUTHZ_MATRIX).flatMap((e) => e.rules.flatMap((r) => Object.keys(r.expect))));
    console.log(
      `authorization matrix: ${procedures.length} procedures (${rules} rules, ${coarseRows} coarse) × up to ${callers.size} callers = ${checks} checks ` +
        `(${allowed} allowed, ${denied} denied); ${failures.length} failures`,
    );
    expect(failures).toEqual([]);
  });

  for (const scenario of crossUserScenarios) {
    it(`cross-user: ${scenario.name}`, { timeout: 60_000 }, async () => {
      await scenario.run({ ownerId: ids.user, secretIds });
    });
  }
});
