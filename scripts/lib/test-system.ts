import type { Principal } from '@platform/contracts';
import type { CoordinationRouter } from '@platform/coordination/router';
import { createServiceClient } from '@platform/kit';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import type { OperationsRouter } from '@platform/operations/router';
import { agentNatsEnv, devToken, SERVICE_PORTS, type ServiceName } from '@platform/testkit';
import { enrolAgent, EXAMPLE_AGENT_ARGS, serviceEnv, spawnNode, spawnService, waitForHttp, type ServiceProcess } from './processes.js';

/** Ports for test runs, apart from `npm start`'s so both can run at once. */
export const TEST_PORTS: Record<ServiceName, number> = { knowledge: 4201, operations: 4202, coordination: 4203 };

export function tokenFor(principal: Principal, ttlSeconds = 600): Promise<string> {
  return devToken(principal, ttlSeconds);
}

export function clientsFor(token: string | (() => Promise<string>), ports: Record<ServiceName, number> = TEST_PORTS) {
  const getToken = typeof token === 'string' ? async () => token : token;
  const base = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  return {
    knowledge: createServiceClient<KnowledgeRouter>({ baseUrl: base('knowledge'), getToken, timeoutMs: 15_000 }),
    operations: createServiceClient<OperationsRouter>({ baseUrl: base('operations'), getToken, timeoutMs: 15_000 }),
    coordination: createServiceClient<CoordinationRouter>({ baseUrl: base('coordination'), getToken, timeoutMs: 15_000 }),
  };
}

export interface TestSystem {
  services: Record<ServiceName, ServiceProcess>;
  agents: ServiceProcess[];
  startAgent(name: string): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** Starts the three services (and optionally example agents) as separate processes on loopback. */
export async function startTestSystem(
  opts: { agents?: number; ports?: Record<ServiceName, number>; env?: Record<string, string> } = {},
): Promise<TestSystem> {
  const ports = opts.ports ?? TEST_PORTS;
  const services = {} as Record<ServiceName, ServiceProcess>;
  const agents: ServiceProcess[] = [];
  const all = () => [...agents, ...Object.values(services)];
  try {
    for (const name of ['knowledge', 'coordination', 'operations'] as const) {
      services[name] = spawnService(name, serviceEnv(name, ports, { LOG_LEVEL: 'debug', ...opts.env }), `test-${name}-${ports[name]}`);
      await waitForHttp(`${services[name].url}/readyz`, 90_000, services[name]);
    }
  } catch (err) {
    await Promise.all(all().map((p) => p.stop()));
    throw err;
  }
  const startAgent = async (name: string) => {
    const agent = spawnNode(
      name,
      EXAMPLE_AGENT_ARGS,
      {
        ...agentNatsEnv(),
        ...opts.env,
        COORDINATION_URL: `http://127.0.0.1:${ports.coordination}`,
        AGENT_NAME: name,
        AGENT_ENROLMENT_TOKEN: await enrolAgent(`http://127.0.0.1:${ports.coordination}`, name),
        AGENT_WORK_MS: '20',
      },
      `test-${name}`,
    );
    agents.push(agent);
    return agent;
  };
  for (let i = 0; i < (opts.agents ?? 0); i++) await startAgent(`test-agent-${i + 1}`);
  return {
    services,
    agents,
    startAgent,
    stop: async () => {
      await Promise.all(all().map((p) => p.stop()));
    },
  };
}

export { eventually } from '@platform/testkit';

export { SERVICE_PORTS };
