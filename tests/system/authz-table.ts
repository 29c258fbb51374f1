import type { ServiceName } from '@platform/testkit';

/**
 * The authorization matrix: for every procedure of every service (`'<service>:<path>'`), which
 * callers may call it and what a refusal looks like. authz-matrix.e2e.test.ts walks it against the
 * running services and fails on any procedure missing here.
 *
 * Callers (one principal each, made fresh per run):
 * - anonymous: no token — always UNAUTHORIZED (added to every rule).
 * - user: owns the resource the rule builds (and is the creator/first owner of the fixture team).
 * - otherUser: a different user sharing no team with `user`.
 * - teamOwner / teamAdmin / teamMember / teamViewer: members of `user`'s team with that role
 *   (operations' team role names); only in rules where the procedure is team-scoped.
 * - agent: an agent principal (also registered in operations' agent registry and in coordination).
 * - otherAgent: another agent principal, holding none of the fixtures' jobs; only in coordination rules.
 * - service: a service principal.
 * - platformAdmin: a user with the token role `admin` (operations gives it extra rights); only in
 *   operations rules.
 *
 * Outcomes:
 * - 'ok': a 2xx answer; with a `secret` (the fixture's id) the answer must contain it.
 * - 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND': refused with that tRPC code (NOT_FOUND where the
 *   service hides another user's rows).
 * - 'HIDDEN': a 2xx answer that does not contain the secret (lists and searches filter instead of refusing).
 * - 'PASSES_AUTH': coarse — neither UNAUTHORIZED nor FORBIDDEN nor a 5xx (the domain may still
 *   answer NOT_FOUND/CONFLICT/BAD_REQUEST for the sample input). Used where no fixture is written yet.
 */
export type Caller =
  | 'anonymous'
  | 'user'
  | 'otherUser'
  | 'teamOwner'
  | 'teamAdmin'
  | 'teamMember'
  | 'teamViewer'
  | 'agent'
  | 'otherAgent'
  | 'service'
  | 'platformAdmin';
export type Authed = Exclude<Caller, 'anonymous'>;
export type Outcome = 'ok' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'HIDDEN' | 'PASSES_AUTH';

export const TEAM_ROLES = { teamOwner: 'owner', teamAdmin: 'admin', teamMember: 'member', teamViewer: 'viewer' } as const;

/** What a rule's builder gets: the principals, a way to call as one of them, the fixture team. */
export interface World {
  run: string;
  ids: Record<Authed, string>;
  teamId: string;
  /** operations' agent registry row for the `agent` principal (its name is the agent's id). */
  agentRowId: string;
  /** Calls as `who` and returns `result.data`; throws on anything but 2xx. */
  call(who: Authed, service: ServiceName, path: string, input: unknown): Promise<unknown>;
  /** A new user principal that has used the platform (so it can be invited). */
  freshUser(): Promise<string>;
  /** A counter for unique names. */
  next(): number;
}

export interface Built {
  input: unknown;
  /** A string (usually the fixture's id) that an 'ok' answer must contain and a 'HIDDEN' one must not. */
  secret?: string;
}

export interface Rule {
  label: string;
  expect: Partial<Record<Caller, Outcome>>;
  /** Builds a valid input for one call as `caller`, first creating what it needs as its owner. */
  build: (w: World, caller: Caller) => Promise<Built>;
}

export interface Entry {
  rules: Rule[];
  /** True when the row only checks "not refused for identity" (PASSES_AUTH) for allowed callers. */
  coarse?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Expectation helpers
// ---------------------------------------------------------------------------------------------------

const base = (o: Partial<Record<Caller, Outcome>>): Partial<Record<Caller, Outcome>> => ({ anonymous: 'UNAUTHORIZED', ...o });

/** Any authenticated principal may call (operations: also platform admins). */
const anyOps = (o: Outcome = 'ok') => base({ user: o, otherUser: o, agent: o, service: o, platformAdmin: o });
/** The owner's personal row: everyone else is told it does not exist. */
const ownedOps = (refusal: Outcome = 'NOT_FOUND', overrides: Partial<Record<Caller, Outcome>> = {}) =>
  base({ user: 'ok', otherUser: refusal, agent: refusal, service: refusal, platformAdmin: refusal, ...overrides });
/** A team-shared row: outsiders get `outsider`, team members by role. */
const teamOps = (
  roles: { owner: Outcome; admin: Outcome; member: Outcome; viewer: Outcome },
  user: Outcome,
  outsider: Outcome,
  overrides: Partial<Record<Caller, Outcome>> = {},
) =>
  base({
    user,
    teamOwner: roles.owner,
    teamAdmin: roles.admin,
    teamMember: roles.member,
    teamViewer: roles.viewer,
    otherUser: outsider,
    agent: outsider,
    service: outsider,
    platformAdmin: outsider,
    ...overrides,
  });
const READ = { owner: 'ok', admin: 'ok', member: 'ok', viewer: 'ok' } as const;
const CHANGE = { owner: 'ok', admin: 'ok', member: 'ok', viewer: 'FORBIDDEN' } as const;
const MANAGE = { owner: 'ok', admin: 'ok', member: 'FORBIDDEN', viewer: 'FORBIDDEN' } as const;
/** Only the row's own owner: every team role sees it but is refused. */
const OWNER_ONLY = { owner: 'FORBIDDEN', admin: 'FORBIDDEN', member: 'FORBIDDEN', viewer: 'FORBIDDEN' } as const;

/** Coordination and knowledge have no platform-admin column. */
const anyAuthed = (o: Outcome = 'ok') => base({ user: o, otherUser: o, agent: o, otherAgent: o, service: o, platformAdmin: o });
/** Agent procedures on `agent`'s own name or job: users, services and admins FORBIDDEN; another agent `other`. */
const agentsOnly = (other: Outcome = 'FORBIDDEN') =>
  base({ user: 'FORBIDDEN', otherUser: 'FORBIDDEN', agent: 'ok', otherAgent: other, service: 'FORBIDDEN', platformAdmin: 'FORBIDDEN' });

const rule = (label: string, expect: Partial<Record<Caller, Outcome>>, build: Rule['build']): Rule => ({ label, expect, build });
const one = (expect: Partial<Record<Caller, Outcome>>, build: Rule['build']): Entry => ({ rules: [rule('', expect, build)] });
const fixed = (input: unknown) => async (): Promise<Built> => ({ input });

// ---------------------------------------------------------------------------------------------------
// Fixture builders (operations)
// ---------------------------------------------------------------------------------------------------

const O = 'operations' as const;
const C = 'coordination' as const;
const K = 'knowledge' as const;

const personalTask = async (w: World, title = 'authz task') =>
  (await w.call('user', O, 'tasks.create', { title: `${title} ${w.run}-${w.next()}` })) as { id: string };
const teamTask = async (w: World) =>
  (await w.call('user', O, 'tasks.create', { title: `authz team task ${w.run}-${w.next()}`, teamId: w.teamId })) as { id: string };
const session = async (w: World) =>
  (await w.call('user', O, 'sessions.create', { channel: 'web', title: `authz ${w.run}` })) as { id: string };
const conversation = async (w: World) => (await w.call('user', O, 'conversations.create', { title: `authz ${w.run}` })) as { id: string };
const word = (w: World) => `authzword${w.run.replace(/[^a-z0-9]/gi, '')}`;
const memory = async (w: World, who: Authed = 'user', extra: object = {}) =>
  (await w.call(who, O, 'memories.create', { content: `memory ${word(w)} ${w.next()}`, type: 'semantic', ...extra })) as { id: string };
const approval = async (w: World, teamId?: string) =>
  (await w.call('user', O, 'approvals.request', {
    subjectKind: 'other',
    subjectId: `authz-${w.run}-${w.next()}`,
    ...(teamId ? { teamId } : {}),
  })) as { id: string };
const invitee = async (w: World) => {
  const id = await w.freshUser();
  await w.call('user', O, 'teams.invite', { teamId: w.teamId, userId: id, role: 'viewer' });
  return id;
};
const saga = async (w: World) =>
  (await w.call('user', O, 'sagas.start', {
    sagaType: 'team_onboarding',
    payload: { teamName: `authz-wf-${w.run}-${w.next()}` },
    idempotencyKey: `authz-${w.run}-${w.next()}`,
  })) as { id: string };

const operations: Record<string, Entry> = {
  // users: every principal has (only) its own profile
  // one's own profile, made once: the second call of a cell (the other transport), and the service
  // principal (`operations` in every run: a service vouches only for itself), get CONFLICT, not a refusal
  'users.create': one(anyOps('PASSES_AUTH'), async (w, c) => ({
    input: { email: `${c.toLowerCase()}-${w.run}@authz.test`, name: `authz ${c}` },
  })),
  'users.me': one(anyOps(), fixed({})),
  'users.update': one(anyOps(), fixed({ name: 'authz renamed' })),

  // teams: members read, owners/admins manage (admins only member/viewer), outsiders see no team
  'teams.create': one(anyOps(), async (w, c) => ({ input: { name: `authz-${w.run}-${c}-${w.next()}` } })),
  'teams.get': one(teamOps(READ, 'ok', 'NOT_FOUND'), async (w) => ({ input: { id: w.teamId }, secret: w.teamId })),
  'teams.list': one(teamOps(READ, 'ok', 'HIDDEN'), async (w) => ({ input: {}, secret: w.teamId })),
  'teams.invite': one(teamOps(MANAGE, 'ok', 'NOT_FOUND'), async (w) => ({
    input: { teamId: w.teamId, userId: await w.freshUser(), role: 'viewer' },
  })),
  'teams.setRole': one(teamOps(MANAGE, 'ok', 'NOT_FOUND'), async (w) => ({
    input: { teamId: w.teamId, userId: await invitee(w), role: 'member' },
  })),
  'teams.removeMember': one(teamOps(MANAGE, 'ok', 'NOT_FOUND'), async (w) => ({ input: { teamId: w.teamId, userId: await invitee(w) } })),

  // sessions: personal
  'sessions.create': one(anyOps(), fixed({ channel: 'web' })),
  'sessions.get': one(ownedOps(), async (w) => {
    const s = await session(w);
    return { input: { id: s.id }, secret: s.id };
  }),
  'sessions.list': one(ownedOps('HIDDEN'), async (w) => {
    const s = await session(w);
    return { input: {}, secret: s.id };
  }),
  'sessions.end': one(ownedOps(), async (w) => ({ input: { id: (await session(w)).id } })),

  // tasks: personal rows for the owner; team rows by role (viewer reads, member+ changes)
  'tasks.create': {
    rules: [
      rule('personal', anyOps(), async (w) => ({ input: { title: `authz ${w.run}`, subtasks: [{ title: 'sub' }] } })),
      rule('into a team', teamOps(CHANGE, 'ok', 'FORBIDDEN'), async (w) => ({ input: { title: `authz team ${w.run}`, teamId: w.teamId } })),
      rule("into another user's session", ownedOps(), async (w) => ({ input: { title: 'hijack', sessionId: (await session(w)).id } })),
    ],
  },
  'tasks.get': {
    rules: [
      rule('personal', ownedOps(), async (w) => {
        const t = await personalTask(w);
        return { input: { id: t.id }, secret: t.id };
      }),
      rule('team', teamOps(READ, 'ok', 'NOT_FOUND'), async (w) => {
        const t = await teamTask(w);
        return { input: { id: t.id }, secret: t.id };
      }),
    ],
  },
  'tasks.list': {
    rules: [
      rule('personal', ownedOps('HIDDEN'), async (w) => {
        const t = await personalTask(w);
        return { input: { ownerId: w.ids.user }, secret: t.id };
      }),
      rule('team', teamOps(READ, 'ok', 'HIDDEN'), async (w) => {
        const t = await teamTask(w);
        return { input: { teamId: w.teamId }, secret: t.id };
      }),
    ],
  },
  'tasks.updateStatus': {
    rules: [
      rule('personal', ownedOps(), async (w) => ({ input: { id: (await personalTask(w)).id, status: 'in_progress' } })),
      rule('team', teamOps(CHANGE, 'ok', 'NOT_FOUND'), async (w) => ({ input: { id: (await teamTask(w)).id, status: 'in_progress' } })),
    ],
  },
  'tasks.move': {
    rules: [
      rule('personal', ownedOps(), async (w) => ({ input: { id: (await personalTask(w)).id, parentId: (await personalTask(w)).id } })),
      rule('team', teamOps(CHANGE, 'ok', 'NOT_FOUND'), async (w) => ({
        input: { id: (await teamTask(w)).id, parentId: (await teamTask(w)).id },
      })),
    ],
  },
  // edit: whoever may change the status (owner, team member+); viewers see but may not
  'tasks.edit': {
    rules: [
      rule('personal', ownedOps(), async (w) => ({
        input: { id: (await personalTask(w)).id, title: 'authz renamed', dueAt: '2030-01-01T00:00:00Z' },
      })),
      rule('team', teamOps(CHANGE, 'ok', 'NOT_FOUND'), async (w) => ({ input: { id: (await teamTask(w)).id, priority: 'P0' } })),
    ],
  },
  // delete: the task's owner only; every team role (even the team's owner) sees it but is refused
  'tasks.delete': {
    rules: [
      rule('personal', ownedOps(), async (w) => {
        const t = (await w.call('user', O, 'tasks.create', {
          title: `authz doomed ${w.run}-${w.next()}`,
          subtasks: [{ title: 'sub' }],
        })) as { id: string };
        return { input: { id: t.id }, secret: t.id };
      }),
      rule('team', teamOps(OWNER_ONLY, 'ok', 'NOT_FOUND'), async (w) => ({ input: { id: (await teamTask(w)).id } })),
    ],
  },

  // approvals: requester and team see; team owners/admins or platform admins decide, never the requester
  'approvals.request': {
    rules: [
      rule('personal subject', anyOps(), async (w, c) => ({
        input: { subjectKind: 'other', subjectId: `authz-${w.run}-${c}-${w.next()}` },
      })),
      rule('for a team', teamOps(READ, 'ok', 'FORBIDDEN'), async (w, c) => ({
        input: { subjectKind: 'other', subjectId: `authz-${w.run}-${c}-${w.next()}`, teamId: w.teamId },
      })),
      rule("about another user's task", ownedOps(), async (w) => ({
        input: { subjectKind: 'task', subjectId: (await personalTask(w)).id },
      })),
      // a stranger's pending request on the same subject neither blocks nor reveals itself; the
      // requester's own second request is a CONFLICT (PASSES_AUTH)
      rule("subject with the user's pending request", { ...anyOps('ok'), user: 'PASSES_AUTH' }, async (w, c) => {
        const subjectId = `authz-${w.run}-${c}-${w.next()}`;
        await w.call('user', O, 'approvals.request', { subjectKind: 'other', subjectId });
        return { input: { subjectKind: 'other', subjectId } };
      }),
    ],
  },
  'approvals.get': {
    rules: [
      rule('personal', ownedOps('NOT_FOUND', { platformAdmin: 'ok' }), async (w) => {
        const a = await approval(w);
        return { input: { id: a.id }, secret: a.id };
      }),
      rule('team', teamOps(READ, 'ok', 'NOT_FOUND', { platformAdmin: 'ok' }), async (w) => {
        const a = await approval(w, w.teamId);
        return { input: { id: a.id }, secret: a.id };
      }),
    ],
  },
  'approvals.list': {
    rules: [
      rule('personal', ownedOps('HIDDEN', { platformAdmin: 'ok' }), async (w) => {
        const a = await approval(w);
        return { input: { subjectKind: 'other' }, secret: a.id };
      }),
      rule('team', teamOps(READ, 'ok', 'HIDDEN', { platformAdmin: 'ok' }), async (w) => {
        const a = await approval(w, w.teamId);
        return { input: { teamId: w.teamId }, secret: a.id };
      }),
    ],
  },
  'approvals.decide': {
    rules: [
      // no team: only platform admins decide; the requester never
      rule('personal', ownedOps('NOT_FOUND', { user: 'FORBIDDEN', platformAdmin: 'ok' }), async (w) => ({
        input: { id: (await approval(w)).id, decision: 'approved' },
      })),
      // team: owners/admins decide, members/viewers may not, the requester (here the team's creator) never
      rule('team', teamOps(MANAGE, 'FORBIDDEN', 'NOT_FOUND', { platformAdmin: 'ok' }), async (w) => ({
        input: { id: (await approval(w, w.teamId)).id, decision: 'rejected' },
      })),
    ],
  },

  // conversations and messages: personal
  'conversations.create': one(anyOps(), fixed({ title: 'authz' })),
  'conversations.get': one(ownedOps(), async (w) => {
    const c = await conversation(w);
    return { input: { id: c.id }, secret: c.id };
  }),
  'conversations.list': one(ownedOps('HIDDEN'), async (w) => {
    const c = await conversation(w);
    return { input: {}, secret: c.id };
  }),
  'conversations.setStatus': one(ownedOps(), async (w) => ({ input: { id: (await conversation(w)).id, status: 'archived' } })),
  'messages.append': one(ownedOps(), async (w) => ({
    input: { conversationId: (await conversation(w)).id, role: 'user', content: 'injected' },
  })),
  'messages.list': one(ownedOps(), async (w) => {
    const c = await conversation(w);
    const m = (await w.call('user', O, 'messages.append', { conversationId: c.id, role: 'user', content: `hello ${word(w)}` })) as {
      id: string;
    };
    return { input: { conversationId: c.id }, secret: m.id };
  }),
  'messages.search': one(ownedOps('HIDDEN'), async (w) => {
    const c = await conversation(w);
    const m = (await w.call('user', O, 'messages.append', { conversationId: c.id, role: 'user', content: `secret ${word(w)}` })) as {
      id: string;
    };
    return { input: { query: word(w) }, secret: m.id };
  }),

  // the agent registry: readable by all, managed by platform admins
  'agents.create': one(anyOps('FORBIDDEN'), async (w, c) => ({
    input: { name: `authz-agent-${w.run}-${c}-${w.next()}`, config: { model: 'test-model' } },
  })),
  'agents.get': one(anyOps(), async (w) => ({ input: { id: w.agentRowId }, secret: w.agentRowId })),
  // narrowed to the fixture's name: other runs' and the fuzzer's agents may fill the first page
  'agents.list': one(anyOps(), async (w) => ({ input: { namePrefix: w.ids.agent }, secret: w.agentRowId })),
  'agents.update': one(anyOps('FORBIDDEN'), async (w) => ({ input: { id: w.agentRowId, description: `updated ${w.next()}` } })),
  // (platformAdmin overrides below)

  // memories: the owner's own; an agent's memories for that agent and platform admins
  'memories.create': {
    rules: [
      rule('own', anyOps(), async (w) => ({ input: { content: `authz ${w.run}`, type: 'episodic' } })),
      rule(
        'for an agent',
        base({
          user: 'FORBIDDEN',
          otherUser: 'FORBIDDEN',
          agent: 'ok',
          otherAgent: 'FORBIDDEN',
          service: 'FORBIDDEN',
          platformAdmin: 'ok',
        }),
        async (w) => ({
          input: { content: `agent memory ${w.run}`, type: 'procedural', agentId: w.agentRowId },
        }),
      ),
    ],
  },
  'memories.get': {
    rules: [
      rule("a user's", ownedOps(), async (w) => {
        const m = await memory(w);
        return { input: { id: m.id }, secret: m.id };
      }),
      rule(
        "an agent's",
        base({
          user: 'NOT_FOUND',
          otherUser: 'NOT_FOUND',
          agent: 'ok',
          otherAgent: 'NOT_FOUND',
          service: 'NOT_FOUND',
          platformAdmin: 'ok',
        }),
        async (w) => {
          const m = await memory(w, 'agent', { agentId: w.agentRowId });
          return { input: { id: m.id }, secret: m.id };
        },
      ),
    ],
  },
  'memories.update': one(ownedOps(), async (w) => ({ input: { id: (await memory(w)).id, content: 'overwritten' } })),
  'memories.tag': one(ownedOps(), async (w) => ({ input: { id: (await memory(w)).id, add: ['authz'] } })),
  'memories.search': one(ownedOps('HIDDEN'), async (w) => {
    const m = await memory(w);
    return { input: { query: word(w), limit: 100 }, secret: m.id };
  }),
  'memories.list': one(ownedOps('HIDDEN'), async (w) => {
    const m = await memory(w);
    return { input: {}, secret: m.id };
  }),
  'memories.expire': one(ownedOps(), async (w) => ({ input: { id: (await memory(w)).id } })),
  // another principal's memory (and an unknown id) is NOT_FOUND, not an empty history
  'memories.history': one(ownedOps(), async (w) => {
    const m = await memory(w);
    return { input: { id: m.id }, secret: m.id };
  }),

  // the event store: services and platform admins only
  'events.append': one(
    base({ user: 'FORBIDDEN', otherUser: 'FORBIDDEN', agent: 'FORBIDDEN', service: 'ok', platformAdmin: 'ok' }),
    async (w) => ({
      input: {
        aggregateId: `authz-${w.run}-${w.next()}`,
        aggregateType: 'authz',
        expectedVersion: 'any',
        events: [{ type: 'Probed', data: {} }],
      },
    }),
  ),
  'events.readStream': one(
    base({ user: 'FORBIDDEN', otherUser: 'FORBIDDEN', agent: 'FORBIDDEN', service: 'ok', platformAdmin: 'ok' }),
    async (w) => ({ input: { aggregateId: `authz-${w.run}` } }),
  ),
  'events.readAll': one(
    base({ user: 'FORBIDDEN', otherUser: 'FORBIDDEN', agent: 'FORBIDDEN', service: 'ok', platformAdmin: 'ok' }),
    fixed({ fromPosition: 0, limit: 1 }),
  ),

  // sagas: the starter's own
  'sagas.start': one(anyOps(), async (w, c) => ({
    input: { sagaType: 'team_onboarding', payload: { teamName: `authz-wf-${w.run}-${c}-${w.next()}` } },
  })),
  'sagas.get': one(ownedOps(), async (w) => {
    const s = await saga(w);
    return { input: { id: s.id }, secret: s.id };
  }),
  'sagas.list': one(ownedOps('HIDDEN'), async (w) => {
    const s = await saga(w);
    return { input: {}, secret: s.id };
  }),
};
operations['agents.create']!.rules[0]!.expect.platformAdmin = 'ok';
operations['agents.update']!.rules[0]!.expect.platformAdmin = 'ok';

// ---------------------------------------------------------------------------------------------------
// coordination: a job or schedule belongs to its creator (`user` in the fixtures) and, when shared,
// to `user`'s team. The owner, members of that team (any role), services and platform admins read,
// cancel, retry and delete it; another user is told NOT_FOUND (lists leave it out: HIDDEN). An agent
// sees a job only while it holds it (`agent` holds the fixture, `otherAgent` does not). Agents take
// work (agentProcedure: FORBIDDEN for users and services); users and services make and cancel it
// (callerProcedure: FORBIDDEN for agents). A job or schedule aimed at a task needs a caller
// operations lets change that task (asked as the caller): NOT_FOUND when it cannot see the task,
// FORBIDDEN when it can but may not change it (a team viewer).
// ---------------------------------------------------------------------------------------------------

const trigger = async (w: World, jobType = 'proposal', extra: object = {}) =>
  (await w.call('user', C, 'jobs.trigger', { jobType, params: {}, idempotencyKey: `authz-${w.run}-${w.next()}`, ...extra })) as {
    jobId: string;
  };
/** A job of `user`'s, personal or shared with `user`'s team. */
const ownedJob = (w: World, team: boolean) => trigger(w, 'proposal', team ? { teamId: w.teamId } : {});
/** A job running for the `agent` principal (`user`'s, like every fixture). */
/** The matrix runs for minutes: the agent pings before it claims, as a real agent would, so it is online. */
const online = (w: World) => w.call('agent', C, 'agents.ping', { name: w.ids.agent });
const heldJob = async (w: World) => {
  await online(w);
  const { jobId } = await trigger(w, 'gap_analysis');
  // The queue may still hold gap_analysis jobs of earlier rows or runs (a long-lived local NATS):
  // finish whatever comes first until the agent holds the job just triggered (user's own).
  // A claim may also come back empty while the new job is still on its way to the queue (the outbox
  // relay publishes it): ask again, a bounded number of times.
  for (let claims = 0, empty = 0; ;) {
    const claimed = (await w.call('agent', C, 'jobs.claim', { capabilities: ['gap_analysis'], waitMs: 3_000 })) as {
      job: { jobId: string } | null;
    };
    if (!claimed.job) {
      if (++empty >= 5) throw new Error(`the agent claimed nothing in ${empty} tries, not the gap_analysis job ${jobId}`);
      continue;
    }
    if (claimed.job.jobId === jobId) return jobId;
    if (++claims > 50) throw new Error(`the agent claimed ${claims} other jobs, not the gap_analysis job ${jobId}`);
    await w.call('agent', C, 'jobs.complete', { jobId: claimed.job.jobId, result: { drained: true } });
  }
};
/** For agentProcedure rows: a held job when the caller is that agent; otherwise any job (refused before it matters). */
/** A job held by the agent, read by its id: its owner, the agent, services and admins see it; nobody else. */
const heldByAgentJobRule = () =>
  rule(
    'held by agent',
    base({
      user: 'ok',
      otherUser: 'NOT_FOUND',
      teamMember: 'NOT_FOUND',
      agent: 'ok',
      otherAgent: 'NOT_FOUND',
      service: 'ok',
      platformAdmin: 'ok',
    }),
    async (w) => {
      const jobId = await heldJob(w);
      return { input: { jobId }, secret: jobId };
    },
  );
const runningJob = async (w: World, c: Caller) => (c === 'agent' ? heldJob(w) : (await trigger(w, 'gap_analysis')).jobId);
/** A dead job of `user`'s (proposal: two attempts, each taken and failed by `agent`), for jobs.retry. */
const deadJob = async (w: World, team: boolean) => {
  await online(w);
  // Earlier rows leave proposal jobs queued (already used as fixtures): finish them first, so the
  // agent's claims below can only take the job this fixture kills.
  for (;;) {
    const stale = (await w.call('agent', C, 'jobs.claim', { capabilities: ['proposal'], waitMs: 0 })) as { job: { jobId: string } | null };
    if (!stale.job) break;
    await w.call('agent', C, 'jobs.complete', { jobId: stale.job.jobId, result: { drained: true } });
  }
  const { jobId } = await trigger(w, 'proposal', { priority: 'high', ...(team ? { teamId: w.teamId } : {}) });
  for (let attempt = 1, claims = 0; attempt <= 2; claims++) {
    const claimed = (await w.call('agent', C, 'jobs.claim', { capabilities: ['proposal'], waitMs: 5_000 })) as {
      job: { jobId: string } | null;
    };
    if (!claimed.job || claims > 20) throw new Error(`the agent claimed ${claimed.job?.jobId ?? 'nothing'}, not the job to kill`);
    if (claimed.job.jobId !== jobId) {
      // another row's job came back meanwhile (a retry, a release): finish it and claim again
      await w.call('agent', C, 'jobs.complete', { jobId: claimed.job.jobId, result: { drained: true } });
      continue;
    }
    await w.call('agent', C, 'jobs.fail', { jobId, error: `authz probe ${attempt}` });
    attempt++;
  }
  return jobId;
};
const schedule = async (w: World, team: boolean) =>
  (await w.call('user', C, 'schedules.create', { cron: '0 0 1 1 *', jobType: 'proposal', ...(team ? { teamId: w.teamId } : {}) })) as {
    scheduleId: string;
  };

/** `user`'s personal job or schedule: owner, services, admins; everyone else `refusal` (agents: `agents`). */
const ownedC = (refusal: Outcome, agents: Outcome = refusal) =>
  base({ user: 'ok', otherUser: refusal, teamMember: refusal, agent: agents, otherAgent: agents, service: 'ok', platformAdmin: 'ok' });
/** One shared with `user`'s team: every member (any role) too. */
const teamC = (refusal: Outcome, agents: Outcome = refusal) =>
  base({ ...ownedC(refusal, agents), teamOwner: 'ok', teamAdmin: 'ok', teamViewer: 'ok', teamMember: 'ok' });
/** Making work for oneself: users and services, not agents. */
const makersC = () =>
  base({ user: 'ok', otherUser: 'ok', agent: 'FORBIDDEN', otherAgent: 'FORBIDDEN', service: 'ok', platformAdmin: 'ok' });
/** Making work shared with `user`'s team: its members (any role), services and admins; not outsiders. */
const teamMakersC = () =>
  base({ ...makersC(), otherUser: 'FORBIDDEN', teamOwner: 'ok', teamAdmin: 'ok', teamMember: 'ok', teamViewer: 'ok' });
/** Aiming work at `user`'s personal task: operations' answer for the caller (services and admins do not see a user's task there). */
const onTaskC = () =>
  base({
    user: 'ok',
    otherUser: 'NOT_FOUND',
    teamMember: 'NOT_FOUND',
    agent: 'FORBIDDEN',
    otherAgent: 'FORBIDDEN',
    service: 'NOT_FOUND',
    platformAdmin: 'NOT_FOUND',
  });
/** Aiming work at a task of `user`'s team: who may change it (a viewer sees it but may not). */
const onTeamTaskC = () => base({ ...onTaskC(), teamOwner: 'ok', teamAdmin: 'ok', teamMember: 'ok', teamViewer: 'FORBIDDEN' });
/** Per-job rules, personal and team. */
const ownedAndTeamC = (
  owned: Partial<Record<Caller, Outcome>>,
  team: Partial<Record<Caller, Outcome>>,
  build: (w: World, team: boolean) => Promise<Built>,
): Rule[] => [rule("the owner's", owned, (w) => build(w, false)), rule("the owner's team's", team, (w) => build(w, true))];

const coordination: Record<string, Entry> = {
  'agents.register': one(agentsOnly(), async (w) => ({
    input: { name: w.ids.agent, version: '1.0.0', capabilities: ['gap_analysis', 'build', 'proposal'] },
  })),
  'agents.ping': one(agentsOnly(), async (w) => ({ input: { name: w.ids.agent } })),
  'agents.list': one(anyAuthed(), async (w) => ({ input: {}, secret: w.ids.agent })),
  'agents.get': one(anyAuthed(), async (w) => ({ input: { name: w.ids.agent }, secret: w.ids.agent })),
  // Subscriptions (tRPC over SSE only; the matrix reads up to the first event or refusal): as the matching read.
  // The registry: whoever may list agents (the first event is some agent, so no secret is checked).
  'agents.onChange': one(anyAuthed(), fixed({})),
  // agents may only report themselves; users and services any agent
  'agents.reportStuck': one({ ...anyAuthed(), otherAgent: 'FORBIDDEN' }, async (w) => ({
    input: { name: w.ids.agent, reason: 'authz matrix probe' },
  })),
  // counts per queue only (no job ids or owners): anyone signed in, like the agent registry
  'queues.depths': one(anyAuthed(), fixed({})),
  'jobs.trigger': {
    rules: [
      rule('no target', makersC(), async (w, c) => ({
        input: { jobType: 'proposal', params: { topic: 'authz' }, idempotencyKey: `authz-${w.run}-${c}-${w.next()}` },
      })),
      rule("shared with user's team", teamMakersC(), async (w, c) => ({
        input: { jobType: 'proposal', teamId: w.teamId, idempotencyKey: `authz-${w.run}-${c}-${w.next()}` },
      })),
      // B triggers a build on A's task: refused (issue 12), so B's job can never mark A's task done
      rule("build on user's task", onTaskC(), async (w, c) => ({
        input: { jobType: 'build', targetId: (await personalTask(w)).id, idempotencyKey: `authz-${w.run}-${c}-${w.next()}` },
      })),
      rule("build on a task of user's team", onTeamTaskC(), async (w, c) => ({
        input: { jobType: 'build', targetId: (await teamTask(w)).id, idempotencyKey: `authz-${w.run}-${c}-${w.next()}` },
      })),
    ],
  },
  'jobs.get': {
    rules: [
      ...ownedAndTeamC(ownedC('NOT_FOUND'), teamC('NOT_FOUND'), async (w, team) => {
        const j = await ownedJob(w, team);
        return { input: { jobId: j.jobId }, secret: j.jobId };
      }),
      heldByAgentJobRule(),
    ],
  },
  // A job's status transitions: whoever jobs.get answers (the first event names the job).
  'jobs.onStatus': {
    rules: [
      ...ownedAndTeamC(ownedC('NOT_FOUND'), teamC('NOT_FOUND'), async (w, team) => {
        const j = await ownedJob(w, team);
        return { input: { jobId: j.jobId }, secret: j.jobId };
      }),
      heldByAgentJobRule(),
    ],
  },
  'jobs.list': {
    rules: [
      // a target of its own (kind none: no task) isolates the fixture, so 'ok' means it is on the page
      ...ownedAndTeamC(ownedC('HIDDEN'), teamC('HIDDEN'), async (w, team) => {
        const targetId = `authz-list-${w.run}-${w.next()}`;
        const j = await trigger(w, 'proposal', { targetKind: 'none', targetId, ...(team ? { teamId: w.teamId } : {}) });
        return { input: { targetId, limit: 5 }, secret: j.jobId };
      }),
      rule(
        'held by agent',
        base({
          user: 'ok',
          otherUser: 'HIDDEN',
          teamMember: 'HIDDEN',
          agent: 'ok',
          otherAgent: 'HIDDEN',
          service: 'ok',
          platformAdmin: 'ok',
        }),
        async (w) => {
          const jobId = await heldJob(w);
          return { input: { jobType: 'gap_analysis', status: 'running', limit: 200 }, secret: jobId };
        },
      ),
    ],
  },
  'jobs.cancel': {
    rules: ownedAndTeamC(ownedC('NOT_FOUND', 'FORBIDDEN'), teamC('NOT_FOUND', 'FORBIDDEN'), async (w, team) => ({
      input: { jobId: (await ownedJob(w, team)).jobId },
    })),
  },
  'jobs.retry': {
    rules: ownedAndTeamC(ownedC('NOT_FOUND', 'FORBIDDEN'), teamC('NOT_FOUND', 'FORBIDDEN'), async (w, team) => ({
      input: { jobId: await deadJob(w, team) },
    })),
  },
  // another agent claims for itself: past authorization (it never registered, so 412 offline)
  'jobs.claim': one(agentsOnly('PASSES_AUTH'), async (w) => {
    await online(w);
    return { input: { capabilities: ['build'], waitMs: 0 } };
  }),
  'jobs.progress': one(agentsOnly('NOT_FOUND'), async (w, c) => ({ input: { jobId: await runningJob(w, c), fraction: 0.5 } })),
  'jobs.complete': one(agentsOnly('NOT_FOUND'), async (w, c) => ({ input: { jobId: await runningJob(w, c), result: { ok: true } } })),
  'jobs.fail': one(agentsOnly('NOT_FOUND'), async (w, c) => ({ input: { jobId: await runningJob(w, c), error: 'authz probe' } })),
  'jobs.release': one(agentsOnly('NOT_FOUND'), async (w, c) => ({ input: { jobId: await runningJob(w, c) } })),
  'schedules.create': {
    rules: [
      rule('personal', makersC(), fixed({ cron: '0 0 1 1 *', jobType: 'proposal', params: {} })),
      rule("shared with user's team", teamMakersC(), async (w) => ({
        input: { cron: '0 0 1 1 *', jobType: 'proposal', teamId: w.teamId },
      })),
      rule("build on user's task", onTaskC(), async (w) => ({
        input: { cron: '0 0 1 1 *', jobType: 'build', targetId: (await personalTask(w)).id },
      })),
      rule("build on a task of user's team", onTeamTaskC(), async (w) => ({
        input: { cron: '0 0 1 1 *', jobType: 'build', targetId: (await teamTask(w)).id },
      })),
    ],
  },
  'schedules.list': {
    rules: ownedAndTeamC(ownedC('HIDDEN'), teamC('HIDDEN'), async (w, team) => ({
      input: {},
      secret: (await schedule(w, team)).scheduleId,
    })),
  },
  'schedules.delete': {
    rules: ownedAndTeamC(ownedC('NOT_FOUND', 'FORBIDDEN'), teamC('NOT_FOUND', 'FORBIDDEN'), async (w, team) => ({
      input: { scheduleId: (await schedule(w, team)).scheduleId },
    })),
  },

  // enrolment: operators (platform admins) and services enrol agents; the one-time token is the
  // credential for the exchange (no bearer token needed, a used one is refused); an agent refreshes
  // only its own token, and nothing here gives a user, service or admin token to anyone.
  'enrolment.create': one(
    base({
      user: 'FORBIDDEN',
      otherUser: 'FORBIDDEN',
      teamOwner: 'FORBIDDEN',
      agent: 'FORBIDDEN',
      otherAgent: 'FORBIDDEN',
      service: 'ok',
      platformAdmin: 'ok',
    }),
    async (w) => ({ input: { agentName: `authz-enrolled-${w.run}-${w.next()}` } }),
  ),
  'enrolment.exchange': {
    rules: [
      rule('a fresh enrolment token', { anonymous: 'ok', user: 'ok', agent: 'ok', service: 'ok', platformAdmin: 'ok' }, async (w) => {
        const name = `authz-enrolled-${w.run}-${w.next()}`;
        const { enrolmentToken } = (await w.call('platformAdmin', C, 'enrolment.create', { agentName: name })) as {
          enrolmentToken: string;
        };
        return { input: { enrolmentToken }, secret: name };
      }),
      rule(
        'a used enrolment token',
        { anonymous: 'UNAUTHORIZED', user: 'UNAUTHORIZED', agent: 'UNAUTHORIZED', service: 'UNAUTHORIZED', platformAdmin: 'UNAUTHORIZED' },
        async (w) => {
          const { enrolmentToken } = (await w.call('platformAdmin', C, 'enrolment.create', {
            agentName: `authz-enrolled-${w.run}-${w.next()}`,
          })) as { enrolmentToken: string };
          await w.call('service', C, 'enrolment.exchange', { enrolmentToken });
          return { input: { enrolmentToken } };
        },
      ),
    ],
  },
  'enrolment.refresh': one(
    base({ user: 'FORBIDDEN', otherUser: 'FORBIDDEN', agent: 'ok', otherAgent: 'ok', service: 'FORBIDDEN', platformAdmin: 'FORBIDDEN' }),
    fixed({}),
  ),
};

// ---------------------------------------------------------------------------------------------------
// knowledge: every block, link and run has an owner (its creator) and optionally a team.
// The owner, members of its team (any role: knowledge has no team roles), services and platform
// admins see and change it; another user, and an agent that did not create it, are told NOT_FOUND,
// and lists and searches leave it out (HIDDEN). Anyone authenticated may create their own records;
// sharing with a team needs membership (FORBIDDEN otherwise). Fixtures are owned by `user`.
// ---------------------------------------------------------------------------------------------------

/** The owner's record: services and platform admins see everything, everyone else is told nothing. */
const ownedK = (refusal: Outcome = 'NOT_FOUND') =>
  base({ user: 'ok', otherUser: refusal, agent: refusal, service: 'ok', platformAdmin: 'ok' });
/** A record of `user`'s team: every member sees and changes it; outsiders as for ownedK. */
const teamK = (refusal: Outcome = 'NOT_FOUND') =>
  base({ ...ownedK(refusal), teamOwner: 'ok', teamAdmin: 'ok', teamMember: 'ok', teamViewer: 'ok' });
/** Creating one's own record: anyone authenticated. */
const anyK = () => base({ user: 'ok', otherUser: 'ok', agent: 'ok', service: 'ok', platformAdmin: 'ok' });
/** Creating a record shared with `user`'s team: its members, services and admins; not outsiders. */
const teamCreateK = () => base({ ...teamK('FORBIDDEN') });

/** A word only this fixture's title contains (Lucene's standard analyzer keeps it one token). */
const kword = (w: World, n: number) => `kauthz${w.run.replace(/[^a-z0-9]/gi, '')}n${n}`;
/**
 * A unit vector in a direction of its own (seeded by the run and n), so the fixture is its own nearest
 * neighbour, also on a graph that keeps earlier runs' fixtures (a seed of n alone repeats their vectors).
 */
const kembedding = (w: World, n: number) => {
  let seed = 2166136261;
  for (const ch of `${w.run}:${n}`) seed = Math.imul(seed ^ ch.charCodeAt(0), 16777619) >>> 0;
  const v = Array.from({ length: 384 }, (_, i) => (Math.sin((i + 1) * ((seed % 100_000) + 1) * 12.9898) * 43758.5453) % 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
type KBlock = { id: string; version: number; title: string; sessionId: string };
const kblock = async (w: World, extra: object = {}): Promise<KBlock & { n: number }> => {
  const n = w.next();
  const b = (await w.call('user', K, 'blocks.create', {
    type: 'Decision',
    sessionId: `authz-${w.run}-${n}`,
    title: `authz block ${kword(w, n)}`,
    ...extra,
  })) as KBlock;
  return { ...b, n };
};
const teamBlock = (w: World, extra: object = {}) => kblock(w, { teamId: w.teamId, ...extra });
/** Two blocks of `user` (or of the team) linked source -SUPPORTS-> target. */
const klink = async (w: World, team = false) => {
  const extra = team ? { teamId: w.teamId } : {};
  const [a, b] = [await kblock(w, extra), await kblock(w, extra)];
  await w.call('user', K, 'links.create', { sourceId: a.id, targetId: b.id, type: 'SUPPORTS', ...extra });
  return { a, b, key: { sourceId: a.id, targetId: b.id, type: 'SUPPORTS' } };
};
/** A run of `user` (or of the team): root -> first, root -> second. */
const krun = async (w: World, team = false) => {
  const extra = team ? { teamId: w.teamId } : {};
  const { run } = (await w.call('user', K, 'runs.create', { name: `authz run ${w.next()}`, sessionId: `authz-${w.run}`, ...extra })) as {
    run: { id: string; rootStepId: string };
  };
  const { steps } = (await w.call('user', K, 'runs.addSteps', {
    runId: run.id,
    steps: [
      { parentId: run.rootStepId, name: 'first' },
      { parentId: run.rootStepId, name: 'second' },
    ],
  })) as {
    steps: Array<{ id: string }>;
  };
  return { run, first: steps[0]!.id, second: steps[1]!.id };
};
/** The same rule for the owner's own fixture and for one shared with the owner's team. */
const ownedAndTeam = (
  owned: Partial<Record<Caller, Outcome>>,
  team: Partial<Record<Caller, Outcome>>,
  build: (w: World, team: boolean) => Promise<Built>,
): Entry => ({
  rules: [rule("the owner's", owned, (w) => build(w, false)), rule("the owner's team's", team, (w) => build(w, true))],
});

const knowledge: Record<string, Entry> = {
  'blocks.create': ownedAndTeam(anyK(), teamCreateK(), async (w, team) => ({
    input: { type: 'Decision', sessionId: `authz-${w.run}`, title: 'authz decision', ...(team ? { teamId: w.teamId } : {}) },
  })),
  'blocks.createMany': ownedAndTeam(anyK(), teamCreateK(), async (w, team) => ({
    input: { blocks: [{ type: 'Risk', sessionId: `authz-${w.run}`, title: 'authz risk', ...(team ? { teamId: w.teamId } : {}) }] },
  })),
  'blocks.get': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { id: b.id }, secret: b.id };
  }),
  'blocks.update': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { id: b.id, expectedVersion: b.version, patch: { title: 'changed by the authz matrix' } }, secret: b.id };
  }),
  'blocks.supersede': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { id: b.id, replacement: { title: 'replaced by the authz matrix' } }, secret: b.id };
  }),
  'blocks.archive': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { id: b.id }, secret: b.id };
  }),
  'blocks.list': ownedAndTeam(ownedK('HIDDEN'), teamK('HIDDEN'), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { sessionId: b.sessionId }, secret: b.id };
  }),
  // links.create needs both endpoints visible: the endpoints are the owner's (or the team's)
  'links.create': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const extra = team ? { teamId: w.teamId } : {};
    const [a, b] = [await kblock(w, extra), await kblock(w, extra)];
    return { input: { sourceId: a.id, targetId: b.id, type: 'RELATES_TO' }, secret: b.id };
  }),
  'links.remove': ownedAndTeam(ownedK(), teamK(), async (w, team) => ({ input: (await klink(w, team)).key })),
  'links.list': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const l = await klink(w, team);
    return { input: { blockId: l.a.id }, secret: l.b.id };
  }),
  'links.neighbours': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const l = await klink(w, team);
    return { input: { blockId: l.a.id, depth: 1 }, secret: l.b.id };
  }),
  'links.shortestPath': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const l = await klink(w, team);
    return { input: { fromId: l.a.id, toId: l.b.id }, secret: l.b.id };
  }),
  'search.fullText': ownedAndTeam(ownedK('HIDDEN'), teamK('HIDDEN'), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { query: kword(w, b.n), limit: 10 }, secret: b.id };
  }),
  'search.vector': ownedAndTeam(ownedK('HIDDEN'), teamK('HIDDEN'), async (w, team) => {
    const n = w.next();
    const b = team ? await teamBlock(w, { embedding: kembedding(w, n) }) : await kblock(w, { embedding: kembedding(w, n) });
    return { input: { embedding: kembedding(w, n), limit: 5 }, secret: b.id };
  }),
  'search.hybrid': ownedAndTeam(ownedK('HIDDEN'), teamK('HIDDEN'), async (w, team) => {
    const b = team ? await teamBlock(w) : await kblock(w);
    return { input: { query: kword(w, b.n), limit: 10 }, secret: b.id };
  }),
  'runs.create': ownedAndTeam(anyK(), teamCreateK(), async (w, team) => ({
    input: { name: 'authz run', sessionId: `authz-${w.run}`, ...(team ? { teamId: w.teamId } : {}) },
  })),
  'runs.addSteps': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { runId: r.run.id, steps: [{ parentId: r.first, name: 'added by the authz matrix' }] }, secret: r.run.id };
  }),
  'runs.updateStep': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { stepId: r.first, status: 'running' }, secret: r.first };
  }),
  'runs.moveStep': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { stepId: r.second, parentId: r.first }, secret: r.second };
  }),
  'runs.tree': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { runId: r.run.id }, secret: r.second };
  }),
  'runs.pathToRoot': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { stepId: r.first }, secret: r.run.rootStepId };
  }),
  'runs.subtree': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { stepId: r.run.rootStepId }, secret: r.second };
  }),
  'runs.ancestors': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { stepId: r.first }, secret: r.run.rootStepId };
  }),
  'runs.descendants': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { stepId: r.run.rootStepId }, secret: r.second };
  }),
  'runs.list': ownedAndTeam(ownedK('HIDDEN'), teamK('HIDDEN'), async (w, team) => {
    const name = `authz listed run ${w.run}-${w.next()}`;
    const { run } = (await w.call('user', K, 'runs.create', {
      name,
      sessionId: `authz-${w.run}`,
      ...(team ? { teamId: w.teamId } : {}),
    })) as { run: { id: string } };
    return { input: { name }, secret: run.id };
  }),
  'runs.replay': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { runId: r.run.id }, secret: r.second };
  }),
  // A subscription (tRPC over SSE only): whoever may replay the run; its first event is the root's change, naming the run.
  'runs.onChange': ownedAndTeam(ownedK(), teamK(), async (w, team) => {
    const r = await krun(w, team);
    return { input: { runId: r.run.id }, secret: r.run.id };
  }),
};

/** Marker input: the test replaces it with a sample of the procedure's own schema. */
export const SAMPLE_INPUT = Symbol('sample input');

const prefixed = (service: ServiceName, entries: Record<string, Entry>) =>
  Object.fromEntries(Object.entries(entries).map(([k, v]) => [`${service}:${k}`, v]));

const TABLE: Record<string, Entry> = {
  ...prefixed('knowledge', knowledge),
  ...prefixed('operations', operations),
  ...prefixed('coordination', coordination),
};

/**
 * Every rule covers every kind of caller the issue names. Two columns follow from the others by a
 * rule of the product, so they are filled in here rather than repeated in each row:
 * - `teamMember` in a rule whose fixture is NOT shared with a team (no team column): a member of the
 *   owner's team has no more right to the owner's personal records than any other user → `otherUser`'s outcome;
 * - `otherAgent` where the row says nothing of it: in knowledge and operations an agent is a principal
 *   acting for itself like any other, so a second agent gets what `agent` gets (rows where `agent`
 *   acts on its own name, job or memories say `otherAgent` explicitly).
 */
function complete(table: Record<string, Entry>): Record<string, Entry> {
  for (const entry of Object.values(table)) {
    for (const r of entry.rules) {
      const hasTeam = 'teamOwner' in r.expect || 'teamAdmin' in r.expect || 'teamViewer' in r.expect || 'teamMember' in r.expect;
      if (!hasTeam && r.expect.otherUser !== undefined) r.expect.teamMember = r.expect.otherUser;
      if (r.expect.otherAgent === undefined && r.expect.agent !== undefined) r.expect.otherAgent = r.expect.agent;
    }
  }
  return table;
}

export const AUTHZ_MATRIX: Record<string, Entry> = complete(TABLE);
