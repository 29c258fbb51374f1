import type { Principal } from '@platform/contracts';
import { isRetryable, toDomainError } from './db-errors.js';
import type { Db, Tx } from './prisma.js';
import type { SqlPool, SqlRunner } from './sql.js';

/**
 * Every query on a user-owned table runs inside one of these scopes: an interactive transaction
 * whose first statement tells Postgres who is acting (row-level security reads it), so a repository
 * that forgot its owner filter still cannot see or change another principal's rows.
 * The scope objects can only be made here, so a store function that takes one cannot be called
 * outside such a transaction.
 */
declare const scopeBrand: unique symbol;

export interface UserScope {
  readonly tx: Tx;
  /** The acting principal's id (JWT `sub`). */
  readonly userId: string;
  readonly [scopeBrand]: 'user';
}

/**
 * Named system actors: each has its own narrow policies in the RLS migration (e.g. job-results may
 * read and update tasks, nothing else), instead of one blanket bypass.
 */
export type SystemActor = 'job-results' | 'agent-stuck' | 'saga-orchestrator' | 'team-directory';

export interface SystemScope {
  readonly tx: Tx;
  readonly actor: SystemActor;
  readonly [scopeBrand]: 'system';
}

export type UserRoleName = 'admin' | 'member' | 'agent' | 'service';

/** Platform role given to a principal's users row when it is first provisioned. */
export function provisionedRole(p: Principal): UserRoleName {
  if (p.roles.includes('admin')) return 'admin';
  return p.kind === 'user' ? 'member' : p.kind;
}

const TX_OPTIONS = { maxWait: 5_000, timeout: 15_000 };
const ATTEMPTS = 3;

async function withRetry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt < ATTEMPTS && isRetryable(err)) {
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
        continue;
      }
      throw toDomainError(err);
    }
  }
}

/**
 * Runs `fn` in a transaction acting as `principal`. With `write`, the principal's users row is
 * created first if missing (just-in-time provisioning), so owner foreign keys always resolve.
 * Deadlocks and serialization failures re-run the whole transaction (fn must only touch the database).
 */
export function asUser<T>(db: Db, principal: Principal, fn: (scope: UserScope) => Promise<T>, opts: { write?: boolean } = {}): Promise<T> {
  const provisionAs = opts.write ? provisionedRole(principal) : null;
  return withRetry(() =>
    db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT app_act_as_user(${principal.id}, ${provisionAs}::"UserRole")`;
      return fn({ tx, userId: principal.id } as UserScope);
    }, TX_OPTIONS),
  );
}

/** Runs `fn` in a transaction acting as one named system consumer (see SystemActor). */
export function asSystem<T>(db: Db, actor: SystemActor, fn: (scope: SystemScope) => Promise<T>): Promise<T> {
  return withRetry(() =>
    db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT app_act_as_system(${actor})`;
      return fn({ tx, actor } as SystemScope);
    }, TX_OPTIONS),
  );
}

/**
 * asSystem on the node-postgres pool (hot paths such as saga steps): BEGIN and the actor setting go
 * in one round trip. The actor is one of the SystemActor literals, never input.
 */
export function asSystemSql<T>(pool: SqlPool, actor: SystemActor, fn: (sql: SqlRunner) => Promise<T>): Promise<T> {
  return withRetry(() => pool.transaction(fn, `SELECT app_act_as_system('${actor}')`));
}

/** For tables without row-level security (outbox, inbox, event store): errors mapped the same way. */
export function plain<T>(run: () => Promise<T>): Promise<T> {
  return withRetry(run);
}
