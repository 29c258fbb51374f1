// The example agent: takes every job type and "does" it by echoing its params after a short pause.
// Run: COORDINATION_URL=http://127.0.0.1:4103 AGENT_NAME=example-1 JWT_SECRET=... tsx shared/agent-sdk/src/example-agent.ts
import { createLogger, loadConfig, signToken } from '@platform/kit';
import { z } from 'zod';
import { startAgent } from './agent.js';

const env = loadConfig(
  z.object({
    COORDINATION_URL: z.url(),
    AGENT_NAME: z.string().min(1).default('example-agent'),
    // Either a token issued to the agent, or (locally) the shared secret to mint one.
    AGENT_TOKEN: z.string().optional(),
    JWT_SECRET: z.string().min(32).optional(),
    JWT_ISSUER: z.string().default('agent-platform'),
    JWT_AUDIENCE: z.string().default('agent-platform'),
    AGENT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    AGENT_WORK_MS: z.coerce.number().int().min(0).default(50),
    LOG_LEVEL: z.string().default('info'),
  }).refine((e) => e.AGENT_TOKEN || e.JWT_SECRET, { message: 'set AGENT_TOKEN or JWT_SECRET', path: ['AGENT_TOKEN'] }),
);
const log = createLogger(`agent:${env.AGENT_NAME}`, env.LOG_LEVEL);
const getToken = env.AGENT_TOKEN
  ? async () => env.AGENT_TOKEN as string
  : () => signToken({ kind: 'agent', id: env.AGENT_NAME, roles: ['agent'] }, { secret: env.JWT_SECRET as string, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE }, 3600);

const work = async (job: { params: Record<string, unknown> }) => {
  await new Promise((r) => setTimeout(r, env.AGENT_WORK_MS));
  return { echoed: job.params, by: env.AGENT_NAME };
};
const agent = startAgent({
  coordinationUrl: env.COORDINATION_URL,
  getToken,
  capabilities: { gap_analysis: work, build: work, proposal: work },
  concurrency: env.AGENT_CONCURRENCY,
  log,
});
log.info({ coordination: env.COORDINATION_URL }, 'agent started');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'stopping: finishing in-flight jobs');
    void agent.stop().then(() => process.exit(0));
  });
}
