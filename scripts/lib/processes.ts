import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CoordinationRouter } from '@platform/coordination/router';
import { createServiceClient } from '@platform/kit';
import { DEV_AUTH, devToken, ROOT, SERVICE_PORTS, type ServiceName, storeEnv } from '@platform/testkit';

export interface ServiceProcess {
  name: string;
  url: string;
  child: ChildProcess;
  logFile: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Node flags that run TypeScript sources directly, resolving workspace packages to src/. */
export const NODE_TS_FLAGS = ['--conditions=@platform/source', '--import', 'tsx'];

export function serviceEnv(
  name: ServiceName,
  ports: Record<ServiceName, number> = SERVICE_PORTS,
  extra: Record<string, string> = {},
): Record<string, string> {
  const stores = storeEnv();
  // The service's own NATS user (<SERVICE>_NATS_USER, least privilege) as NATS_USER, not the
  // operator's; without one (an external server with a single user) the plain NATS_USER stays.
  const natsUser = stores[`${name.toUpperCase()}_NATS_USER`];
  const natsPassword = stores[`${name.toUpperCase()}_NATS_PASSWORD`];
  return {
    ...stores,
    ...(natsUser && natsPassword ? { NATS_USER: natsUser, NATS_PASSWORD: natsPassword } : {}),
    HOST: '127.0.0.1',
    PORT: String(ports[name]),
    // Every issuer's public keys, and this service's own private key only.
    ...DEV_AUTH.serviceEnv(name),
    KNOWLEDGE_URL: `http://127.0.0.1:${ports.knowledge}`,
    OPERATIONS_URL: `http://127.0.0.1:${ports.operations}`,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
    // Development front ends, and knowledge's own origin: the console it serves at /console/ calls coordination.
    CORS_ORIGINS: [
      'http://localhost:3000',
      'http://localhost:5173',
      'http://localhost:8000',
      `http://127.0.0.1:${ports.knowledge}`,
      `http://localhost:${ports.knowledge}`,
    ].join(','),
    // Where the console's browser finds coordination (knowledge hands it to the page).
    ...(name === 'knowledge' ? { CONSOLE_COORDINATION_URL: `http://127.0.0.1:${ports.coordination}` } : {}),
    ...extra,
  };
}

/** Starts a service as its own process (instrumentation first), logging to .data/logs/<name>.log. */
export function spawnService(name: ServiceName, env: Record<string, string>, logName: string = name): ServiceProcess {
  const dir = join(ROOT, 'services', name, 'src');
  return spawnNode(
    name,
    [...NODE_TS_FLAGS, '--import', join(dir, 'instrumentation.ts'), join(dir, 'main.ts')],
    env,
    logName,
    `http://127.0.0.1:${env['PORT']}`,
  );
}

/** Enrols an agent as the local operator (a development admin user): its one-time enrolment token. */
export async function enrolAgent(coordinationUrl: string, agentName: string): Promise<string> {
  const token = await devToken({ kind: 'user', id: 'local-operator', roles: ['admin'] }, 300);
  const client = createServiceClient<CoordinationRouter>({ baseUrl: coordinationUrl, getToken: async () => token, timeoutMs: 15_000 });
  return (await client.enrolment.create.mutate({ agentName, ttlSeconds: 600 })).enrolmentToken;
}

/** Node arguments that run the example agent (with its telemetry loaded first). */
export const EXAMPLE_AGENT_ARGS = [
  ...NODE_TS_FLAGS,
  '--import',
  './shared/agent-sdk/examples/instrumentation.ts',
  'shared/agent-sdk/examples/example-agent.ts',
];

/** Starts a TypeScript entry point as a process with the same flags as the services. */
export function spawnNode(name: string, args: string[], env: Record<string, string>, logName: string, url = ''): ServiceProcess {
  mkdirSync(join(ROOT, '.data', 'logs'), { recursive: true });
  const logFile = join(ROOT, '.data', 'logs', `${logName}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    url,
    child,
    logFile,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Polls `url` until it answers 200, failing loudly (with the log's tail) after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 60_000, proc?: ServiceProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode} (see ${proc.logFile})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}${proc ? ` (see ${proc.logFile})` : ''}`);
}
