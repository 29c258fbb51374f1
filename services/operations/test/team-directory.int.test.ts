import { teamMembershipKey } from '@platform/contracts';
import { connectNats, natsTeamDirectory, type NatsConnection } from '@platform/kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTeamDirectoryPublisher, teamMembershipBucket, type TeamDirectoryPublisher } from '../src/events/team-directory.js';
import { startWriteListener, type WriteListener } from '../src/store/write-listener.js';
import { callerFor, silentLog, testDeps, user } from './support/callers.js';
import { startPrivateNats, type PrivateNats } from '@platform/testkit';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';

// Team memberships in Postgres → the TEAM_MEMBERSHIP KV bucket → natsTeamDirectory, against a real
// nats-server (this test's own) and a scratch database.
let s: ScratchDb;
let nats: PrivateNats;
let nc: NatsConnection;
let publisher: TeamDirectoryPublisher | undefined;
let writes: WriteListener;
let setupError: unknown;

beforeAll(async () => {
  try {
    s = await migratedScratchDb('teamdir');
    nats = await startPrivateNats({ portRange: [4491, 4499], as: 'platform' });
    nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name: 'team-directory-test', log: silentLog });
    writes = startWriteListener({ connectionString: s.appUrl, log: silentLog });
  } catch (e) {
    setupError = e;
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
afterAll(async () => {
  await publisher?.stop();
  await writes?.stop();
  await nc?.close().catch(() => undefined);
  await nats?.destroy();
  await s?.drop();
});

const BOUND_MS = 3_000;
// Wired as main.ts does: woken by the directory queue's NOTIFY (the write listener), nobody pokes it.
// Its safety-net poll is a minute here, so every bound below is met by the notification alone.
const start = async () =>
  (publisher = await startTeamDirectoryPublisher({
    sql: s.sql,
    nc,
    log: silentLog,
    intervalMs: 60_000,
    written: writes.teamDirectoryWritten,
  }));
const deps = () => testDeps(s);

/** Waits until `check` holds for the user's teams, or fails after BOUND_MS. */
async function eventually(
  directory: ReturnType<typeof natsTeamDirectory>,
  userId: string,
  check: (teams: ReadonlySet<string>) => boolean,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const teams = await directory.teamsOf(userId);
    if (check(teams)) return Date.now() - t0;
    if (Date.now() - t0 > BOUND_MS) throw new Error(`${userId}'s teams are still [${[...teams].join(', ')}] after ${BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('team directory', () => {
  it('follows invite and removal within a short bound', async () => {
    await start();
    const directory = natsTeamDirectory(nc, { ttlMs: 20 });
    const alice = callerFor(deps(), user('alice'));
    const bob = callerFor(deps(), user('bob@example.com')); // not a key-safe id: stored under an encoded key
    await bob.users.me({});
    expect(await directory.teamsOf('bob@example.com')).toEqual(new Set());

    const team = await alice.teams.create({ name: 'directory team' });
    await eventually(directory, 'alice', (t) => t.has(team.id));
    await alice.teams.invite({ teamId: team.id, userId: 'bob@example.com', role: 'viewer' });
    const added = await eventually(directory, 'bob@example.com', (t) => t.has(team.id));

    const other = await alice.teams.create({ name: 'second team' });
    await alice.teams.invite({ teamId: other.id, userId: 'bob@example.com', role: 'member' });
    await eventually(directory, 'bob@example.com', (t) => t.size === 2);

    await alice.teams.removeMember({ teamId: team.id, userId: 'bob@example.com' });
    const removed = await eventually(directory, 'bob@example.com', (t) => !t.has(team.id) && t.has(other.id));
    await alice.teams.removeMember({ teamId: other.id, userId: 'bob@example.com' });
    await eventually(directory, 'bob@example.com', (t) => t.size === 0);
    console.log(`team directory: invite visible after ${added} ms, removal after ${removed} ms`);
  });

  it('drops a cached answer as soon as the membership changes, however long the cache keeps it', async () => {
    const directory = natsTeamDirectory(nc, { ttlMs: 10 * 60_000 });
    const gail = callerFor(deps(), user('gail'));
    await callerFor(deps(), user('henry')).users.me({});
    expect(await directory.teamsOf('henry')).toEqual(new Set()); // cached for ten minutes
    const team = await gail.teams.create({ name: 'watched team' });
    await gail.teams.invite({ teamId: team.id, userId: 'henry', role: 'member' });
    await eventually(directory, 'henry', (t) => t.has(team.id));
    await gail.teams.removeMember({ teamId: team.id, userId: 'henry' });
    await eventually(directory, 'henry', (t) => !t.has(team.id));
  });

  it('follows writes no router made (a cascade from a deleted user)', async () => {
    const directory = natsTeamDirectory(nc, { ttlMs: 20 });
    const carol = callerFor(deps(), user('carol'));
    await callerFor(deps(), user('dave')).users.me({});
    const team = await carol.teams.create({ name: 'cascade team' });
    await carol.teams.invite({ teamId: team.id, userId: 'dave', role: 'member' });
    await eventually(directory, 'dave', (t) => t.has(team.id));
    await s.admin.query(`DELETE FROM users WHERE principal_id = 'dave'`);
    await eventually(directory, 'dave', (t) => t.size === 0);
  });

  it('converges on start: a lost write, a stale entry and a wiped value are all corrected', async () => {
    await publisher?.stop();
    publisher = undefined;
    const directory = natsTeamDirectory(nc, { ttlMs: 0 });
    const kv = await teamMembershipBucket(nc);
    const erin = callerFor(deps(), user('erin'));
    const team = await erin.teams.create({ name: 'resync team' }); // committed while no publisher runs
    // A crash between commit and KV write, then a lost queue: only the resync can repair this.
    await s.admin.query(`DELETE FROM team_directory_changes`);
    await kv.put(teamMembershipKey('ghost'), JSON.stringify({ userId: 'ghost', teamIds: [team.id], updatedAt: new Date().toISOString() }));
    await kv.delete(teamMembershipKey('alice'));
    expect(await directory.teamsOf('erin')).toEqual(new Set());

    await start();
    await eventually(directory, 'erin', (t) => t.has(team.id));
    await eventually(directory, 'ghost', (t) => t.size === 0);
    await eventually(directory, 'alice', (t) => t.size === 2);
  });

  it('answers no teams when the bucket does not exist, and refuses a malformed value', async () => {
    expect(await natsTeamDirectory(nc, { bucket: 'NO_SUCH_BUCKET' }).teamsOf('alice')).toEqual(new Set());
    const kv = await teamMembershipBucket(nc, 'TEAM_MEMBERSHIP_BAD');
    await kv.put(teamMembershipKey('mallory'), JSON.stringify({ userId: 'mallory', teamIds: ['not-a-uuid'], updatedAt: 'yesterday' }));
    await expect(natsTeamDirectory(nc, { bucket: 'TEAM_MEMBERSHIP_BAD' }).teamsOf('mallory')).rejects.toThrow();
  });
});
