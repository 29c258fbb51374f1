import { randomUUID } from 'node:crypto';
import { EVENT_STREAMS as CONTRACT_STREAMS, eventSchemas } from '@platform/contracts';
import { describe, expect, it } from 'vitest';
import { EVENT_STREAMS, EVENT_SUBJECTS, isEventSubject, parseEnvelope, streamSubjects, subjectsOf } from '../src/events.js';

const envelope = (over: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  subject: 'coordination.agent.online',
  occurredAt: '2026-01-01T00:00:00Z',
  source: 'coordination',
  data: { agent: 'agent-1', status: 'online', lastPingAt: '2026-01-01T00:00:00Z' },
  ...over,
});

describe('stream and subject names', () => {
  it('are the streams the services own (@platform/contracts, where the services take them from)', () => {
    expect(EVENT_STREAMS).toEqual(CONTRACT_STREAMS);
    expect(streamSubjects('knowledge')).toBe('knowledge.>');
  });
  it('list every subject of the contracts, each under its service', () => {
    expect([...EVENT_SUBJECTS].sort()).toEqual(Object.keys(eventSchemas).sort());
    const services = Object.keys(EVENT_STREAMS) as (keyof typeof EVENT_STREAMS)[];
    expect(services.flatMap((s) => subjectsOf(s)).sort()).toEqual([...EVENT_SUBJECTS].sort());
    expect(isEventSubject('knowledge.block.created')).toBe(true);
    expect(isEventSubject('knowledge.block.eaten')).toBe(false);
  });
});

describe('parseEnvelope', () => {
  it('returns a typed envelope from JSON, a string or the message bytes', () => {
    const e = envelope();
    for (const raw of [e, JSON.stringify(e), new TextEncoder().encode(JSON.stringify(e))]) {
      const r = parseEnvelope(raw, { subjects: ['coordination.agent.online'], receivedOn: 'coordination.agent.online' });
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.envelope.data).toEqual(e.data);
    }
  });
  it('refuses a payload that does not match its subject', () => {
    const r = parseEnvelope(envelope({ data: { agent: 'agent-1', status: 'asleep', lastPingAt: '2026-01-01T00:00:00Z' } }));
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/data for coordination.agent.online/) });
  });
  it('refuses an envelope from a service that does not own the subject', () => {
    expect(parseEnvelope(envelope({ source: 'operations' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/does not own/) });
  });
  it('refuses an envelope that claims another subject than the one it arrived on', () => {
    expect(parseEnvelope(envelope(), { receivedOn: 'coordination.agent.offline' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/arrived on/),
    });
  });
  it('refuses a subject that was not asked for, an unknown subject and bytes that are not JSON', () => {
    expect(parseEnvelope(envelope(), { subjects: ['coordination.agent.offline'] })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/unexpected subject/),
    });
    expect(parseEnvelope(envelope({ subject: 'coordination.agent.eaten' }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/unknown subject/),
    });
    expect(parseEnvelope(new TextEncoder().encode('{nope'))).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
  });
});
