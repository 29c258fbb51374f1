import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import type { CoreDeps } from '../domain/deps.js';
import { createSession, endSession, getSession, listSessions } from '../domain/sessions.js';
import type { SessionRow } from '../store/sessions.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, Id, iso, isoOrNull, Limit, pageOf, toPage } from './wire.js';

const meta = openApiMeta('sessions');

export const SessionKind = z.enum(['interactive', 'planning', 'review', 'automation']);
export const Session = z.object({
  id: z.uuid(),
  userId: z.string(),
  channel: z.string(),
  kind: SessionKind,
  title: z.string().nullable(),
  endedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const toSession = (s: SessionRow): z.infer<typeof Session> => ({
  ...s,
  endedAt: isoOrNull(s.endedAt),
  createdAt: iso(s.createdAt),
  updatedAt: iso(s.updatedAt),
});

export function sessionsRouter(deps: CoreDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/sessions/create', 'Start a session'))
      .input(
        z.strictObject({
          channel: z.string().trim().min(1).max(50),
          kind: SessionKind.default('interactive'),
          title: z.string().trim().min(1).max(500).optional(),
        }),
      )
      .output(Session)
      .mutation(async ({ ctx, input }) => toSession(await createSession(deps, ctx.principal, input))),
    get: authedProcedure
      .meta(meta('GET', '/sessions/get', 'One of the caller’s sessions'))
      .input(z.strictObject({ id: Id }))
      .output(Session)
      .query(async ({ ctx, input }) => toSession(await getSession(deps, ctx.principal, input.id))),
    list: authedProcedure
      .meta(meta('GET', '/sessions/list', 'The caller’s sessions, newest first'))
      .input(z.strictObject({ state: z.enum(['open', 'ended']).optional(), cursor: Cursor, limit: Limit }))
      .output(pageOf(Session))
      .query(async ({ ctx, input }) => {
        const open = input.state === undefined ? undefined : input.state === 'open';
        return toPage(await listSessions(deps, ctx.principal, { open, cursor: input.cursor, limit: input.limit }), toSession);
      }),
    end: authedProcedure
      .meta(meta('POST', '/sessions/end', 'End a session (once)'))
      .input(z.strictObject({ id: Id }))
      .output(Session)
      .mutation(async ({ ctx, input }) => toSession(await endSession(deps, ctx.principal, input.id))),
  });
}
