import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import type { CoreDeps } from '../domain/deps.js';
import { appendEvents, readAllEvents, readEventStream } from '../domain/events.js';
import type { StoredEvent } from '../store/event-store.js';
import { authedProcedure, router } from '../trpc.js';
import { iso, JsonObject } from './wire.js';

const meta = openApiMeta('events');

export const StoredEventOut = z.object({
  position: z.number().int(),
  eventId: z.uuid(),
  aggregateId: z.string(),
  aggregateType: z.string(),
  eventType: z.string(),
  data: z.unknown(),
  metadata: JsonObject,
  version: z.number().int(),
  createdAt: z.string(),
});

const Name = z.string().trim().min(1).max(200);
// Stream versions are Postgres `integer`s: a larger number is refused here (BAD_REQUEST) instead of failing in the database.
const MAX_VERSION = 2_147_483_647;
const ExpectedVersion = z.union([z.number().int().min(0).max(MAX_VERSION), z.literal('no_stream'), z.literal('any')]);

const toEvent = (e: StoredEvent): z.infer<typeof StoredEventOut> => ({ ...e, createdAt: iso(e.createdAt) });

/** The event store for services and platform admins (FORBIDDEN for others). */
export function eventsRouter(deps: CoreDeps) {
  return router({
    append: authedProcedure
      .meta(meta('POST', '/events/append', 'Append events to a stream at an expected version (CONFLICT with the actual version otherwise)'))
      .input(
        z.strictObject({
          aggregateId: Name,
          aggregateType: z.string().trim().min(1).max(100),
          expectedVersion: ExpectedVersion,
          events: z
            .array(
              z.strictObject({
                id: z.uuid().optional(),
                type: z.string().trim().min(1).max(100),
                data: z.unknown(),
                metadata: JsonObject.optional(),
              }),
            )
            .min(1)
            .max(100),
        }),
      )
      .output(
        z.object({
          nextExpectedVersion: z.number().int(),
          duplicate: z.boolean(),
          events: z.array(z.object({ eventId: z.uuid(), position: z.number().int(), version: z.number().int() })),
        }),
      )
      .mutation(({ ctx, input }) => appendEvents(deps, ctx.principal, input)),
    readStream: authedProcedure
      .meta(meta('GET', '/events/read-stream', 'A stream’s events from a version, in version order'))
      .input(
        z.strictObject({
          aggregateId: Name,
          fromVersion: z.coerce.number().int().min(1).max(MAX_VERSION).default(1),
          limit: z.coerce.number().int().min(1).max(1_000).default(500),
        }),
      )
      .output(z.array(StoredEventOut))
      .query(async ({ ctx, input }) => (await readEventStream(deps, ctx.principal, input)).map(toEvent)),
    readAll: authedProcedure
      .meta(meta('GET', '/events/read-all', 'All events after a global position, in global order, never skipping in-flight appends'))
      .input(
        z.strictObject({
          fromPosition: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
          limit: z.coerce.number().int().min(1).max(1_000).default(500),
        }),
      )
      .output(z.object({ events: z.array(StoredEventOut), nextPosition: z.number().int(), complete: z.boolean() }))
      .query(async ({ ctx, input }) => {
        const r = await readAllEvents(deps, ctx.principal, input);
        return { ...r, events: r.events.map(toEvent) };
      }),
  });
}
