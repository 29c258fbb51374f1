import { asyncApiDocument } from '@platform/kit';
import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendToStream } from '../src/store/event-store.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';

// `operations.event.appended` is the one envelope operations writes in SQL (one statement with the
// append) instead of through createEnvelope's types: what lands in the outbox, and so on the wire,
// must still be what the AsyncAPI document promises subscribers, event data kept as appended.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;
let s: ScratchDb;
beforeAll(async () => {
  s = await migratedScratchDb('envelopes');
});
afterAll(async () => {
  await s?.drop();
});

it('the outbox envelopes of appended events match the AsyncAPI payload, with null and nested nulls kept', async () => {
  const channel = Object.values(asyncApiDocument({ services: ['operations'] }).channels).find(
    (c) => (c as { address: string }).address === 'operations.event.appended',
  ) as {
    messages: Record<string, { payload: object }>;
  };
  const validate = addFormats(new Ajv({ strict: false, allErrors: true })).compile(Object.values(channel.messages)[0]!.payload);
  const stream = `envelopes-${crypto.randomUUID()}`;
  const events = [
    { type: 'Noted', data: { note: null, nested: { a: null, b: [null, 1] } } },
    { type: 'Empty', data: null },
    { type: 'Plain', data: { n: 1 } },
  ];
  await appendToStream(s.sql, stream, 'Probe', events, 'no_stream', { correlationId: 'corr-1' });

  const rows = (
    await s.admin.query<{ envelope: Record<string, unknown> }>(
      `SELECT envelope FROM outbox WHERE envelope->'data'->>'aggregateId' = $1 ORDER BY (envelope->'data'->>'version')::int`,
      [stream],
    )
  ).rows;
  expect(rows).toHaveLength(3);
  for (const { envelope } of rows) expect(validate(envelope), JSON.stringify({ envelope, errors: validate.errors })).toBe(true);
  expect(rows.map((r) => (r.envelope['data'] as { data: unknown }).data)).toEqual(events.map((e) => e.data));
  // Absent envelope fields stay absent (not null): causationId was not given.
  expect(rows[0]!.envelope).toMatchObject({ subject: 'operations.event.appended', source: 'operations', correlationId: 'corr-1' });
  expect(rows[0]!.envelope).not.toHaveProperty('causationId');
});
