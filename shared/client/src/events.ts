import { eventSchemas, isEventSubject as isContractSubject, parseEnvelope as parseContractEnvelope } from '@platform/contracts';
import type { EventSubject, TypedEnvelope } from './event-types.js';
import type { ServiceName } from './routers.js';

/**
 * The JetStream stream each service publishes its events to; the stream takes the subjects
 * `<service>.>`. Only that service may publish there, so an envelope whose `source` is another
 * service did not come from the platform (parseEnvelope refuses it). Spelled out here (the published
 * package ships no @platform/* import); a unit test keeps it equal to @platform/contracts' EVENT_STREAMS.
 */
export const EVENT_STREAMS = {
  knowledge: 'KNOWLEDGE_EVENTS',
  operations: 'OPERATIONS_EVENTS',
  coordination: 'COORDINATION_EVENTS',
} as const satisfies Record<ServiceName, string>;

/** The filter subject that takes every event of a service, e.g. `operations.>`. */
export const streamSubjects = (service: ServiceName): string => `${service}.>`;

/** Every subject the platform publishes (one payload type each, see EventDataMap). */
export const EVENT_SUBJECTS: readonly EventSubject[] = Object.freeze(Object.keys(eventSchemas) as EventSubject[]);

/** The subjects one service publishes. */
export const subjectsOf = (service: ServiceName): EventSubject[] => EVENT_SUBJECTS.filter((s) => s.startsWith(`${service}.`));

export const isEventSubject = (subject: string): subject is EventSubject => isContractSubject(subject);

export type ParsedEnvelope<S extends EventSubject> = { ok: true; envelope: TypedEnvelope<S> } | { ok: false; reason: string };

const decoder = new TextDecoder();

export interface ParseEnvelopeOptions<S extends EventSubject> {
  /** The subjects the subscriber expects; any other is refused. */
  subjects?: readonly S[];
  /** The subject the message arrived on (`msg.subject`): an envelope claiming another is refused. */
  receivedOn?: string;
}

/**
 * Checks one message: the envelope, its subject and the payload against the subject's schema;
 * refuses an envelope whose `source` is not the service that owns the subject, or that claims
 * another subject than the one it arrived on. Takes the parsed JSON or the message bytes (`msg.data`).
 */
export function parseEnvelope<S extends EventSubject = EventSubject>(raw: unknown, opts: ParseEnvelopeOptions<S> = {}): ParsedEnvelope<S> {
  let value = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : decoder.decode(raw));
    } catch (err) {
      return { ok: false, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  const parsed = parseContractEnvelope<S>(value, opts.subjects);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const { subject, source } = parsed.envelope;
  if (source !== subject.split('.')[0]) return { ok: false, reason: `source ${JSON.stringify(source)} does not own subject ${subject}` };
  if (opts.receivedOn !== undefined && opts.receivedOn !== subject)
    return { ok: false, reason: `envelope subject ${subject} arrived on ${opts.receivedOn}` };
  // The contracts type the envelope for all of `S` at once; the client's TypedEnvelope is the same
  // value typed per subject (a union member for each), which is what makes `subject` narrow `data`.
  return { ok: true, envelope: parsed.envelope as unknown as TypedEnvelope<S> };
}
