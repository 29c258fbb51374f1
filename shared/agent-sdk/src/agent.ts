import type { JobType } from '@platform/contracts';
import { createServiceClient, type Logger } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';
import type { inferRouterOutputs } from '@trpc/server';

export type Job = NonNullable<inferRouterOutputs<CoordinationRouter>['jobs']['claim']['job']>;

/** What a handler gets besides the job: the attempt number and job id make idempotent handlers easy. */
export interface JobContext {
  jobId: string;
  attempt: number;
  log: Logger;
  signal: AbortSignal;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<unknown>;

export interface AgentOptions {
  coordinationUrl: string;
  /** Returns the agent's bearer token (kind `agent`, sub = agent name). */
  getToken: () => Promise<string>;
  capabilities: Partial<Record<JobType, JobHandler>>;
  concurrency?: number;
  claimWaitMs?: number;
  log: Logger;
}

export interface RunningAgent {
  /** Stops taking jobs and waits for the ones in flight to finish. */
  stop(): Promise<void>;
  /** Jobs completed or failed by this process so far. */
  readonly processed: number;
}

/**
 * Runs `concurrency` claim loops against coordination. Each loop long-polls for a job of the
 * agent's capabilities, runs its handler, and reports success or failure.
 */
export function startAgent(opts: AgentOptions): RunningAgent {
  const client = createServiceClient<CoordinationRouter>({
    baseUrl: opts.coordinationUrl,
    getToken: opts.getToken,
    timeoutMs: (opts.claimWaitMs ?? 5_000) + 10_000,
  });
  const capabilities = Object.keys(opts.capabilities) as JobType[];
  const stopping = new AbortController();
  let processed = 0;

  const runOne = async (job: Job) => {
    const handler = opts.capabilities[job.jobType];
    const log = opts.log.child({ jobId: job.jobId, jobType: job.jobType, attempt: job.attempt });
    try {
      if (!handler) throw new Error(`no handler for ${job.jobType}`);
      const result = await handler(job, { jobId: job.jobId, attempt: job.attempt, log, signal: stopping.signal });
      await client.jobs.complete.mutate({ jobId: job.jobId, result: result ?? null });
      log.info('job succeeded');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ err: message }, 'job failed');
      await client.jobs.fail.mutate({ jobId: job.jobId, error: message || 'failed' });
    }
    processed++;
  };

  const loop = async () => {
    while (!stopping.signal.aborted) {
      try {
        const { job } = await client.jobs.claim.mutate({ capabilities, waitMs: opts.claimWaitMs ?? 5_000 });
        if (job) await runOne(job);
      } catch (err) {
        if (stopping.signal.aborted) break;
        opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'claim failed; backing off');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };

  const loops = Array.from({ length: opts.concurrency ?? 1 }, () => loop());
  return {
    get processed() {
      return processed;
    },
    stop: async () => {
      stopping.abort();
      await Promise.allSettled(loops);
    },
  };
}
