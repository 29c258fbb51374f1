// Runs the three services and the example agent as local processes and prints where to reach them.
// Called by `npm start` after the infrastructure is up and migrations are applied.
import { agentNatsEnv, SERVICE_PORTS, storeEnv, type ServiceName } from '@platform/testkit';
import { enrolAgent, EXAMPLE_AGENT_ARGS, serviceEnv, spawnNode, spawnService, waitForHttp, type ServiceProcess } from './lib/processes.js';

const order: ServiceName[] = ['knowledge', 'coordination', 'operations'];
const procs: ServiceProcess[] = [];

const stopAll = async () => {
  for (const p of [...procs].reverse()) await p.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log('\nstopping services...');
    void stopAll().then(() => process.exit(0));
  });
}

try {
  for (const name of order) {
    const proc = spawnService(name, serviceEnv(name));
    procs.push(proc);
    await waitForHttp(`${proc.url}/readyz`, 90_000, proc);
  }
  const coordinationUrl = `http://127.0.0.1:${SERVICE_PORTS.coordination}`;
  const agent = spawnNode(
    'example-agent',
    EXAMPLE_AGENT_ARGS,
    {
      ...agentNatsEnv(),
      COORDINATION_URL: coordinationUrl,
      AGENT_NAME: 'example-agent-1',
      AGENT_ENROLMENT_TOKEN: await enrolAgent(coordinationUrl, 'example-agent-1'),
    },
    'example-agent',
  );
  procs.push(agent);

  const stores = storeEnv();
  const redact = (url = '') => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
  console.log('\nAgent platform is running:');
  for (const p of procs.filter((x) => x.url))
    console.log(`  ${p.name.padEnd(13)} ${p.url}/trpc   (health ${p.url}/healthz, ready ${p.url}/readyz)   log ${p.logFile}`);
  console.log(`  example agent log ${agent.logFile}`);
  console.log('Stores:');
  console.log(`  postgres  ${redact(stores['DATABASE_URL'])}`);
  console.log(`  nats      ${redact(stores['NATS_URL'])}`);
  console.log(`  neo4j     ${stores['NEO4J_URI']} (user ${stores['NEO4J_USER']})`);
  console.log(
    `Console (runs, agents, queues): http://127.0.0.1:${SERVICE_PORTS.knowledge}/console/   sign in with a token from: npm run --silent dev-token -- user alice`,
  );
  console.log('Token for calls: npm run dev-token -- user alice   |   walk the slice: npm run demo   |   Ctrl-C stops everything');
  await new Promise(() => undefined);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await stopAll();
  process.exit(1);
}
