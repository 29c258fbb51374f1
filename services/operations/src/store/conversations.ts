import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { UserScope } from './scope.js';

export type ConversationStatusName = 'active' | 'archived' | 'closed';
export type MessageRoleName = 'user' | 'assistant' | 'system' | 'tool';

export interface ConversationRow {
  id: string;
  userId: string;
  sessionId: string | null;
  status: ConversationStatusName;
  title: string | null;
  /** How many messages it has, counted when read (never a stored counter that could drift). */
  messageCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  role: MessageRoleName;
  content: string;
  tokenCount: number;
  createdAt: Date;
}

/** Counts the messages in the same statement (index messages(conversation_id, created_at)). */
const withMessageCount = { _count: { select: { messages: true } } } as const;
const counted = <C extends { _count: { messages: number } }>({ _count, ...c }: C): Omit<C, '_count'> & { messageCount: number } => ({
  ...c,
  messageCount: _count.messages,
});

const messageFields = { id: true, conversationId: true, role: true, content: true, tokenCount: true, createdAt: true } as const;

export async function insertConversation(
  s: UserScope,
  data: { title?: string | undefined; sessionId?: string | undefined },
): Promise<ConversationRow> {
  const c = await s.tx.conversation.create({ data: { userId: s.userId, title: data.title ?? null, sessionId: data.sessionId ?? null } });
  return { ...c, messageCount: 0 };
}

export async function findConversation(s: UserScope, id: string): Promise<ConversationRow | null> {
  const c = await s.tx.conversation.findFirst({ where: { id, userId: s.userId }, include: withMessageCount });
  return c ? counted(c) : null;
}

/** Locks the conversation so a status change and a message append cannot interleave. */
export async function lockConversation(s: UserScope, id: string): Promise<ConversationRow | null> {
  const rows = await s.tx.$queryRaw<
    Array<{ id: string }>
  >`SELECT id FROM conversations WHERE id = ${id}::uuid AND user_id = ${s.userId} FOR UPDATE`;
  return rows.length === 0 ? null : findConversation(s, id);
}

export async function listConversations(
  s: UserScope,
  f: { status?: ConversationStatusName | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<ConversationRow>> {
  const rows = await s.tx.conversation.findMany({
    where: { userId: s.userId, ...(f.status ? { status: f.status } : {}), ...afterCursor(f.cursor) },
    orderBy: [...keysetOrder()],
    take: f.limit + 1,
    include: withMessageCount,
  });
  return toPage(rows.map(counted), f.limit);
}

export async function setConversationStatus(s: UserScope, id: string, status: ConversationStatusName): Promise<ConversationRow> {
  return counted(await s.tx.conversation.update({ where: { id }, data: { status }, include: withMessageCount }));
}

/** Appends a message and bumps the conversation's updatedAt (lists show recent conversations first). */
export async function insertMessage(
  s: UserScope,
  m: { conversationId: string; role: MessageRoleName; content: string; tokenCount: number },
): Promise<MessageRow> {
  const message = await s.tx.message.create({ data: m, select: messageFields });
  await s.tx.conversation.update({ where: { id: m.conversationId }, data: { updatedAt: new Date() } });
  return message;
}

/** Oldest first: a conversation reads top to bottom. */
export async function listMessages(
  s: UserScope,
  f: { conversationId: string; cursor?: string | undefined; limit: number },
): Promise<Page<MessageRow>> {
  const rows = await s.tx.message.findMany({
    where: { conversationId: f.conversationId, conversation: { userId: s.userId }, ...afterCursor(f.cursor, 'asc') },
    orderBy: [...keysetOrder('asc')],
    take: f.limit + 1,
    select: messageFields,
  });
  return toPage(rows, f.limit);
}

/** Full-text search over the caller's messages (generated tsvector + GIN index), best match first. */
export async function searchMessages(
  s: UserScope,
  f: { query: string; conversationId?: string | undefined; limit: number },
): Promise<Array<MessageRow & { rank: number }>> {
  const rows = await s.tx.$queryRaw<
    Array<{
      id: string;
      conversation_id: string;
      role: MessageRoleName;
      content: string;
      token_count: number;
      created_at: Date;
      rank: number;
    }>
  >`
    SELECT m.id::text, m.conversation_id::text, m.role, m.content, m.token_count, m.created_at,
           ts_rank(m.search_vector, q)::float8 AS rank
    FROM messages m
    JOIN conversations c ON c.id = m.conversation_id AND c.user_id = ${s.userId}
    CROSS JOIN websearch_to_tsquery('english', ${f.query}) AS q
    WHERE m.search_vector @@ q AND (${f.conversationId ?? null}::uuid IS NULL OR m.conversation_id = ${f.conversationId ?? null}::uuid)
    ORDER BY rank DESC, m.created_at DESC
    LIMIT ${f.limit}`;
  return rows.map((r) => ({
    id: r.id,
    conversationId: r.conversation_id,
    role: r.role,
    content: r.content,
    tokenCount: r.token_count,
    createdAt: r.created_at,
    rank: r.rank,
  }));
}
