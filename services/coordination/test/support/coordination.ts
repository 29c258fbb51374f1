import type { Principal } from '@platform/contracts';
import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import { connectNats, createLogger, type NatsConnection } from '@platform/kit';
import { DEV_AUTH, type PrivateNats } from '@platform/testkit';
import { startCoordination, type Coordination } from '../../src/app.js';
import { createCallerFactory } from '../../src/trpc.js';
import { FakeOperations } from './fake-operations.js';

/** Fast timings for tests: heartbeat 300 ms (stale after 600 ms), offline after 1.5 s, sweeps every 100 ms. */
export const FAST = {
  CLAIM_WAIT_MS: 2_000,
  CLAIM_RESWEEP_MS: 1_000,
  OUTBOX_SWEEP_MS: 500,
  OUTBOX_MIN_AGE_MS: 1_000,
  HEARTBEAT_INTERVAL_MS: 300,
  AGENT_OFFLINE_AFTER_MS: 1_500,
  STUCK_GRACE_MS: 800,
  LIVENESS_SWEEP_MS: 100,
  SCHEDULER_TICK_MS: 100,
  AGENT_TOKEN_TTL_S: 900,
};

type Caller = ReturnType<Coordination['router']['createCaller']>;

export interface TestCoordination extends Coordination {
  nc: NatsConnection;
  /** A server-side caller for a principal (router tests use createCaller). */
  as(principal: Principal | null): Caller;
  /** Teams and task access as operations would answer them (see FakeOperations). */
  ops: FakeOperations;
  close(): Promise<void>;
}

/** One in-process coordination "replica" on its own NATS connection. */
export async function startTestCoordination(
  nats: PrivateNats,
  overrides: Partial<typeof FAST> = {},
  name = 'coordination-test',
  ops = new FakeOperations(),
): Promise<TestCoordination> {
  const log = createLogger(name, process.env['LOG_LEVEL'] === 'debug' ? 'debug' : 'warn');
  const nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name, log, attempts: 2 });
  const app = await startCoordination({
    nc,
    config: { ...FAST, ...overrides },
    log,
    issuer: DEV_AUTH.issuerFor('coordination'),
    teams: ops,
    taskAccess: ops,
  });
  const factory = createCallerFactory(app.router);
  return {
    ...app,
    nc,
    ops,
    as: (principal) => factory({ principal, authError: null, log }),
    close: async () => {
      await app.stop();
      await nc.drain();
    },
  };
}

export const user = (id = 'alice'): Principal => ({ kind: 'user', id, roles: [] });
export const agent = (id: string): Principal => ({ kind: 'agent', id, roles: ['agent'] });
export const service = (id = 'operations'): Principal => ({ kind: 'service', id, roles: ['service'] });
export const admin = (id = 'root'): Principal => ({ kind: 'user', id, roles: ['admin'] });

/** The TRPCError a call was refused with (fails the test when it was not refused, or not with one). */
export async function rejection(p: Promise<unknown>): Promise<TRPCError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  return err as TRPCError;
}
