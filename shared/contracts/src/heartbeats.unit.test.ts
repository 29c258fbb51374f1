import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentHeartbeat, heartbeatMac, heartbeatSigningBytes, signHeartbeat, type UnsignedHeartbeat } from './heartbeats.js';

const key = randomBytes(32).toString('base64url');
const base: UnsignedHeartbeat = {
  v: 2,
  agent: 'builder',
  sentAt: '2026-12-01T10:00:00.000Z',
  runningJobIds: ['0b9a4c1e-8f1e-4c47-9a53-2f1f6c3e2a10'],
  load: 0.5,
  session: 's-1',
  claimsSettled: 3,
};

describe('heartbeat signatures', () => {
  it('cover the fields in a fixed order, whatever order an object lists them in', () => {
    const reordered = JSON.parse(
      JSON.stringify({
        claimsSettled: 3,
        session: 's-1',
        load: 0.5,
        runningJobIds: base.runningJobIds,
        sentAt: base.sentAt,
        agent: 'builder',
        v: 2,
      }),
    ) as UnsignedHeartbeat;
    expect(heartbeatSigningBytes(reordered).equals(heartbeatSigningBytes(base))).toBe(true);
    expect(heartbeatMac(key, reordered)).toBe(heartbeatMac(key, base));
  });

  it('change when any field or the key changes', () => {
    const mac = heartbeatMac(key, base);
    const changes: Array<Partial<UnsignedHeartbeat>> = [
      { agent: 'builder2' },
      { sentAt: '2026-12-01T10:00:00.001Z' },
      { runningJobIds: [] },
      { load: null },
      { session: 's-2' },
      { claimsSettled: 4 },
    ];
    for (const change of changes) expect(heartbeatMac(key, { ...base, ...change })).not.toBe(mac);
    expect(heartbeatMac(randomBytes(32).toString('base64url'), base)).not.toBe(mac);
    // A field's value cannot move into its neighbour (JSON array, not concatenation).
    expect(heartbeatMac(key, { ...base, agent: 'build', session: 'ers-1' })).not.toBe(mac);
  });

  it('make a message the schema accepts; a version 1 (bearer token) heartbeat is not one', () => {
    expect(AgentHeartbeat.parse(signHeartbeat(key, base))).toEqual(signHeartbeat(key, base));
    expect(AgentHeartbeat.safeParse({ token: 'eyJ…', runningJobIds: [], load: null, session: null, claimsSettled: null }).success).toBe(
      false,
    );
    expect(AgentHeartbeat.safeParse({ ...signHeartbeat(key, base), token: 'eyJ…' }).success).toBe(false);
  });
});
