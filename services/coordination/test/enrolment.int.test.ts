import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEV_AUTH, type PrivateNats, startPrivateNats } from '@platform/testkit';
import { startTestCoordination, user, type TestCoordination } from './support/coordination.js';

// Agent enrolment against a private nats-server: an operator (platform admin) or a service enrols an
// agent; the agent trades the one-time token for its own short-lived token and refreshes it. Nothing
// in this path can give an agent a user, service or admin token.
let nats: PrivateNats;
let coord: TestCoordination;
const admin = { kind: 'user' as const, id: 'ops-admin', roles: ['admin'] };
const service = { kind: 'service' as const, id: 'operations', roles: ['service'] };

const code = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  return (err as TRPCError).code;
};

beforeAll(async () => {
  nats = await startPrivateNats(4597);
  coord = await startTestCoordination(nats);
});
afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

describe('agent enrolment', () => {
  it('only a platform admin or a service may enrol an agent', async () => {
    expect(await code(coord.as(user('mallory')).enrolment.create({ agentName: 'worker-1' }))).toBe('FORBIDDEN');
    expect(await code(coord.as({ kind: 'agent', id: 'worker-0', roles: ['agent'] }).enrolment.create({ agentName: 'worker-1' }))).toBe(
      'FORBIDDEN',
    );
    await expect(coord.as(service).enrolment.create({ agentName: 'worker-1' })).resolves.toMatchObject({ agentName: 'worker-1' });
    await expect(coord.as(admin).enrolment.create({ agentName: 'worker-1' })).resolves.toMatchObject({ agentName: 'worker-1' });
  });

  it('trades a one-time token for a short-lived token bound to the agent, once', async () => {
    const { enrolmentToken } = await coord.as(admin).enrolment.create({ agentName: 'worker-2' });
    const anonymous = coord.as(null);
    const first = await anonymous.enrolment.exchange({ enrolmentToken });
    const principal = await DEV_AUTH.verifier.verify(first.token);
    expect(principal).toEqual({ kind: 'agent', id: 'worker-2', roles: ['agent'] });
    // short-lived: the coordination default (15 min), never more than the verifier's maximum
    expect(Date.parse(first.expiresAt) - Date.now()).toBeLessThanOrEqual(900_000 + 1_000);
    expect(await code(anonymous.enrolment.exchange({ enrolmentToken }))).toBe('UNAUTHORIZED');
    expect(await code(anonymous.enrolment.exchange({ enrolmentToken: `${enrolmentToken}x` }))).toBe('UNAUTHORIZED');
  });

  it('of two concurrent exchanges of one token, exactly one gets a token', async () => {
    const { enrolmentToken } = await coord.as(admin).enrolment.create({ agentName: 'worker-3' });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => coord.as(null).enrolment.exchange({ enrolmentToken })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('an agent refreshes only its own token; users and services cannot use refresh to get one', async () => {
    const agent = { kind: 'agent' as const, id: 'worker-4', roles: ['agent'] };
    const fresh = await coord.as(agent).enrolment.refresh({});
    expect(await DEV_AUTH.verifier.verify(fresh.token)).toEqual(agent);
    expect(await code(coord.as(admin).enrolment.refresh({}))).toBe('FORBIDDEN');
    expect(await code(coord.as(service).enrolment.refresh({}))).toBe('FORBIDDEN');
    expect(await code(coord.as({ ...agent, via: 'operations' }).enrolment.refresh({}))).toBe('FORBIDDEN');
  });

  it('an expired enrolment token is refused', async () => {
    const { enrolmentToken } = await coord.as(admin).enrolment.create({ agentName: 'worker-5', ttlSeconds: 60 });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    try {
      expect(await code(coord.as(null).enrolment.exchange({ enrolmentToken }))).toBe('UNAUTHORIZED');
    } finally {
      vi.useRealTimers();
    }
  });
});
