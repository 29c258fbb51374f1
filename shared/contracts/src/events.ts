import { z } from 'zod';
import { EventId, IsoDateTime } from './ids.js';
import { coordinationEvents } from './events/coordination.js';
import { knowledgeEvents } from './events/knowledge.js';
import { operationsEvents } from './events/operations.js';

/**
 * The event envelope every service publishes. `id` doubles as JetStream's Nats-Msg-Id,
 * so the server drops duplicates inside its window and consumers can dedupe by it.
 */
export const EventEnvelope = z.object({
  id: EventId,
  subject: z.string().regex(/^[a-z]+\.[a-z_]+(\.[a-z_]+)*\.[a-z_]+$/),
  occurredAt: IsoDateTime.describe('When the change happened (ISO 8601 with offset)'),
  source: z.string().min(1).max(100).describe('The publishing service; consumers refuse an envelope whose source does not own the stream'),
  correlationId: z.string().max(200).optional().describe('Trace id of the request that caused the change'),
  causationId: z.string().max(200).optional().describe('Id of the event that caused this one, when an event did'),
  /**
   * W3C trace context of the change that produced the event. Events leave through an outbox
   * relay that runs outside the request, so the context travels with the event itself and the
   * relay puts it back into the NATS headers: one trace spans request, publish and consumers.
   */
  traceparent: z
    .string()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional()
    .describe('W3C trace context of the change (also in the message headers)'),
  data: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** One schema per subject. Subjects are `<service>.<entity>.<past-tense-verb>`. */
export const eventSchemas = {
  ...knowledgeEvents,
  ...operationsEvents,
  ...coordinationEvents,
} as const;
export type EventSubject = keyof typeof eventSchemas;
export type EventData<S extends EventSubject> = z.infer<(typeof eventSchemas)[S]>;
export type TypedEnvelope<S extends EventSubject> = Omit<EventEnvelope, 'subject' | 'data'> & {
  subject: S;
  data: EventData<S>;
};

export function isEventSubject(subject: string): subject is EventSubject {
  return Object.hasOwn(eventSchemas, subject);
}

/** Validates an envelope and its subject's payload; returns a typed envelope or the zod error. */
export function parseEnvelope<S extends EventSubject>(
  raw: unknown,
  expected?: readonly S[],
): { ok: true; envelope: TypedEnvelope<S> } | { ok: false; reason: string } {
  const env = EventEnvelope.safeParse(raw);
  if (!env.success) return { ok: false, reason: `envelope: ${z.prettifyError(env.error)}` };
  const subject = env.data.subject;
  if (!isEventSubject(subject)) return { ok: false, reason: `unknown subject ${subject}` };
  if (expected && !(expected as readonly string[]).includes(subject)) {
    return { ok: false, reason: `unexpected subject ${subject}` };
  }
  const data = eventSchemas[subject].safeParse(env.data.data);
  if (!data.success) return { ok: false, reason: `data for ${subject}: ${z.prettifyError(data.error)}` };
  return { ok: true, envelope: { ...env.data, subject, data: data.data } as TypedEnvelope<S> };
}
