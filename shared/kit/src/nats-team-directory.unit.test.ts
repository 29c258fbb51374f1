import { teamMembershipKey } from '@platform/contracts';
import type { NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import { natsTeamDirectory } from './nats-team-directory.js';

const TEAM_A = '3f1c2b9e-8a47-4d0e-9b61-2c5e7f0a1b2c';

/** Just enough of a NatsConnection for the directory: a KV bucket in a Map, counting reads. */
function fakeNats(values: Map<string, unknown>, opts: { missingBucket?: boolean } = {}) {
  const reads = { n: 0 };
  const kv = {
    get: async (key: string) => {
      reads.n++;
      if (opts.missingBucket) throw new Error('stream not found');
      const v = values.get(key);
      if (v === undefined) return null;
      const bytes = new TextEncoder().encode(JSON.stringify(v));
      return { key, operation: 'PUT', length: bytes.length, json: () => v };
    },
  };
  const nc = { jetstream: () => ({ views: { kv: async () => kv } }) } as unknown as NatsConnection;
  return { nc, reads };
}

describe('natsTeamDirectory', () => {
  it('reads the bucket, caches for ttlMs, and treats a missing key or bucket as no teams', async () => {
    let now = 0;
    const values = new Map<string, unknown>([
      [teamMembershipKey('bob@x.io'), { userId: 'bob@x.io', teamIds: [TEAM_A], updatedAt: '2026-12-01T00:00:00.000Z' }],
    ]);
    const { nc, reads } = fakeNats(values);
    const dir = natsTeamDirectory(nc, { ttlMs: 1_000, now: () => now });
    expect(await dir.teamsOf('bob@x.io')).toEqual(new Set([TEAM_A]));
    expect(await dir.teamsOf('nobody')).toEqual(new Set());
    values.delete(teamMembershipKey('bob@x.io'));
    now = 999;
    expect(await dir.teamsOf('bob@x.io')).toEqual(new Set([TEAM_A])); // cached
    now = 1_000;
    expect(await dir.teamsOf('bob@x.io')).toEqual(new Set()); // expired: read again
    expect(reads.n).toBe(3);
    expect(await natsTeamDirectory(fakeNats(new Map(), { missingBucket: true }).nc).teamsOf('bob')).toEqual(new Set());
  });

  it('keeps at most maxEntries users and refuses a malformed or misfiled value', async () => {
    const values = new Map<string, unknown>([
      ['bad', { userId: 'bad', teamIds: ['nope'], updatedAt: 'x' }],
      ['eve', { userId: 'mallory', teamIds: [], updatedAt: '2026-12-01T00:00:00.000Z' }],
    ]);
    const { nc, reads } = fakeNats(values);
    const dir = natsTeamDirectory(nc, { maxEntries: 2 });
    await dir.teamsOf('a');
    await dir.teamsOf('b');
    await dir.teamsOf('c'); // evicts a
    await dir.teamsOf('b');
    await dir.teamsOf('a');
    expect(reads.n).toBe(4);
    await expect(dir.teamsOf('bad')).rejects.toThrow();
    await expect(dir.teamsOf('eve')).rejects.toThrow(/names mallory/);
    await expect(dir.teamsOf('bad')).rejects.toThrow(); // a failure is not cached as an answer
    expect(reads.n).toBe(7);
  });
});
