import { coordinationEvents, EventEnvelope, knowledgeEvents, operationsEvents, type EventSubject } from '@platform/contracts';
import { z } from 'zod';
import { EVENT_STREAM_OWNERS } from './nats.js';

/**
 * The AsyncAPI 3.0 document of the platform's events, built from the zod schemas in
 * shared/contracts at run time, so it cannot drift from what the services validate. Served by each
 * service at /asyncapi.json (its own subjects) and rendered into docs/ (every subject) by
 * scripts/docs/events.ts.
 */

/** Who publishes which subjects: each service's registry in shared/contracts. */
export const EVENT_PUBLISHERS = {
  knowledge: knowledgeEvents,
  operations: operationsEvents,
  coordination: coordinationEvents,
} as const;
export type EventPublisher = keyof typeof EVENT_PUBLISHERS;

/**
 * When each subject is published, for people. A Record over every subject: adding a subject to
 * shared/contracts without saying here when it is sent fails the typecheck.
 */
const SUMMARIES: Record<EventSubject, string> = {
  'knowledge.block.created': 'A block was created (also the replacement a supersede creates).',
  'knowledge.block.updated': 'A block was changed; `changed` names the fields (read the values from knowledge).',
  'knowledge.block.superseded':
    'A block was replaced by a new one (`replacedBy`, announced by its own `knowledge.block.created`); the old one was valid until `validTo`.',
  'knowledge.block.archived': 'A block was archived.',
  'knowledge.link.created': 'A typed link between two blocks was created.',
  'knowledge.link.removed': 'A typed link between two blocks was removed.',
  'knowledge.run.step.changed': 'A step of a run was added, moved or changed status; `seq` orders the changes of one run.',
  'operations.task.created': 'A task was created (one event per subtask too).',
  'operations.task.updated':
    'A task changed status, parent or details (`change`; `previousStatus`, or `changed` for title, description, priority, due date).',
  'operations.task.completed': 'A task reached `done` (after its `operations.task.updated`).',
  'operations.task.deleted':
    'A task was deleted by its owner: one event per task of the deleted tree, deepest subtasks first (`deletedWith`: the task the owner deleted).',
  'operations.approval.requested': 'An approval was requested, by a user or as the escalation of `coordination.agent.stuck`.',
  'operations.approval.decided': 'An approval was approved, rejected or cancelled.',
  'operations.memory.created': 'An agent or user memory was created.',
  'operations.memory.updated': 'A memory was updated, tagged or untagged (`change`).',
  'operations.memory.expired': 'A memory expired.',
  'operations.saga.started': 'A saga started.',
  'operations.saga.compensating': 'A saga step failed and the saga is undoing its completed steps.',
  'operations.saga.completed': 'A saga ran all its steps.',
  'operations.saga.compensated': 'A saga undid its steps after a failure.',
  'operations.saga.failed': 'A saga failed and could not be compensated (`error`).',
  'operations.saga.step.changed':
    'A saga step (or its compensation) started, is retrying, succeeded or failed; `version` orders the events of one saga.',
  'operations.event.appended': 'An event was appended to the event store (one per event, in position order per stream).',
  'coordination.job.queued': 'A job was queued (triggered, scheduled or retried).',
  'coordination.job.started': 'An agent claimed a job.',
  'coordination.job.succeeded': 'A job finished with a result.',
  'coordination.job.failed': 'A job attempt failed; it is retried while attempts remain.',
  'coordination.job.cancelled': 'A job was cancelled.',
  'coordination.job.dead': 'A job failed its last attempt and went to the dead letters (the `jobs.retry` procedure queues it again).',
  'coordination.agent.online': 'An agent came online (first heartbeat, or back after stale/offline).',
  'coordination.agent.stale': 'An agent missed two heartbeats.',
  'coordination.agent.offline': 'An agent missed heartbeats for its whole TTL.',
  'coordination.agent.stuck': 'An agent asked for help; operations escalates it as an approval.',
};

/** The event stream a service publishes into (shared/kit EVENT_STREAM_OWNERS). */
export function eventStreamOf(service: EventPublisher): string {
  const stream = Object.keys(EVENT_STREAM_OWNERS).find((s) => EVENT_STREAM_OWNERS[s] === service);
  if (!stream) throw new Error(`no event stream owned by ${service} in EVENT_STREAM_OWNERS`);
  return stream;
}

type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema (draft 07, which AsyncAPI 3's default schema format extends) of what a consumer's
 * zod parse accepts: `io: 'input'`, since subscribers parse the wire JSON. zod refinements (an
 * ISO offset within ±18:00) have no JSON Schema form and are left out. One way the document is
 * stricter: a `z.unknown()` key is required in JSON Schema while zod lets it be absent — publishers
 * always send it (event-envelopes.int.test.ts in operations holds the one SQL-built envelope to it).
 */
function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as JsonSchema;
  return rest;
}

/** The envelope of one subject: `subject` fixed, `data` that subject's schema. */
export function envelopeSchema(subject: EventSubject): JsonSchema {
  const data = (Object.values(EVENT_PUBLISHERS) as Array<Record<string, z.ZodType>>).find((r) => Object.hasOwn(r, subject))?.[subject];
  if (!data) throw new Error(`no schema for ${subject}`);
  return jsonSchema(EventEnvelope.extend({ subject: z.literal(subject), data }));
}

/** Channel and operation ids: AsyncAPI keys allow no dots. */
const idOf = (subject: string) => subject.replaceAll('.', '-');

const HEADERS: JsonSchema = {
  type: 'object',
  properties: {
    'Nats-Msg-Id': {
      type: 'string',
      description: 'The envelope id: JetStream drops a duplicate inside its window; consumers dedupe by it.',
    },
    traceparent: { type: 'string', description: 'W3C trace context of the change that produced the event.' },
  },
};

export interface AsyncApiOptions {
  /** Whose subjects to document (default: every service's). */
  services?: readonly EventPublisher[];
  /** info.version: the version of the software serving the document. */
  version?: string;
}

/** The AsyncAPI 3.0 document of the subjects of `services`. */
export function asyncApiDocument(opts: AsyncApiOptions = {}) {
  const services = opts.services ?? (Object.keys(EVENT_PUBLISHERS) as EventPublisher[]);
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const service of services) {
    const stream = eventStreamOf(service);
    for (const subject of Object.keys(EVENT_PUBLISHERS[service]) as EventSubject[]) {
      const id = idOf(subject);
      channels[id] = {
        address: subject,
        summary: SUMMARIES[subject],
        description: `Published by **${service}** into the JetStream stream \`${stream}\` (subjects \`${service}.>\`).`,
        tags: [{ name: service }],
        'x-publisher': service,
        'x-jetstream-stream': stream,
        messages: {
          [id]: {
            name: subject,
            title: subject,
            summary: SUMMARIES[subject],
            contentType: 'application/json',
            headers: HEADERS,
            payload: envelopeSchema(subject),
          },
        },
      };
      operations[`publish-${id}`] = {
        action: 'send',
        summary: SUMMARIES[subject],
        channel: { $ref: `#/channels/${id}` },
        messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
      };
    }
  }
  const scope = services.length === Object.keys(EVENT_PUBLISHERS).length ? 'every service' : services.join(', ');
  return {
    asyncapi: '3.0.0',
    info: {
      title: `Agent platform events (${scope})`,
      version: opts.version ?? '0.1.0',
      description:
        'Events the services publish to NATS JetStream. Every message is an envelope ' +
        '`{ id, subject, occurredAt, source, correlationId?, causationId?, traceparent?, data }` whose `data` ' +
        'depends on the subject; `source` is the publishing service. Read them with the read-only `subscriber` ' +
        'NATS user (core subscriptions or ordered consumers on the streams). Generated from the zod schemas in ' +
        'shared/contracts.',
    },
    defaultContentType: 'application/json',
    servers: {
      nats: {
        host: '{host}:{port}',
        protocol: 'nats',
        description:
          'The NATS server with JetStream: docker compose publishes it on 127.0.0.1:4222; `npm start` runs it on 127.0.0.1:4333.',
        variables: {
          host: { default: 'localhost' },
          port: { default: '4222', examples: ['4222', '4333'] },
        },
        security: [{ $ref: '#/components/securitySchemes/subscriber' }],
      },
    },
    channels,
    operations,
    components: {
      securitySchemes: {
        subscriber: {
          type: 'userPassword',
          description: 'The read-only `subscriber` NATS user (scripts/infra/nats.sh; SUBSCRIBER_NATS_USER / SUBSCRIBER_NATS_PASSWORD).',
        },
      },
    },
  };
}
export type AsyncApiDocument = ReturnType<typeof asyncApiDocument>;

/**
 * A service's two documents for startServiceServer: /openapi.json (title, version) and /asyncapi.json
 * with its own subjects only (during a rollout each service is the authority on what it publishes now).
 */
export function serviceDocuments(service: 'knowledge' | 'operations' | 'coordination', title: string, version: string) {
  return { openapi: { title, version }, asyncapi: () => asyncApiDocument({ services: [service], version }) };
}
