import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, createLogger, type NatsConnection } from '@platform/kit';
import { ROOT } from './local-env.js';
import { renderNatsConfig, NATS_USER_NAMES, type NatsUserName } from '@platform/contracts/nats-permissions';

/**
 * The one throwaway nats-server with JetStream for tests, drills and benches: its own port, data
 * directory and credentials, so tests that need clean state or kill NATS never disturb the shared
 * server. Users and permissions are the local server's (@platform/contracts/nats-permissions, as scripts/infra/nats.sh
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
  /** Passwords per user (default `<user>_test_pw`). */
  passwords?: Partial<Record<NatsUserName, string>>;
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

/** One nats-server process that can be killed and started again with the same arguments (and so the same data). */
interface NatsProcess {
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  running(): boolean;
  readonly pid: number;
}

function natsProcess(args: string[], port: number): NatsProcess {
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
  return {
    start,
    kill,
    running,
    get pid() {
      return child!.pid!;
    },
  };
}

const testPasswords = (given: Partial<Record<NatsUserName, string>> = {}) =>
  Object.fromEntries(NATS_USER_NAMES.map((u) => [u, given[u] ?? `${u}_test_pw`])) as Record<NatsUserName, string>;

/** One connection per user, opened on first use (`attempts: 1`: a test server that is not there fails at once). */
function connectionsTo(url: string, passwords: Record<NatsUserName, string>) {
  const connections = new Map<NatsUserName, Promise<NatsConnection>>();
  return {
    connectAs(u: NatsUserName) {
      let c = connections.get(u);
      if (!c) {
        c = connectNats({
          url,
          user: u,
          password: passwords[u],
          name: `private-nats-${u}`,
          log: createLogger(`private-nats-${u}`, 'fatal'),
          attempts: 1,
        });
        connections.set(u, c);
      }
      return c;
    },
    async closeAll() {
      for (const c of connections.values()) await (await c.catch(() => undefined))?.close();
      connections.clear();
    },
  };
}

/** Starts a private nats-server on `port` (or the first free one in a range); see PrivateNats. */
export async function startPrivateNats(portOrOptions: number | PrivateNatsOptions = {}): Promise<PrivateNats> {
  const o: PrivateNatsOptions = typeof portOrOptions === 'number' ? { port: portOrOptions } : portOrOptions;
  const port = o.port ?? (await freePort(o.portRange ?? DEFAULT_RANGE));
  const dir = mkdtempSync(join(tmpdir(), `private-nats-${port}-`));
  const passwords = testPasswords(o.passwords);
  const user = o.as ?? 'coordination';
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, renderNatsConfig({ passwords }));
  const logDir = o.logDir ?? process.env['PRIVATE_NATS_LOG_DIR'];
  const args = [
    '-c',
    conf,
    '-js',
    '-sd',
    dir,
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    ...(logDir ? ['-l', join(logDir, `nats-${port}.log`)] : []),
  ];
  const server = natsProcess(args, port);
  try {
    // A server left on a fixed port (an earlier run that never reached destroy()) would answer the
    // port probe, so the test would silently run against its old streams and durables.
    if (o.port !== undefined && !(await portFree(port)))
      throw new Error(`port ${port} is already in use (a nats-server left by an earlier run?): refusing to share it`);
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const url = `nats://127.0.0.1:${port}`;
  const connections = connectionsTo(url, passwords);
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
      return server.pid;
    },
    env: { NATS_URL: url, NATS_USER: user, NATS_PASSWORD: passwords[user] },
    connectAs: connections.connectAs,
    kill: server.kill,
    start: server.start,
    destroy: async () => {
      await connections.closeAll();
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One node of a PrivateNatsCluster. */
export interface PrivateNatsNode {
  /** Its server_name (what stream info names as leader and replicas). */
  name: string;
  url: string;
  port: number;
  clusterPort: number;
  readonly pid: number;
  running(): boolean;
  /** Stops the node (SIGKILL by default, a crash) and keeps its store directory. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same name, ports and store (after kill()). */
  start(): Promise<void>;
}

/**
 * A throwaway JetStream cluster on loopback: `nodes` nats-server processes with their own client
 * and route ports, server names and store directories, the users and permissions of the local
 * server (as startPrivateNats), JetStream fsyncing as docs/deploy.md asks of a cluster.
 */
export interface PrivateNatsCluster {
  nodes: PrivateNatsNode[];
  /** Every node's client URL, comma-separated (what NATS_URL takes for a cluster). */
  url: string;
  user: string;
  password: string;
  passwords: Record<NatsUserName, string>;
  /** Environment for a service process using this cluster as `user`. */
  env: { NATS_URL: string; NATS_USER: string; NATS_PASSWORD: string };
  /** A connection as `user` to the cluster (any node; follows the cluster when one goes). */
  connectAs(user: NatsUserName): Promise<NatsConnection>;
  node(name: string): PrivateNatsNode;
  /** The node that leads `stream`'s Raft group now (waits up to `timeoutMs` for one to be elected). */
  streamLeader(stream: string, timeoutMs?: number): Promise<PrivateNatsNode>;
  /** Waits until `stream` has a leader and every replica is current (caught up), e.g. after a node came back. */
  waitForReplicasCurrent(stream: string, timeoutMs?: number): Promise<void>;
  /** Closes connectAs connections, stops every node and removes the store directories. */
  destroy(): Promise<void>;
}

export interface PrivateNatsClusterOptions {
  /** Number of nodes (3 by default: one may fail with replicas 3 and a quorum left). */
  nodes?: number;
  /** Where to look for free client ports; route ports are these + 2000. */
  portRange?: [number, number];
  as?: NatsUserName;
  /** Passwords per user (default `<user>_test_pw`), e.g. the local store env's so services' usual env works. */
  passwords?: Partial<Record<NatsUserName, string>>;
  /** JetStream sync_interval (default `always`, as docs/deploy.md asks of a cluster). */
  syncInterval?: string;
  logDir?: string;
}

const CLUSTER_RANGE: [number, number] = [4561, 4589];
const ROUTE_OFFSET = 2000;

/** Starts a private JetStream cluster; see PrivateNatsCluster. */
export async function startPrivateNatsCluster(o: PrivateNatsClusterOptions = {}): Promise<PrivateNatsCluster> {
  const count = o.nodes ?? 3;
  const [from, to] = o.portRange ?? CLUSTER_RANGE;
  const ports: number[] = [];
  for (let p = from; p <= to && ports.length < count; p++) if ((await portFree(p)) && (await portFree(p + ROUTE_OFFSET))) ports.push(p);
  if (ports.length < count) throw new Error(`no ${count} free port pairs in ${from}-${to} (+${ROUTE_OFFSET}) for a test NATS cluster`);
  const root = mkdtempSync(join(tmpdir(), `private-nats-cluster-${ports[0]}-`));
  const passwords = testPasswords(o.passwords);
  const user = o.as ?? 'coordination';
  const logDir = o.logDir ?? process.env['PRIVATE_NATS_LOG_DIR'];
  const clusterName = `test-${ports[0]}`;
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p + ROUTE_OFFSET}`);
  const nodes: PrivateNatsNode[] = ports.map((port, i) => {
    const name = `n${i + 1}-${port}`;
    const dir = join(root, name);
    mkdirSync(dir);
    const conf = join(dir, 'nats.conf');
    writeFileSync(
      conf,
      renderNatsConfig({
        passwords,
        serverName: name,
        jetstream: { storeDir: join(dir, 'js'), syncInterval: o.syncInterval ?? 'always' },
        cluster: { name: clusterName, listen: `127.0.0.1:${port + ROUTE_OFFSET}`, routes },
      }),
    );
    const proc = natsProcess(
      ['-c', conf, '-a', '127.0.0.1', '-p', String(port), ...(logDir ? ['-l', join(logDir, `nats-${name}.log`)] : [])],
      port,
    );
    return {
      name,
      url: `nats://127.0.0.1:${port}`,
      port,
      clusterPort: port + ROUTE_OFFSET,
      get pid() {
        return proc.pid;
      },
      running: proc.running,
      kill: proc.kill,
      start: proc.start,
    };
  });
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
  };
  const url = nodes.map((n) => n.url).join(',');
  const connections = connectionsTo(url, passwords);
  try {
    await Promise.all(nodes.map((n) => n.start()));
    // The cluster serves JetStream once its meta group has elected a leader.
    const nc = await connections.connectAs('platform');
    await until(30_000, 'the JetStream meta leader', async () => {
      await (await nc.jetstreamManager()).getAccountInfo();
      return true;
    });
  } catch (err) {
    await connections.closeAll();
    await stopAll();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const node = (name: string) => {
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in the test NATS cluster (${nodes.map((x) => x.name).join(', ')})`);
    return n;
  };
  const streamInfo = async (stream: string) => (await (await connections.connectAs('platform')).jetstreamManager()).streams.info(stream);
  return {
    nodes,
    url,
    user,
    password: passwords[user],
    passwords,
    env: { NATS_URL: url, NATS_USER: user, NATS_PASSWORD: passwords[user] },
    connectAs: connections.connectAs,
    node,
    streamLeader: async (stream, timeoutMs = 15_000) =>
      node(
        await until(timeoutMs, `a leader of ${stream}`, async () => {
          const leader = (await streamInfo(stream)).cluster?.leader;
          return leader && nodes.some((n) => n.name === leader && n.running()) ? leader : undefined;
        }),
      ),
    waitForReplicasCurrent: async (stream, timeoutMs = 30_000) => {
      await until(timeoutMs, `every replica of ${stream} current`, async () => {
        const c = (await streamInfo(stream)).cluster;
        return c?.leader && (c.replicas ?? []).every((r) => r.current && !r.offline) ? true : undefined;
      });
    },
    destroy: async () => {
      await connections.closeAll();
      await stopAll();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` (errors count as "not yet") until it returns a value, or fails naming `what`. */
async function until<T>(timeoutMs: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
