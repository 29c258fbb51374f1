import { DomainError, outboxSignal, withSpan, type OutboxSignal } from '@platform/kit';
import neo4j, { isRetryableError, Neo4jError, type Driver, type ManagedTransaction } from 'neo4j-driver';
import { measuredOperation } from './neo4j-metrics.js';

export interface Neo4jSettings {
  uri: string;
  user: string;
  password: string;
  database: string;
}

/** The graph handle the store functions receive: one driver per process, one database. */
export interface Graph {
  driver: Driver;
  database: string;
  /**
   * Rung by writeTx when a transaction that wrote (:Outbox) nodes committed; the outbox relay
   * listens (events/outbox.ts). No caller of the store pokes the relay.
   */
  outboxWritten: OutboxSignal;
}

/**
 * The graph handle without touching the network: the driver connects on first use, so a service can
 * start while Neo4j is down (main.ts reaches it in the background; see startInBackground).
 */
export function createGraph(s: Neo4jSettings): Graph {
  const driver = neo4j.driver(s.uri, neo4j.auth.basic(s.user, s.password), {
    // Integers come back as JS numbers: our counts and versions stay far below 2^53.
    disableLosslessIntegers: true,
    connectionAcquisitionTimeout: 5_000,
    connectionTimeout: 3_000,
    maxTransactionRetryTime: 10_000,
  });
  return { driver, database: s.database, outboxWritten: outboxSignal() };
}

/** The graph handle once Neo4j answered (for tools and tests that need Neo4j now or not at all). */
export async function connectGraph(s: Neo4jSettings): Promise<Graph> {
  const graph = createGraph(s);
  await graph.driver.verifyConnectivity({ database: s.database });
  return graph;
}

/** The driver already retried transient errors; if Neo4j is still unreachable the caller gets a typed 503. */
function unavailable(err: unknown): unknown {
  if (err instanceof Neo4jError && (err.code === 'ServiceUnavailable' || err.code === 'SessionExpired')) {
    return new DomainError('SERVICE_UNAVAILABLE', 'neo4j is unavailable; retry later');
  }
  return err;
}

/** Transactions that created (:Outbox) nodes (store/outbox.ts marks them), for writeTx to ring after commit. */
const wroteOutbox = new WeakSet<ManagedTransaction>();

/** Called by the outbox's append functions with the transaction they wrote in. */
export function markOutboxWrite(tx: ManagedTransaction): void {
  wroteOutbox.add(tx);
}

const DEADLOCK = 'Neo.TransientError.Transaction.DeadlockDetected';
/** Deadlocks retried at once (after a few ms) before the driver's own back-off takes over. */
const QUICK_DEADLOCK_RETRIES = 8;
/** Thrown out of the transaction function so the driver rolls back without its ~1 s back-off. */
class Deadlocked extends Error {}

/**
 * A managed write transaction (retried by the driver on transient errors) inside a span. Once it
 * committed, if it wrote outbox nodes, the graph's outboxWritten signal rings (only the attempt that
 * committed counts: a retried attempt's work runs again on a new transaction).
 *
 * A deadlock victim is run again after 5–50 ms instead of the driver's back-off (1 s, then 2 s, …):
 * Neo4j has already aborted it and the other transaction goes on, so waiting gains nothing. Writers
 * that lock shared nodes in different orders meet this by design (the importer's two link writers
 * on shared endpoint blocks: one deadlock cost ~1 s of a 6 s link phase). After
 * QUICK_DEADLOCK_RETRIES, the driver's back-off takes over.
 */
export function writeTx<T>(g: Graph, name: string, work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
  return withSpan(`neo4j write ${name}`, { attributes: { 'db.system.name': 'neo4j', 'db.operation.name': name } }, () =>
    measuredOperation('write', name, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await writeOnce(g, work, attempt <= QUICK_DEADLOCK_RETRIES);
        } catch (err) {
          if (!(err instanceof Deadlocked)) throw unavailable(err);
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 45));
        }
      }
    }),
  );
}

/** One executeWrite; a deadlock is thrown out as Deadlocked when `quickDeadlockRetry` (see writeTx). */
async function writeOnce<T>(g: Graph, work: (tx: ManagedTransaction) => Promise<T>, quickDeadlockRetry: boolean): Promise<T> {
  const session = g.driver.session({ database: g.database, defaultAccessMode: neo4j.session.WRITE });
  let rings = false;
  try {
    const result = await session.executeWrite(async (tx) => {
      const r = await work(tx).catch((err: unknown) => {
        throw quickDeadlockRetry && err instanceof Neo4jError && err.code === DEADLOCK ? new Deadlocked() : err;
      });
      rings = wroteOutbox.has(tx);
      return r;
    });
    if (rings) g.outboxWritten.written();
    return result;
  } finally {
    await session.close();
  }
}

/** What a read needs: a statement runner (a session's auto-commit `run`, or a transaction's). */
export type Reader = Pick<ManagedTransaction, 'run'>;

/**
 * Reads inside a span, each statement an auto-commit query in a READ session. One round trip per
 * statement instead of a managed transaction's BEGIN/RUN … COMMIT (halved blocks.get's p50 and
 * p95 here: see the bench table in the README). Nothing is lost: Neo4j reads are read-committed
 * per statement inside a transaction too. Transient failures are retried with backoff, as executeRead would.
 */
export function readGraph<T>(g: Graph, name: string, work: (q: Reader) => Promise<T>): Promise<T> {
  return withSpan(`neo4j read ${name}`, { attributes: { 'db.system.name': 'neo4j', 'db.operation.name': name } }, () =>
    measuredOperation('read', name, async () => {
      const started = Date.now();
      for (let attempt = 1; ; attempt++) {
        const session = g.driver.session({ database: g.database, defaultAccessMode: neo4j.session.READ });
        try {
          return await work(session);
        } catch (err) {
          const delay = Math.min(100 * 2 ** (attempt - 1), 2_000);
          if (!isRetryableError(err) || Date.now() - started + delay > READ_RETRY_MS) throw unavailable(err);
          await new Promise((r) => setTimeout(r, delay));
        } finally {
          await session.close();
        }
      }
    }),
  );
}

/** How long a read keeps retrying transient errors (the driver's default for managed transactions is 30 s; ours is 10 s). */
const READ_RETRY_MS = 10_000;
