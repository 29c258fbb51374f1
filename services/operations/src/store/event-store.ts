import { randomUUID } from 'node:crypto';
import { badRequest, DomainError } from '@platform/kit';
import { pgFailure, toDomainError } from './db-errors.js';
import type { Tx } from './prisma.js';
import { isSqlRunner, prismaRunner, type SqlRunner } from './sql.js';

/**
 * The event store: append-only streams (one per aggregate) with a global order.
 *
 * - appendToStream writes the events AND their outbox rows in ONE statement (so one round trip and
 *   atomic without an explicit transaction), or inside the caller's transaction. On a pool, appends
 *   that arrive while others are in flight share the next statement (AppendBatcher below).
 * - The optimistic check is twofold: the statement only inserts when the stream is at the expected
 *   version (no gaps), and the unique (aggregate_id, version) index stops two writers that both saw
 *   that version (no forks). Either failure is a ConcurrencyError carrying the actual version.
 * - readAll never skips an event of a transaction that was still in flight when it read: see below.
 */

export type ExpectedVersion = number | 'no_stream' | 'any';

export interface NewEvent {
  /** Idempotency key: appending an event id that is already in the stream changes nothing. */
  id?: string | undefined;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown> | undefined;
}

export interface StoredEvent {
  position: number;
  eventId: string;
  aggregateId: string;
  aggregateType: string;
  eventType: string;
  data: unknown;
  metadata: Record<string, unknown>;
  version: number;
  createdAt: Date;
}

export interface AppendResult {
  /** The stream's version after the append (pass it as the next expectedVersion). */
  nextExpectedVersion: number;
  events: Array<{ eventId: string; position: number; version: number }>;
  /** True when every event id was already in the stream (a retried append): nothing was written. */
  duplicate: boolean;
}

/** Optimistic-concurrency failure: someone else appended first. Maps to CONFLICT over tRPC. */
export class ConcurrencyError extends DomainError {
  constructor(
    readonly aggregateId: string,
    readonly expectedVersion: ExpectedVersion,
    readonly actualVersion: number,
  ) {
    super('CONFLICT', `stream ${aggregateId} is at version ${actualVersion}, expected ${String(expectedVersion)}`, {
      aggregateId,
      expectedVersion,
      actualVersion,
    });
    this.name = 'ConcurrencyError';
  }
}

/**
 * Where to append: a runner (one autocommit statement on the pool), or the caller's transaction
 * (Prisma's, or a SqlPool transaction) plus a runner to read committed state with when that
 * transaction is already doomed by a unique violation.
 */
export type AppendTarget = SqlRunner | { tx: Tx | SqlRunner; reader: SqlRunner };

export interface AppendOptions {
  /** Envelope fields of the outbox rows (the `operations.event.appended` notifications). */
  correlationId?: string | undefined;
  causationId?: string | undefined;
  now?: Date;
}

const APPENDED_SUBJECT = 'operations.event.appended';
/** 'any' appends retry (after a short random pause) when a concurrent writer takes the same version. */
const ANY_ATTEMPTS = 50;

interface InsertedRow {
  /** bigint: a string from node-postgres, a BigInt from Prisma; Number() takes both. */
  position: bigint | string;
  event_id: string;
  version: number;
}

function expectedNumber(expected: ExpectedVersion): number | null {
  if (expected === 'any') return null;
  if (expected === 'no_stream') return 0;
  if (!Number.isInteger(expected) || expected < 0) throw badRequest(`expectedVersion must be a non-negative integer, 'no_stream' or 'any'`);
  return expected;
}

/** One append as the statement takes it (and as the batcher queues it). */
interface PendingAppend {
  aggregateId: string;
  aggregateType: string;
  events: Array<{ id: string; type: string; data: unknown; metadata: Record<string, unknown> }>;
  expected: number | null;
  occurredAt: string;
  correlationId: string | null;
  causationId: string | null;
}

export async function appendToStream(
  target: AppendTarget,
  aggregateId: string,
  aggregateType: string,
  events: readonly NewEvent[],
  expectedVersion: ExpectedVersion,
  opts: AppendOptions = {},
): Promise<AppendResult> {
  if (events.length === 0) throw badRequest('nothing to append');
  const inTx = 'tx' in target;
  const conn = inTx ? (isSqlRunner(target.tx) ? target.tx : prismaRunner(target.tx)) : target;
  const reader = inTx ? target.reader : target;
  const withIds = events.map((e) => ({ id: e.id ?? randomUUID(), type: e.type, data: e.data ?? null, metadata: e.metadata ?? {} }));
  if (new Set(withIds.map((e) => e.id)).size !== withIds.length) throw badRequest('event ids must be unique within an append');
  const append: PendingAppend = {
    aggregateId,
    aggregateType,
    events: withIds,
    expected: expectedNumber(expectedVersion),
    occurredAt: (opts.now ?? new Date()).toISOString(),
    correlationId: opts.correlationId ?? null,
    causationId: opts.causationId ?? null,
  };
  // On a pool (autocommit), concurrent appends share statements (see AppendBatcher); in the caller's
  // transaction the append is one statement of that transaction.
  const batcher = inTx ? undefined : batcherFor(target);

  for (let attempt = 1; ; attempt++) {
    let rows: InsertedRow[];
    try {
      rows = batcher ? await batcher.append(append) : await insertBatch(conn, [append]).then((r) => r[0]!);
    } catch (err) {
      const pg = pgFailure(err);
      if (pg?.sqlState !== '23505') throw toDomainError(err);
      if (pg.constraint === 'event_store_event_id_key' || pg.constraint === 'outbox_pkey') {
        // A concurrent (or earlier) append of the same event ids: answer like a retried append.
        const existing = await existingAppend(
          reader,
          aggregateId,
          withIds.map((e) => e.id),
        );
        if (existing) return existing;
        throw badRequest('event ids are already used by other events', { eventIds: withIds.map((e) => e.id) });
      }
      // (aggregate_id, version): another writer took the version between our check and our insert.
      if (append.expected === null && attempt < ANY_ATTEMPTS && !inTx) {
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, attempt * 2)));
        continue;
      }
      throw new ConcurrencyError(aggregateId, expectedVersion, await streamVersion(reader, aggregateId));
    }
    if (rows.length === withIds.length) {
      const out = rows.map((r) => ({ eventId: r.event_id, position: Number(r.position), version: r.version }));
      return { nextExpectedVersion: out.at(-1)!.version, events: out, duplicate: false };
    }
    // Nothing inserted: the stream is not at the expected version — unless this is a retry of an
    // append that already succeeded (same event ids), which is answered with its original result.
    const existing = await existingAppend(
      conn,
      aggregateId,
      withIds.map((e) => e.id),
    );
    if (existing) return existing;
    throw new ConcurrencyError(aggregateId, expectedVersion, await streamVersion(conn, aggregateId));
  }
}

/**
 * One statement for one or more appends (each to a different stream): per append, read its stream's
 * version, insert its events after it when it is the expected one, and write an outbox row per
 * inserted event. An append whose check fails inserts nothing and does not stop the others; a unique
 * violation fails the whole statement (the batcher then runs its appends one by one). Versions follow
 * input order, and so do positions (event_store_next_position() runs per row in ORDER BY order) and
 * outbox rows (seq).
 */
const APPEND_SQL = `
  WITH item AS (
    SELECT it->>'a' AS aggregate_id, it->>'t' AS aggregate_type, (it->>'x')::int AS expected, it->>'o' AS occurred_at,
           it->>'c' AS correlation_id, it->>'k' AS causation_id, it->'e' AS events, ord
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(it, ord)
  ), ready AS (
    SELECT item.*, cv.v FROM item
    CROSS JOIN LATERAL (SELECT coalesce(max(version), 0) AS v FROM event_store s WHERE s.aggregate_id = item.aggregate_id) cv
    WHERE item.expected IS NULL OR cv.v = item.expected
  ), input AS (
    SELECT r.aggregate_id, r.aggregate_type, r.occurred_at, r.correlation_id, r.causation_id, r.v, r.ord,
           (e->>'id')::uuid AS event_id, e->>'type' AS event_type, e->'data' AS data, e->'metadata' AS metadata, n
    FROM ready r CROSS JOIN LATERAL jsonb_array_elements(r.events) WITH ORDINALITY AS x(e, n)
  ), inserted AS (
    INSERT INTO event_store (event_id, aggregate_id, aggregate_type, event_type, data, metadata, version)
    SELECT event_id, aggregate_id, aggregate_type, event_type, data, metadata, v + n::int
    FROM input ORDER BY ord, n
    RETURNING position, event_id, aggregate_id, aggregate_type, version, event_type, data
  ), outboxed AS (
    INSERT INTO outbox (id, subject, envelope)
    -- jsonb_strip_nulls drops the absent correlationId/causationId; it recurses, so the event's data
    -- is added after it: a null (or a null inside) is the appender's and is published as such.
    SELECT ins.event_id, $2, jsonb_strip_nulls(jsonb_build_object(
      'id', ins.event_id, 'subject', $2::text, 'occurredAt', i.occurred_at, 'source', 'operations',
      'correlationId', i.correlation_id, 'causationId', i.causation_id))
      || jsonb_build_object('data', jsonb_build_object('position', ins.position, 'eventId', ins.event_id, 'aggregateId', ins.aggregate_id,
        'aggregateType', ins.aggregate_type, 'eventType', ins.event_type, 'version', ins.version, 'data', ins.data))
    FROM inserted ins JOIN input i ON i.event_id = ins.event_id
    ORDER BY ins.position
  )
  SELECT position, event_id::text AS event_id, version, aggregate_id FROM inserted ORDER BY position`;

/** Runs APPEND_SQL for `appends` (distinct streams); the inserted rows of each, in its input order. */
async function insertBatch(conn: SqlRunner, appends: readonly PendingAppend[]): Promise<InsertedRow[][]> {
  const input = appends.map((a) => ({
    a: a.aggregateId,
    t: a.aggregateType,
    x: a.expected,
    o: a.occurredAt,
    c: a.correlationId,
    k: a.causationId,
    e: a.events,
  }));
  const rows = await conn.query<InsertedRow & { aggregate_id: string }>(
    APPEND_SQL,
    [JSON.stringify(input), APPENDED_SUBJECT],
    'event_store_append',
  );
  if (appends.length === 1) return [rows];
  const byStream = new Map<string, InsertedRow[]>(appends.map((a) => [a.aggregateId, []]));
  for (const r of rows) byStream.get(r.aggregate_id)!.push(r);
  return appends.map((a) => byStream.get(a.aggregateId)!);
}

// ---------------------------------------------------------------------------------------------------
// Appends on a pool share statements (group commit in the application)
// ---------------------------------------------------------------------------------------------------
//
// An append is one short statement whose cost is mostly its commit: the WAL flush (fsync) and the
// per-statement work around it. With many writers, Postgres already flushes several commits at once,
// but each still pays its own statement, snapshot, commit record and round trip. So at most
// `maxInFlight` append statements run at once per pool; appends that arrive meanwhile wait and go
// together in the next statement (one transaction: all their events and outbox rows commit together,
// each append still checked against its own expected version). A lone writer never waits: with fewer
// appends in flight than the limit, an append is sent at once, alone. Two appends to the same stream
// never share a statement (each must see the other's version), and when a shared statement fails
// (a unique violation: a concurrent writer elsewhere took a version, or an event id is reused), each
// of its appends is run again alone, so one append's failure is never another's.

export interface AppendBatchSettings {
  /** Append statements in flight at once on this pool; more appends wait and share the next one. */
  maxInFlight: number;
  /** Most appends in one statement. */
  maxBatch: number;
}

export const DEFAULT_APPEND_BATCHING: AppendBatchSettings = { maxInFlight: 2, maxBatch: 64 };

interface Queued {
  append: PendingAppend;
  resolve: (rows: InsertedRow[]) => void;
  reject: (err: unknown) => void;
}

class AppendBatcher {
  private readonly queue: Queued[] = [];
  private inFlight = 0;

  constructor(
    private readonly conn: SqlRunner,
    readonly settings: AppendBatchSettings,
  ) {}

  append(append: PendingAppend): Promise<InsertedRow[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ append, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.settings.maxInFlight && this.queue.length > 0) {
      const batch: Queued[] = [];
      const streams = new Set<string>();
      for (let i = 0; i < this.queue.length && batch.length < this.settings.maxBatch;) {
        const q = this.queue[i]!;
        if (streams.has(q.append.aggregateId)) {
          i++; // waits for the next statement, behind the append to its stream in this one
          continue;
        }
        streams.add(q.append.aggregateId);
        batch.push(q);
        this.queue.splice(i, 1);
      }
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Queued[]): Promise<void> {
    try {
      const rows = await insertBatch(
        this.conn,
        batch.map((q) => q.append),
      );
      batch.forEach((q, i) => q.resolve(rows[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // The statement failed as a whole: nothing of it was written. Each append again, alone.
      await Promise.all(
        batch.map((q) =>
          insertBatch(this.conn, [q.append]).then(
            (rows) => q.resolve(rows[0]!),
            (e: unknown) => q.reject(e),
          ),
        ),
      );
    }
  }
}

const batchers = new WeakMap<SqlRunner, AppendBatcher>();

function batcherFor(runner: SqlRunner): AppendBatcher {
  let b = batchers.get(runner);
  if (!b) batchers.set(runner, (b = new AppendBatcher(runner, DEFAULT_APPEND_BATCHING)));
  return b;
}

/**
 * Sets how appends on `runner` (a pool) share statements; before its first append. `maxInFlight:
 * Infinity` turns sharing off (every append its own statement, as many at once as the pool allows).
 */
export function configureAppendBatching(runner: SqlRunner, settings: Partial<AppendBatchSettings>): void {
  batchers.set(runner, new AppendBatcher(runner, { ...DEFAULT_APPEND_BATCHING, ...settings }));
}

/** The result of an earlier append of exactly these event ids to this stream, or null. */
async function existingAppend(conn: SqlRunner, aggregateId: string, eventIds: string[]): Promise<AppendResult | null> {
  const rows = await conn.query<InsertedRow & { aggregate_id: string }>(
    `SELECT position, event_id::text AS event_id, version, aggregate_id FROM event_store WHERE event_id = ANY($1::uuid[]) ORDER BY version`,
    [eventIds],
    'event_store_existing',
  );
  if (rows.length !== eventIds.length || rows.some((r) => r.aggregate_id !== aggregateId)) return null;
  const out = rows.map((r) => ({ eventId: r.event_id, position: Number(r.position), version: r.version }));
  return { nextExpectedVersion: out.at(-1)!.version, events: out, duplicate: true };
}

export async function streamVersion(conn: SqlRunner, aggregateId: string): Promise<number> {
  const [row] = await conn.query<{ v: number }>(
    `SELECT coalesce(max(version), 0)::int AS v FROM event_store WHERE aggregate_id = $1`,
    [aggregateId],
    'event_store_version',
  );
  return row?.v ?? 0;
}

interface EventRow {
  position: bigint | string;
  event_id: string;
  aggregate_id: string;
  aggregate_type: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  version: number;
  created_at: Date;
}

const toEvent = (r: EventRow): StoredEvent => ({
  position: Number(r.position),
  eventId: r.event_id,
  aggregateId: r.aggregate_id,
  aggregateType: r.aggregate_type,
  eventType: r.event_type,
  data: r.data,
  metadata: r.metadata,
  version: r.version,
  createdAt: r.created_at,
});

/** A stream's events from `fromVersion` (1-based, inclusive), in version order. */
const EVENT_COLUMNS = `position, event_id::text AS event_id, aggregate_id, aggregate_type, event_type, data, metadata, version, created_at`;

export async function readStream(conn: SqlRunner, aggregateId: string, fromVersion = 1, limit = 1_000): Promise<StoredEvent[]> {
  const rows = await conn.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM event_store WHERE aggregate_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
    [aggregateId, fromVersion, limit],
    'event_store_read_stream',
  );
  return rows.map(toEvent);
}

// ---------------------------------------------------------------------------------------------------
// readAll: global order without skipping in-flight transactions
// ---------------------------------------------------------------------------------------------------
//
// Positions are taken when a row is inserted but become visible when its transaction commits, so a
// reader can see position 11 while 10 is still in flight; advancing past 10 would lose it forever.
//
// The technique (a snapshot-checked gap wait):
// 1. event_store_next_position() assigns the writer's xid BEFORE it takes a position. Hence, for a
//    position m missing below a position p we can see (in the reader's statement snapshot S1), the
//    writer of m already had an xid when p's writer did, before S1: it is either listed in S1's
//    in-progress xids (xip), or it ended before S1 without committing m (aborted append, failed
//    statement) — then m is a permanent hole.
// 2. So when the page has gaps, we wait until every xid of xip(S1) has ended — checked against a
//    fresh snapshot S2 with pg_visible_in_snapshot — and re-read the gap positions in that same S2:
//    what shows up now fills the gaps, what is still missing will never appear. Transactions that
//    began after S1 are irrelevant (their positions are above p).
// 3. If they do not end within maxWaitMs (a long transaction), we return only the part before the
//    first unresolved gap: correct, just later.
// One statement per read (no lock, no serialization of writers), plus one per gap check.

export interface ReadAllResult {
  events: StoredEvent[];
  /** Pass as fromPosition of the next call: the last position returned (or fromPosition). */
  nextPosition: number;
  /** False when the page stopped at a gap whose writer was still in flight after maxWaitMs. */
  complete: boolean;
}

export interface ReadAllOptions {
  maxWaitMs?: number;
  pollMs?: number;
}

interface SnapshotRow extends Partial<EventRow> {
  snapshot: string;
}

/** `xmin:xmax:xip1,xip2,…` → the in-progress xids. */
export function inProgressXids(snapshot: string): string[] {
  const xip = snapshot.split(':')[2] ?? '';
  return xip === '' ? [] : xip.split(',');
}

/** Positions missing between `from` (exclusive) and the last of `positions` (sorted). */
export function gapsIn(from: number, positions: readonly number[]): number[] {
  const gaps: number[] = [];
  let expected = from + 1;
  for (const p of positions) {
    for (; expected < p; expected++) gaps.push(expected);
    expected = p + 1;
  }
  return gaps;
}

export async function readAll(conn: SqlRunner, fromPosition: number, limit: number, opts: ReadAllOptions = {}): Promise<ReadAllResult> {
  // One statement, so the rows and pg_current_snapshot() come from the same (statement) snapshot.
  const rows = await conn.query<SnapshotRow>(
    `WITH s AS (SELECT pg_current_snapshot() AS snap)
     SELECT s.snap::text AS snapshot, e.position, e.event_id::text AS event_id, e.aggregate_id, e.aggregate_type, e.event_type,
            e.data, e.metadata, e.version, e.created_at
     FROM s LEFT JOIN LATERAL (SELECT * FROM event_store WHERE position > $1 ORDER BY position LIMIT $2) e ON true`,
    [fromPosition, limit],
    'event_store_read_all',
  );
  const snapshot = rows[0]!.snapshot;
  const events = rows.filter((r) => r.position !== null && r.position !== undefined).map((r) => toEvent(r as EventRow));
  const gaps = gapsIn(
    fromPosition,
    events.map((e) => e.position),
  );
  const xip = inProgressXids(snapshot);
  if (gaps.length === 0 || xip.length === 0) return page(fromPosition, events, true);

  const deadline = Date.now() + (opts.maxWaitMs ?? 2_000);
  for (;;) {
    const filled = await gapCheck(conn, xip, gaps);
    if (filled.resolved) {
      const all = [...events, ...filled.events].sort((a, b) => a.position - b.position);
      return page(fromPosition, all, true);
    }
    if (Date.now() >= deadline) {
      const firstGap = gaps[0]!;
      return page(
        fromPosition,
        events.filter((e) => e.position < firstGap),
        false,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 3));
  }
}

/** In one fresh snapshot: have all `xids` ended, and which of the `gaps` positions are visible now? */
async function gapCheck(conn: SqlRunner, xids: string[], gaps: number[]): Promise<{ resolved: boolean; events: StoredEvent[] }> {
  const rows = await conn.query<SnapshotRow & { resolved: boolean }>(
    `WITH s AS (SELECT pg_current_snapshot() AS snap)
     SELECT s.snap::text AS snapshot,
            (SELECT bool_and(pg_visible_in_snapshot(x::xid8, s.snap)) FROM unnest($1::text[]) AS x) AS resolved,
            e.position, e.event_id::text AS event_id, e.aggregate_id, e.aggregate_type, e.event_type, e.data, e.metadata, e.version, e.created_at
     FROM s LEFT JOIN LATERAL (SELECT * FROM event_store WHERE position = ANY($2::bigint[])) e ON true`,
    [xids, gaps.map(String)],
    'event_store_gap_check',
  );
  const resolved = rows[0]?.resolved === true;
  return { resolved, events: resolved ? rows.filter((r) => r.position != null).map((r) => toEvent(r as EventRow)) : [] };
}

function page(fromPosition: number, events: StoredEvent[], complete: boolean): ReadAllResult {
  return { events, nextPosition: events.at(-1)?.position ?? fromPosition, complete };
}
