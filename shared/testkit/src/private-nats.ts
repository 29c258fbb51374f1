import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, createLogger, type NatsConnection } from '@platform/kit';
import { ROOT } from './local-env.js';
import { renderNatsConfig, NATS_USER_NAMES, type NatsUserName } from './nats-config.js';

/**
 * The one throwaway nats-server with JetStream for tests, drills and benches: its own port, data
 * directory and credentials, so tests that need clean state or kill NATS never disturb the shared
 * server. Users and permissions are the local server's (nats-config.ts, as scripts/infra/nats.sh
 * renders them). The data directory survives kill() and start() (like a real outage); destroy()
 * removes it.
 */
export interface PrivateNats {
  url: string;
  /** The user of `url`/`env`/`user`/`password` (options.as, coordination's by default). */
  user: string;
  password: string;
  /** The restricted user agents use for heartbeats (publish agents.heartbeat.* only). */
  agentUser: string;
  agentPassword: string;
  /** The operator's user with every right, for tests that look at or break what a service may not. */
  adminUser: string;
  adminPassword: string;
  /** Every user of the config and its password. */
  passwords: Record<NatsUserName, string>;
  port: number;
  /** The running server's process id (changes on start() after kill()). */
  readonly pid: number;
  /** A connection as `user` (opened on first use, one per user, closed by destroy()). */
  connectAs(user: NatsUserName): Promise<NatsConnection>;
  /** Environment for a service process using this server as `user`. */
  env: { NATS_URL: string; NATS_USER: string; NATS_PASSWORD: string };
  /** Stops the server (SIGKILL by default, an outage) and keeps its data directory. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and data directory (after kill()). */
  start(): Promise<void>;
  /** Closes connectAs connections, stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

export interface PrivateNatsOptions {
  /** A fixed port; by default the first free one in `portRange`. */
  port?: number;
  /** Where to look for a free port when `port` is not given (inclusive). */
  portRange?: [number, number];
  /** The user `url`, `env`, `user` and `password` speak for (default coordination). */
  as?: NatsUserName;
  /** Keeps the server's log (permission violations name user and subject) as <logDir>/nats-<port>.log; default PRIVATE_NATS_LOG_DIR. */
  logDir?: string;
}

const DEFAULT_RANGE: [number, number] = [4591, 4599];

function natsBinary(): string {
  const local = join(ROOT, '.data', 'bin', 'nats-server');
  if (existsSync(local)) return local;
  return 'nats-server'; // on PATH (scripts/infra.sh installs it into .data/bin when missing)
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function freePort([from, to]: [number, number]): Promise<number> {
  for (let p = from; p <= to; p++) if (await portFree(p)) return p;
  throw new Error(`no free port in ${from}-${to} for a test nats-server`);
}

async function waitForPort(port: number, child: ChildProcess, failed: () => Error | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const err = failed();
    if (err) throw new Error(`nats-server did not start: ${err.message}`);
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

/** Starts a private nats-server on `port` (or the first free one in a range); see PrivateNats. */
export async function startPrivateNats(portOrOptions: number | PrivateNatsOptions = {}): Promise<PrivateNats> {
  const o: PrivateNatsOptions = typeof portOrOptions === 'number' ? { port: portOrOptions } : portOrOptions;
  const port = o.port ?? (await freePort(o.portRange ?? DEFAULT_RANGE));
  const dir = mkdtempSync(join(tmpdir(), `private-nats-${port}-`));
  const passwords = Object.fromEntries(NATS_USER_NAMES.map((u) => [u, `${u}_test_pw`])) as Record<NatsUserName, string>;
  const user = o.as ?? 'coordination';
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, renderNatsConfig({ passwords }));
  const logDir = o.logDir ?? process.env['PRIVATE_NATS_LOG_DIR'];
  const args = ['-c', conf, '-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), ...(logDir ? ['-l', join(logDir, `nats-${port}.log`)] : [])];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const running = () => child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async () => {
    if (running()) return;
    const c = spawn(natsBinary(), args, { stdio: 'ignore' });
    child = c;
    // A binary that cannot be spawned (ENOENT) emits 'error' and never 'exit'.
    let spawnError: Error | undefined;
    exited = new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.once('error', (err) => ((spawnError = err), resolve()));
    });
    try {
      await waitForPort(port, c, () => spawnError, 10_000);
    } catch (err) {
      c.kill('SIGKILL');
      await exited;
      throw err;
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (!running()) return;
    child!.kill(signal);
    await exited;
  };
  try {
    // A server left on a fixed port (an earlier run that never reached destroy()) would answer the
    // port probe below, so the test would silently run against its old streams and durables.
    if (o.port !== undefined && !(await portFree(port))) throw new Error(`port ${port} is already in use (a nats-server left by an earlier run?): refusing to share it`);
    await start();
  } catch (err) {
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
  return {
    url,
    user,
    password: passwords[user],
    agentUser: 'agent',
    agentPassword: passwords.agent,
    adminUser: 'platform',
    adminPassword: passwords.platform,
    passwords,
    port,
    get pid() {
      return child!.pid!;
    },
    env: { NATS_URL: url, NATS_USER: user, NATS_PASSWORD: passwords[user] },
    connectAs,
    kill,
    start,
    destroy: async () => {
      for (const c of connections.values()) await (await c.catch(() => undefined))?.close();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
