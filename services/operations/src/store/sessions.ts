import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { UserScope } from './scope.js';

export type SessionKindName = 'interactive' | 'planning' | 'review' | 'automation';

export interface SessionRow {
  id: string;
  userId: string;
  channel: string;
  kind: SessionKindName;
  title: string | null;
  endedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export function insertSession(
  s: UserScope,
  data: { channel: string; kind: SessionKindName; title?: string | undefined },
): Promise<SessionRow> {
  return s.tx.session.create({ data: { userId: s.userId, channel: data.channel, kind: data.kind, title: data.title ?? null } });
}

export function findSession(s: UserScope, id: string): Promise<SessionRow | null> {
  return s.tx.session.findFirst({ where: { id, userId: s.userId } });
}

export async function listSessions(
  s: UserScope,
  q: { open?: boolean | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<SessionRow>> {
  const rows = await s.tx.session.findMany({
    where: {
      userId: s.userId,
      ...(q.open === undefined ? {} : q.open ? { endedAt: null } : { endedAt: { not: null } }),
      ...afterCursor(q.cursor),
    },
    orderBy: [...keysetOrder()],
    take: q.limit + 1,
  });
  return toPage(rows, q.limit);
}

/** Ends the session once; null when it was not found or had already ended. */
export async function endSession(s: UserScope, id: string, at: Date): Promise<SessionRow | null> {
  const r = await s.tx.session.updateMany({ where: { id, userId: s.userId, endedAt: null }, data: { endedAt: at } });
  return r.count === 1 ? findSession(s, id) : null;
}
