import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNatsConfig, NATS_USER_NAMES, type NatsUserName } from '../../../../scripts/infra/nats-config.js';
import { ROOT } from '../../../../scripts/lib/local-env.js';
import { connectNats, createLogger, type NatsConnection } from '@platform/kit';

export interface PrivateNats {
  url: string;
  /** Coordination's NATS user (what the service uses), with the permissions of scripts/infra/nats-config.ts. */
  user: string;
  password: string;
  /** The restricted user agents use for heartbeats (publish agents.heartbeat.* only), as in scripts/infra/nats.sh. */
  agentUser: string;
  agentPassword: string;
  /** The operator's user with every right, for tests that look at or break what coordination may not. */
  adminUser: string;
  adminPassword: string;
  /** Every user of the config and its password (knowledge, operations, subscriber too). */
  passwords: Record<NatsUserName, string>;
  port: number;
  pid: number;
  /**
   * A connection as `user` (opened on first use, one per user, closed by stop()): e.g. heartbeats
   * published as the agents' user, as the SDK does — coordination's own user may not.
   */
  connectAs(user: NatsUserName): Promise<NatsConnection>;
  /** Environment for a service process using this server. */
  env: { NATS_URL: string; NATS_USER: string; NATS_PASSWORD: string };
  /** Kills the server (SIGKILL) without removing its data, to test outages. */
  kill(): Promise<void>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

function natsBinary(): string {
  const local = join(ROOT, '.data', 'bin', 'nats-server');
  if (existsSync(local)) return local;
  return 'nats-server'; // on PATH (scripts/infra.sh installs it into .data/bin when missing)
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * A throwaway nats-server with JetStream on 127.0.0.1:`port` (4591–4599 for this repo's tests),
 * its own data directory and credentials. Coordination's stream and bucket names are fixed, so
 * tests that need clean state (or kill NATS) use one of these, never the shared server. Users and
 * permissions are the local server's (scripts/infra/nats-config.ts). PRIVATE_NATS_LOG_DIR=<dir> keeps
 * the server's log (permission violations name user and subject) as <dir>/nats-<port>.log.
 */
export async function startPrivateNats(port: number): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), `coord-nats-${port}-`));
  // The users and permissions of the local server (scripts/infra/nats.sh renders the same config).
  const passwords = Object.fromEntries(NATS_USER_NAMES.map((u) => [u, `${u}_test_pw`])) as Record<NatsUserName, string>;
  const user = 'coordination';
  const password = passwords.coordination;
  const agentUser = 'agent';
  const agentPassword = passwords.agent;
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, renderNatsConfig({ passwords }));
  const child = spawn(natsBinary(), ['-c', conf, '-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), ...(process.env['PRIVATE_NATS_LOG_DIR'] ? ['-l', join(process.env['PRIVATE_NATS_LOG_DIR'], `nats-${port}.log`)] : [])], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `nats://127.0.0.1:${port}`;
  const connections = new Map<NatsUserName, Promise<NatsConnection>>();
  const connectAs = (u: NatsUserName) => {
    let c = connections.get(u);
    if (!c) {
      c = connectNats({ url, user: u, password: passwords[u], name: `private-nats-${u}`, log: createLogger(`private-nats-${u}`, 'fatal'), attempts: 1 });
      connections.set(u, c);
    }
    return c;
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    url,
    user,
    password,
    agentUser,
    agentPassword,
    adminUser: 'platform',
    adminPassword: passwords.platform,
    passwords,
    port,
    pid: child.pid!,
    env: { NATS_URL: url, NATS_USER: user, NATS_PASSWORD: password },
    kill,
    connectAs,
    stop: async () => {
      for (const c of connections.values()) await (await c.catch(() => undefined))?.close();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
