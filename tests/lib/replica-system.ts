import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type PrivateNats, type ServiceName } from '@platform/testkit';
import { NODE_TS_FLAGS, serviceEnv, spawnNode, waitForHttp, type ServiceProcess } from '../../scripts/lib/processes.js';
import type { MemoryReading } from './memory-probe.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';

/**
 * Two (or more) replicas of each service, each service's replicas behind one round-robin address
 * (tests/lib/round-robin-proxy.ts, the Kubernetes Service), on a private nats-server and a scratch
 * operations database; knowledge uses the shared Neo4j. Every service reaches the others through
 * their proxies, as pods reach a Service. Each replica loads tests/lib/memory-probe.ts, so its peak
 * RSS and heap can be read while it runs and after it is killed.
 */
export interface ReplicaLayout {
  /** Proxy port of each service; its replicas listen on proxy + 1 … proxy + n. */
  proxies: Record<ServiceName, number>;
  replicas: number;
}

export interface Replica {
  service: ServiceName;
  index: number;
  port: number;
  url: string;
  process: ServiceProcess;
  memoryFile: string;
}

export interface ReplicaSystem {
  /** The service's one address (its proxy). */
  url(service: ServiceName): string;
  proxies: Record<ServiceName, RoundRobinProxy>;
  replicas: Record<ServiceName, Replica[]>;
  /** SIGKILLs one replica and waits for it to be gone. */
  kill(service: ServiceName, index: number): Promise<void>;
  /** Starts a killed (or stopped) replica again on its port; resolves once it is ready. */
  restart(service: ServiceName, index: number): Promise<void>;
  /** The latest memory reading of a replica (its last one, if it was killed). */
  memory(service: ServiceName, index: number): MemoryReading;
  stop(): Promise<void>;
}

const SERVICES: readonly ServiceName[] = ['knowledge', 'coordination', 'operations'];

export async function startReplicaSystem(opts: {
  layout: ReplicaLayout;
  nats: PrivateNats;
  databaseUrl: string;
  /** Extra environment per service (timings, log level). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  logPrefix: string;
  /** The services to start (default all three); the others' addresses lead nowhere. */
  services?: readonly ServiceName[];
}): Promise<ReplicaSystem> {
  const { layout, nats } = opts;
  const proxies = {} as Record<ServiceName, RoundRobinProxy>;
  const replicas = { knowledge: [], operations: [], coordination: [] } as Record<ServiceName, Replica[]>;
  const spawnReplica = (r: Omit<Replica, 'process'>): ServiceProcess => {
    const dir = join(ROOT, 'services', r.service, 'src');
    const env = {
      // Peers by their Service address: KNOWLEDGE_URL/OPERATIONS_URL are the proxies.
      ...serviceEnv(r.service, layout.proxies),
      PORT: String(r.port),
      NATS_URL: nats.url,
      NATS_USER: r.service,
      NATS_PASSWORD: nats.passwords[r.service],
      ...(r.service === 'operations' ? { DATABASE_URL: opts.databaseUrl, INSTANCE_ID: `${opts.logPrefix}-operations-${r.index}` } : {}),
      // Behind a gateway that limits (a drill's load comes from few principals).
      RATE_LIMIT_ENABLED: 'false',
      MEMORY_PROBE_FILE: r.memoryFile,
      ...opts.env?.[r.service],
    };
    const args = [
      ...NODE_TS_FLAGS,
      '--import',
      join(ROOT, 'tests', 'lib', 'memory-probe.ts'),
      '--import',
      join(dir, 'instrumentation.ts'),
      join(dir, 'main.ts'),
    ];
    return spawnNode(`${r.service}-${r.index}`, args, env, `${opts.logPrefix}-${r.service}-${r.index}`, r.url);
  };
  const services = opts.services ?? SERVICES;
  const all = () => services.flatMap((s) => replicas[s]);
  try {
    for (const service of services) {
      const base = layout.proxies[service];
      for (let i = 0; i < layout.replicas; i++) {
        const port = base + 1 + i;
        const r = {
          service,
          index: i,
          port,
          url: `http://127.0.0.1:${port}`,
          memoryFile: join(ROOT, '.data', 'logs', `${opts.logPrefix}-${service}-${i}.memory.json`),
        };
        rmSync(r.memoryFile, { force: true });
        replicas[service].push({ ...r, process: spawnReplica(r) });
      }
      proxies[service] = await startRoundRobinProxy(
        base,
        replicas[service].map((r) => r.port),
      );
    }
    // All at once: on two cores six processes compiling TypeScript take a while either way.
    await Promise.all(all().map((r) => waitForHttp(`${r.url}/readyz`, 150_000, r.process)));
  } catch (err) {
    await Promise.all(all().map((r) => r.process.stop('SIGKILL')));
    await Promise.all(Object.values(proxies).map((p) => p.close()));
    throw err;
  }
  return {
    url: (service) => proxies[service].url,
    proxies,
    replicas,
    kill: async (service, index) => {
      await replicas[service][index]!.process.stop('SIGKILL');
    },
    restart: async (service, index) => {
      const r = replicas[service][index]!;
      await r.process.stop('SIGKILL');
      r.process = spawnReplica(r);
      await waitForHttp(`${r.url}/readyz`, 120_000, r.process);
    },
    memory: (service, index) => JSON.parse(readFileSync(replicas[service][index]!.memoryFile, 'utf8')) as MemoryReading,
    stop: async () => {
      await Promise.all(all().map((r) => r.process.stop()));
      await Promise.all(Object.values(proxies).map((p) => p.close()));
    },
  };
}
