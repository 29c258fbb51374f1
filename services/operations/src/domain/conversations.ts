import type { Principal } from '@platform/contracts';
import { conflict, notFound } from '@platform/kit';
import {
  findConversation,
  insertConversation,
  insertMessage,
  listConversations as listConversationRows,
  listMessages as listMessageRows,
  lockConversation,
  searchMessages as searchMessageRows,
  setConversationStatus,
  type ConversationRow,
  type ConversationStatusName,
  type MessageRoleName,
  type MessageRow,
} from '../store/conversations.js';
import type { Page } from '../store/pagination.js';
import { asUser } from '../store/scope.js';
import { findSession } from '../store/sessions.js';
import type { CoreDeps } from './deps.js';

export function createConversation(
  deps: CoreDeps,
  principal: Principal,
  input: { title?: string | undefined; sessionId?: string | undefined },
): Promise<ConversationRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      if (input.sessionId !== undefined && !(await findSession(s, input.sessionId))) throw notFound('session', input.sessionId);
      return insertConversation(s, input);
    },
    { write: true },
  );
}

export function getConversation(deps: CoreDeps, principal: Principal, id: string): Promise<ConversationRow> {
  return asUser(deps.db, principal, async (s) => {
    const c = await findConversation(s, id);
    if (!c) throw notFound('conversation', id);
    return c;
  });
}

export function listConversations(
  deps: CoreDeps,
  principal: Principal,
  f: { status?: ConversationStatusName | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<ConversationRow>> {
  return asUser(deps.db, principal, (s) => listConversationRows(s, f));
}

/** active ⇄ archived, either → closed; a closed conversation stays closed. */
export function setStatus(deps: CoreDeps, principal: Principal, id: string, status: ConversationStatusName): Promise<ConversationRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const c = await lockConversation(s, id);
      if (!c) throw notFound('conversation', id);
      if (c.status === status) return c;
      if (c.status === 'closed') throw conflict(`conversation ${id} is closed`);
      return setConversationStatus(s, id, status);
    },
    { write: true },
  );
}

/** Rough token estimate when the caller did not count (≈ 4 characters per token for English BPE). */
export const estimateTokens = (content: string) => Math.ceil(content.length / 4);

/** Appends a message to an active conversation (archived or closed ones refuse with CONFLICT). */
export function appendMessage(
  deps: CoreDeps,
  principal: Principal,
  input: { conversationId: string; role: MessageRoleName; content: string; tokenCount?: number | undefined },
): Promise<MessageRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const c = await lockConversation(s, input.conversationId);
      if (!c) throw notFound('conversation', input.conversationId);
      if (c.status !== 'active') throw conflict(`conversation ${c.id} is ${c.status}`, { status: c.status });
      return insertMessage(s, {
        conversationId: c.id,
        role: input.role,
        content: input.content,
        tokenCount: input.tokenCount ?? estimateTokens(input.content),
      });
    },
    { write: true },
  );
}

export function listMessages(
  deps: CoreDeps,
  principal: Principal,
  f: { conversationId: string; cursor?: string | undefined; limit: number },
): Promise<Page<MessageRow>> {
  return asUser(deps.db, principal, async (s) => {
    if (!(await findConversation(s, f.conversationId))) throw notFound('conversation', f.conversationId);
    return listMessageRows(s, f);
  });
}

export function searchMessages(
  deps: CoreDeps,
  principal: Principal,
  f: { query: string; conversationId?: string | undefined; limit: number },
) {
  return asUser(deps.db, principal, (s) => searchMessageRows(s, f));
}
