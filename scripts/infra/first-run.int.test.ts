/**
 * The first `infra.sh up` on a fresh machine: no nats-server anywhere, so it is built with
 * `go install`, which on a cold Go module cache takes longer than the server's health limit.
 * The limit must time the server, not the build before it; a slow build must say it is still
 * going; and an `up` that fails must stop what it started itself (here a private Postgres).
 *
 * A stand-in `go` on the PATH plays the slow (or broken) builder, and copies the real binary that
 * the test run's own `infra.sh up` put in .data/bin. Everything runs on private ports and data.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '@platform/testkit';

const realNats = join(ROOT, '.data', 'bin', 'nats-server');
const HEALTH_LIMIT_S = 3;
const dirs: string[] = [];

function sandbox(goScript: string) {
  const data = mkdtempSync(join(tmpdir(), 'first-run-'));
  chmodSync(data, 0o755); // the postgres OS user must reach it when we run as root
  const bin = join(data, 'fake-bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'go'), `#!/usr/bin/env bash\n${goScript}\n`, { mode: 0o755 });
  dirs.push(data);
  // No nats-server on this PATH: the system directories only, with the stand-in `go` first.
  const env = {
    PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: process.env['HOME'] ?? '/root',
    INFRA_DATA: data,
    INFRA_TIMEOUT: String(HEALTH_LIMIT_S),
    INFRA_NATS_PORT: '4587',
    INFRA_NATS_MON_PORT: '8587',
    INFRA_PG_PORT: '55487',
    NATS_URL: '',
    DATABASE_URL: '',
  };
  const infra = (...args: string[]) =>
    spawnSync('bash', ['scripts/infra.sh', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { data, infra };
}

afterEach(() => {
  for (const data of dirs.splice(0)) {
    // Whatever a failed assertion left running is stopped before its data goes.
    spawnSync('bash', ['scripts/infra.sh', 'down'], {
      cwd: ROOT,
      env: {
        ...process.env,
        INFRA_DATA: data,
        INFRA_NATS_PORT: '4587',
        INFRA_NATS_MON_PORT: '8587',
        INFRA_PG_PORT: '55487',
        NATS_URL: '',
        DATABASE_URL: '',
      },
    });
    rmSync(data, { recursive: true, force: true });
  }
});

describe('infra.sh up on a fresh machine', () => {
  it('real nats-server binary from the test run is there to copy', () => {
    expect(existsSync(realNats), `${realNats} (built by the test run's infra.sh up)`).toBe(true);
  });

  it('a build that takes longer than the health limit still ends with a healthy server, and shows progress', () => {
    const buildSeconds = HEALTH_LIMIT_S * 4; // also long enough for one "still going" line (every 10 s)
    const { infra } = sandbox(`echo "go: downloading github.com/nats-io/nats-server/v2 v2.15.2" >&2
sleep ${buildSeconds}
cp "${realNats}" "$GOBIN/nats-server"`);
    const up = infra('up', 'nats');
    expect(up.status, up.stderr + up.stdout).toBe(0);
    expect(up.stdout).toMatch(/building nats-server: 1\d\.\ds so far, 1 downloads/);
    expect(up.stdout).toMatch(/nats: +ready on 127\.0\.0\.1:4587 jetstream=on/);
    expect(infra('status', 'nats').status).toBe(0);
    expect(infra('down', 'nats').status).toBe(0);
  });

  it('a failed up stops the stores it started and leaves running what was running before', () => {
    const { data, infra } = sandbox('echo "go: build failed on purpose" >&2; exit 1');
    const up = infra('up', 'postgres', 'nats');
    expect(up.status).not.toBe(0);
    expect(up.stderr).toMatch(/go install .* failed/);
    expect(up.stderr).toMatch(/stopping what it started: postgres nats/);
    expect(infra('status', 'postgres').status, 'the Postgres this up started is stopped again').not.toBe(0);
    expect(existsSync(join(data, 'postgres', 'postmaster.pid'))).toBe(false);

    // Postgres already running before a failing up: it stays up.
    expect(infra('up', 'postgres').status).toBe(0);
    const again = infra('up', 'postgres', 'nats');
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/stopping what it started: nats$/m);
    expect(infra('status', 'postgres').status, 'a Postgres running before the failed up is left alone').toBe(0);
    expect(readFileSync(join(data, 'logs', 'nats-build.log'), 'utf8')).toContain('build failed on purpose');
  });
});
