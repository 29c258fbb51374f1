import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checksum,
  LOCKFILE_CONTENT,
  MigrationName,
  nextMigrationName,
  readMigrationsDir,
  timestamp,
  toMigrationList,
} from './migrations-dir.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'migrations-dir-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('migrations-dir', () => {
  it('formats UTC timestamps like Prisma', () => {
    expect(timestamp(new Date(Date.UTC(2026, 10, 3, 4, 5, 6)))).toBe('20261103040506');
  });

  it('normalises names the way Prisma does', () => {
    expect(MigrationName.parse(' Add Outbox-Index ')).toBe('add_outbox_index');
    expect(MigrationName.safeParse('---').success).toBe(false);
  });

  it('keeps folder order when the clock does not move forward', () => {
    const loaded = { dir: '/x', lockfile: LOCKFILE_CONTENT, migrations: [{ name: '20261231235959_a', sql: '', checksum: '' }] };
    expect(nextMigrationName(loaded, 'b', new Date(Date.UTC(2026, 0, 1)))).toBe('20270101000000_b');
    expect(nextMigrationName(loaded, 'b', new Date(Date.UTC(2027, 0, 1, 0, 0, 5)))).toBe('20270101000005_b');
  });

  it('reads, sorts and checksums folders; missing dir = empty history', async () => {
    const d = await tempDir();
    expect((await readMigrationsDir(path.join(d, 'nope'))).migrations).toEqual([]);
    await writeFile(path.join(d, 'migration_lock.toml'), LOCKFILE_CONTENT);
    for (const n of ['20260102000000_b', '20260101000000_a']) {
      await mkdir(path.join(d, n));
      await writeFile(path.join(d, n, 'migration.sql'), `-- ${n}\n`);
    }
    const loaded = await readMigrationsDir(d);
    expect(loaded.migrations.map((m) => m.name)).toEqual(['20260101000000_a', '20260102000000_b']);
    expect(loaded.migrations[0]!.checksum).toBe(checksum('-- 20260101000000_a\n'));
    expect(toMigrationList(loaded, new Set(['20260102000000_b'])).migrationDirectories.map((m) => m.path)).toEqual(['20260102000000_b']);
  });

  it('refuses bad folder names, missing migration.sql and a foreign lock file', async () => {
    const d = await tempDir();
    await writeFile(path.join(d, 'migration_lock.toml'), LOCKFILE_CONTENT);
    await mkdir(path.join(d, 'init'));
    await expect(readMigrationsDir(d)).rejects.toThrow(/not a migration folder name/);
    await rm(path.join(d, 'init'), { recursive: true });
    await mkdir(path.join(d, '20260101000000_a'));
    await expect(readMigrationsDir(d)).rejects.toThrow(/migration.sql is missing/);
    await writeFile(path.join(d, '20260101000000_a', 'migration.sql'), '');
    await writeFile(path.join(d, 'migration_lock.toml'), 'provider = "mysql"\n');
    await expect(readMigrationsDir(d)).rejects.toThrow(/provider = "postgresql"/);
  });
});
