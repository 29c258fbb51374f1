// The example agent: takes every job type and "does" it by echoing its params after a pause,
// reporting progress halfway. On SIGTERM it finishes in-flight jobs for up to AGENT_DRAIN_MS and
// releases the rest. Run:
//   COORDINATION_URL=http://127.0.0.1:4103 AGENT_NAME=example-1 AGENT_ENROLMENT_TOKEN=enr_... node --conditions=@platform/source --import tsx shared/agent-sdk/examples/example-agent.ts
// (an operator makes the enrolment token with coordination's enrolment.create).
import { createLogger, loadConfig } from '@platform/kit';
import { z } from 'zod';
// Through the package's public exports, as an agent outside this repository would.
import { enrolledTokens, startAgent, type Job, type JobContext } from '@platform/agent-sdk';

const env = loadConfig(
  z
    .object({
      COORDINATION_URL: z.url(),
      AGENT_NAME: z.string().min(1).default('example-agent'),
      // A one-time enrolment token (traded for short-lived agent tokens, refreshed), or a token given as is.
      AGENT_ENROLMENT_TOKEN: z.string().min(10).optional(),
      AGENT_TOKEN: z.string().optional(),
      AGENT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
      AGENT_WORK_MS: z.coerce.number().int().min(0).default(50),
      AGENT_DRAIN_MS: z.coerce.number().int().min(0).default(10_000),
      AGENT_CARD_URL: z.url().optional(),
      // Optional: heartbeats over NATS while idle (a user that may publish to agents.heartbeat.*).
      NATS_URL: z.string().min(1).optional(),
      AGENT_NATS_USER: z.string().min(1).optional(),
      AGENT_NATS_PASSWORD: z.string().min(1).optional(),
      LOG_LEVEL: z.string().default('info'),
    })
    .refine((e) => e.AGENT_TOKEN || e.AGENT_ENROLMENT_TOKEN, {
      message: 'set AGENT_ENROLMENT_TOKEN (or AGENT_TOKEN)',
      path: ['AGENT_ENROLMENT_TOKEN'],
    }),
);
const log = createLogger(`agent:${env.AGENT_NAME}`, env.LOG_LEVEL);
const getToken = env.AGENT_ENROLMENT_TOKEN
  ? enrolledTokens({ coordinationUrl: env.COORDINATION_URL, enrolmentToken: env.AGENT_ENROLMENT_TOKEN })
  : async () => env.AGENT_TOKEN as string;

/** Waits `ms`, reporting progress halfway; stops early when the job is cancelled or taken back. */
const work = async (job: Job, ctx: JobContext) => {
  const half = env.AGENT_WORK_MS / 2;
  await new Promise((r) => setTimeout(r, half));
  if (half >= 500 && !(await ctx.progress(0.5, 'halfway'))) return null;
  await new Promise((r) => setTimeout(r, half));
  ctx.signal.throwIfAborted();
  return { echoed: job.params, by: env.AGENT_NAME, attempt: ctx.attempt };
};

const agent = await startAgent({
  coordinationUrl: env.COORDINATION_URL,
  name: env.AGENT_NAME,
  version: '0.2.0',
  card: {
    name: env.AGENT_NAME,
    description: 'Example agent: echoes the params of any job after a pause.',
    url: env.AGENT_CARD_URL ?? `http://127.0.0.1/agents/${encodeURIComponent(env.AGENT_NAME)}`,
    skills: [
      { id: 'gap_analysis', name: 'Gap analysis', tags: ['example'] },
      { id: 'build', name: 'Build', tags: ['example'] },
      { id: 'proposal', name: 'Proposal', tags: ['example'] },
    ],
  },
  getToken,
  capabilities: { gap_analysis: work, build: work, proposal: work },
  concurrency: env.AGENT_CONCURRENCY,
  drainTimeoutMs: env.AGENT_DRAIN_MS,
  ...(env.NATS_URL && env.AGENT_NATS_USER
    ? { nats: { url: env.NATS_URL, user: env.AGENT_NATS_USER, password: env.AGENT_NATS_PASSWORD } }
    : {}),
  log,
});
log.info({ coordination: env.COORDINATION_URL, heartbeats: env.NATS_URL && env.AGENT_NATS_USER ? 'nats' : 'trpc' }, 'agent started');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'stopping: finishing in-flight jobs');
    void agent.stop().then(() => process.exit(0));
  });
}
