import { eventSchemas, parseEnvelope, type EventSubject } from '@platform/contracts';
import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument, EVENT_PUBLISHERS, eventStreamOf } from './asyncapi.js';
import { EVENT_STREAM_OWNERS } from './nats.js';

// ajv-formats is CommonJS with a default export; under NodeNext its default import is the module.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

interface Message {
  name: string;
  payload: object;
}
interface Channel {
  address: string;
  'x-jetstream-stream': string;
  'x-publisher': string;
  messages: Record<string, Message>;
}

const channelsOf = (doc: { channels: Record<string, unknown> }) => Object.values(doc.channels) as Channel[];
const subjectsOf = (doc: { channels: Record<string, unknown> }) =>
  channelsOf(doc)
    .map((c) => c.address)
    .sort();

describe('the AsyncAPI document', () => {
  it('has one channel per subject of the shared/contracts registry, no more, no fewer', () => {
    expect(subjectsOf(asyncApiDocument())).toEqual(Object.keys(eventSchemas).sort());
    expect(Object.keys(eventSchemas).filter((s) => s.startsWith('operations.'))).toHaveLength(16);
  });

  it('is a valid AsyncAPI 3.0 document (the @asyncapi/specs JSON schema)', () => {
    // The bundled schema embeds the draft-07 meta-schema under its own $id: without ajv's copy (meta: false) it is the only one.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, meta: false, validateSchema: false });
    const validate = ajv.compile(specs.schemas['3.0.0'] as object);
    const ok = validate(asyncApiDocument());
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toEqual([]);
    expect(ok).toBe(true);
  });

  it("served by one service, lists exactly that service's subjects, in the stream it owns", () => {
    for (const service of Object.keys(EVENT_PUBLISHERS) as Array<keyof typeof EVENT_PUBLISHERS>) {
      const doc = asyncApiDocument({ services: [service] });
      expect(subjectsOf(doc)).toEqual(Object.keys(EVENT_PUBLISHERS[service]).sort());
      for (const channel of channelsOf(doc)) {
        expect(channel.address.startsWith(`${service}.`)).toBe(true);
        expect(channel['x-publisher']).toBe(service);
        expect(EVENT_STREAM_OWNERS[channel['x-jetstream-stream']]).toBe(service);
      }
    }
    expect(eventStreamOf('operations')).toBe('OPERATIONS_EVENTS');
  });

  // The payload is the JSON Schema form of the zod schema: what one accepts, the other must too.
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  const payloads = new Map(channelsOf(asyncApiDocument()).map((c) => [c.address, Object.values(c.messages)[0]!.payload]));
  const envelope = { id: '0b8c6c1e-6a43-4c49-8d7c-4c1f0a1f2b3c', occurredAt: '2026-11-23T10:00:00.000+01:00', source: 'operations' };
  const task = {
    taskId: '5c3a1c8e-1d2b-4f5e-9a7b-1c2d3e4f5a6b',
    ownerId: 'alice',
    status: 'done',
    priority: 'P1',
    parentId: null,
    blockId: null,
  };

  it.each<[string, EventSubject, Record<string, unknown>, boolean]>([
    ['a task event', 'operations.task.completed', { ...envelope, subject: 'operations.task.completed', data: task }, true],
    [
      'a task event with a team and its change',
      'operations.task.updated',
      { ...envelope, subject: 'operations.task.updated', data: { ...task, teamId: null, change: 'status', previousStatus: 'todo' } },
      true,
    ],
    [
      'a task details edit naming its fields',
      'operations.task.updated',
      {
        ...envelope,
        subject: 'operations.task.updated',
        data: { ...task, dueAt: '2027-01-01T00:00:00.000Z', change: 'details', changed: ['title', 'dueAt'] },
      },
      true,
    ],
    [
      'a task details edit naming an unknown field',
      'operations.task.updated',
      { ...envelope, subject: 'operations.task.updated', data: { ...task, change: 'details', changed: ['status'] } },
      false,
    ],
    [
      'a deleted subtask naming the task deleted with it',
      'operations.task.deleted',
      { ...envelope, subject: 'operations.task.deleted', data: { ...task, deletedWith: '0b8c6c1e-6a43-4c49-8d7c-4c1f0a1f2b3c' } },
      true,
    ],
    [
      'a task deletion without deletedWith',
      'operations.task.deleted',
      { ...envelope, subject: 'operations.task.deleted', data: task },
      false,
    ],
    [
      'an appended event with null data',
      'operations.event.appended',
      {
        ...envelope,
        subject: 'operations.event.appended',
        data: { position: 1, eventId: envelope.id, aggregateId: 'a', aggregateType: 't', eventType: 'x', version: 1, data: null },
      },
      true,
    ],
    [
      'a task event without its owner',
      'operations.task.completed',
      { ...envelope, subject: 'operations.task.completed', data: { ...task, ownerId: undefined } },
      false,
    ],
    [
      'a task event with an unknown status',
      'operations.task.completed',
      { ...envelope, subject: 'operations.task.completed', data: { ...task, status: 'finished' } },
      false,
    ],
    ['an envelope of another subject', 'operations.task.completed', { ...envelope, subject: 'operations.task.created', data: task }, false],
    [
      'an envelope whose id is no uuid',
      'operations.task.completed',
      { ...envelope, id: 'x', subject: 'operations.task.completed', data: task },
      false,
    ],
  ])('%s: the document and the zod schema agree', (_label, subject, message, valid) => {
    const json = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
    expect(ajv.validate(payloads.get(subject)!, json)).toBe(valid);
    expect(parseEnvelope(json, [subject]).ok).toBe(valid);
  });
});
