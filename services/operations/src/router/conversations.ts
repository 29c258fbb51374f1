import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import {
  appendMessage,
  createConversation,
  getConversation,
  listConversations,
  listMessages,
  searchMessages,
  setStatus,
} from '../domain/conversations.js';
import type { CoreDeps } from '../domain/deps.js';
import type { ConversationRow, MessageRow } from '../store/conversations.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, Id, iso, Limit, pageOf, toPage } from './wire.js';

const conversationsMeta = openApiMeta('conversations');
const messagesMeta = openApiMeta('messages');

export const ConversationStatus = z.enum(['active', 'archived', 'closed']);
export const MessageRole = z.enum(['user', 'assistant', 'system', 'tool']);
export const Conversation = z.object({
  id: z.uuid(),
  userId: z.string(),
  sessionId: z.uuid().nullable(),
  status: ConversationStatus,
  title: z.string().nullable(),
  /** How many messages the conversation has. */
  messageCount: z.number().int().min(0),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const Message = z.object({
  id: z.uuid(),
  conversationId: z.uuid(),
  role: MessageRole,
  content: z.string(),
  tokenCount: z.number().int(),
  createdAt: z.string(),
});

const toConversation = (c: ConversationRow): z.infer<typeof Conversation> => ({
  ...c,
  createdAt: iso(c.createdAt),
  updatedAt: iso(c.updatedAt),
});
const toMessage = (m: MessageRow): z.infer<typeof Message> => ({ ...m, createdAt: iso(m.createdAt) });

export function conversationsRouter(deps: CoreDeps) {
  return router({
    create: authedProcedure
      .meta(conversationsMeta('POST', '/conversations/create', 'Start a conversation'))
      .input(z.strictObject({ title: z.string().trim().min(1).max(500).optional(), sessionId: Id.optional() }))
      .output(Conversation)
      .mutation(async ({ ctx, input }) => toConversation(await createConversation(deps, ctx.principal, input))),
    get: authedProcedure
      .meta(conversationsMeta('GET', '/conversations/get', 'One of the caller’s conversations'))
      .input(z.strictObject({ id: Id }))
      .output(Conversation)
      .query(async ({ ctx, input }) => toConversation(await getConversation(deps, ctx.principal, input.id))),
    list: authedProcedure
      .meta(conversationsMeta('GET', '/conversations/list', 'The caller’s conversations, newest first'))
      .input(z.strictObject({ status: ConversationStatus.optional(), cursor: Cursor, limit: Limit }))
      .output(pageOf(Conversation))
      .query(async ({ ctx, input }) => toPage(await listConversations(deps, ctx.principal, input), toConversation)),
    setStatus: authedProcedure
      .meta(conversationsMeta('POST', '/conversations/set-status', 'Archive, reactivate or close a conversation'))
      .input(z.strictObject({ id: Id, status: ConversationStatus }))
      .output(Conversation)
      .mutation(async ({ ctx, input }) => toConversation(await setStatus(deps, ctx.principal, input.id, input.status))),
  });
}

export function messagesRouter(deps: CoreDeps) {
  return router({
    append: authedProcedure
      .meta(messagesMeta('POST', '/messages/append', 'Add a message to an active conversation'))
      .input(
        z.strictObject({
          conversationId: Id,
          role: MessageRole,
          content: z.string().min(1).max(200_000),
          tokenCount: z.number().int().min(0).max(10_000_000).optional(),
        }),
      )
      .output(Message)
      .mutation(async ({ ctx, input }) => toMessage(await appendMessage(deps, ctx.principal, input))),
    list: authedProcedure
      .meta(messagesMeta('GET', '/messages/list', 'A conversation’s messages, oldest first'))
      .input(z.strictObject({ conversationId: Id, cursor: Cursor, limit: Limit }))
      .output(pageOf(Message))
      .query(async ({ ctx, input }) => toPage(await listMessages(deps, ctx.principal, input), toMessage)),
    search: authedProcedure
      .meta(messagesMeta('GET', '/messages/search', 'Full-text search over the caller’s messages'))
      .input(
        z.strictObject({
          query: z.string().trim().min(1).max(500),
          conversationId: Id.optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
      )
      .output(z.array(Message.extend({ rank: z.number() })))
      .query(async ({ ctx, input }) => (await searchMessages(deps, ctx.principal, input)).map((m) => ({ ...toMessage(m), rank: m.rank }))),
  });
}
