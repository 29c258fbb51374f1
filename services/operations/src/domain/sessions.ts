import type { Principal } from '@platform/contracts';
import { conflict, notFound } from '@platform/kit';
import type { Page } from '../store/pagination.js';
import { asUser } from '../store/scope.js';
import {
  endSession as endSessionRow,
  findSession,
  insertSession,
  listSessions as listSessionRows,
  type SessionKindName,
  type SessionRow,
} from '../store/sessions.js';
import type { CoreDeps } from './deps.js';

export function createSession(
  deps: CoreDeps,
  principal: Principal,
  input: { channel: string; kind: SessionKindName; title?: string | undefined },
): Promise<SessionRow> {
  return asUser(deps.db, principal, (s) => insertSession(s, input), { write: true });
}

export function getSession(deps: CoreDeps, principal: Principal, id: string): Promise<SessionRow> {
  return asUser(deps.db, principal, async (s) => {
    const session = await findSession(s, id);
    if (!session) throw notFound('session', id);
    return session;
  });
}

export function listSessions(
  deps: CoreDeps,
  principal: Principal,
  q: { open?: boolean | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<SessionRow>> {
  return asUser(deps.db, principal, (s) => listSessionRows(s, q));
}

/** Ends a session once; ending it again is a CONFLICT. */
export function endSession(deps: CoreDeps, principal: Principal, id: string): Promise<SessionRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const ended = await endSessionRow(s, id, deps.clock());
      if (ended) return ended;
      if (!(await findSession(s, id))) throw notFound('session', id);
      throw conflict(`session ${id} has already ended`);
    },
    { write: true },
  );
}
