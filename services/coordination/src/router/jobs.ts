import { openApiMeta } from '@platform/kit';
import { JobId, JobPriority, JobStatus, JobTargetKind, JobType } from '@platform/contracts';
import type { Logger } from '@platform/kit';
import { z } from 'zod';
import { claimJob } from '../domain/claim.js';
import type { CoordinationDeps } from '../domain/deps.js';
import { cancelJob, completeJob, failJob, getJob, listJobs, releaseJob, reportProgress, retryJob, triggerJob } from '../domain/jobs.js';
import { publicJob } from '../store/job-record.js';
import { agentProcedure, authedProcedure, callerProcedure, router } from '../trpc.js';
import { jobStatusProcedure } from './live.js';
import { AgentName, Job, Session } from './wire.js';

const meta = openApiMeta('jobs');

/** A claim: the types to take, how long to wait, and (SDK) the agent process and claim number. */
const ClaimInput = z.strictObject({
  capabilities: z.array(JobType).min(1).max(20),
  waitMs: z.number().int().min(0).max(30_000).optional(),
  session: Session.optional(),
  seq: z.number().int().min(1).optional(),
});
type ClaimInput = z.infer<typeof ClaimInput>;

/** The answer to a report that also asked for the next job (one request per job in steady state). */
const Reported = z.object({ job: Job, next: Job.nullable() });

export function jobsRouter(deps: CoordinationDeps) {
  const claim = async (agent: string, input: ClaimInput, signal: AbortSignal | undefined) => {
    const tag = input.session && input.seq ? { session: input.session, seq: input.seq } : undefined;
    const job = await claimJob(deps, agent, input.capabilities, input.waitMs ?? deps.settings.claimWaitMs, signal, tag);
    return job ? publicJob(job) : null;
  };
  /** The report stands whatever happens to the claim after it; a failed claim answers "no job" (the agent's next plain claim shows why). */
  const claimAfterReport = async (ctx: { agent: string; log: Logger }, next: ClaimInput | undefined, signal: AbortSignal | undefined) => {
    if (!next) return null;
    try {
      return await claim(ctx.agent, next, signal);
    } catch (err) {
      ctx.log.warn({ agent: ctx.agent, err: err instanceof Error ? err.message : String(err) }, 'claim after report failed');
      return null;
    }
  };
  /**
   * A report and the claim that came with it, side by side: neither waits for the other's round
   * trips (they touch different jobs). A report that fails answers its error, as when the claim
   * came after it, and a job the claim took meanwhile goes straight back to its queue (the agent
   * never sees it; if handing it back fails, the lease sweep finds it orphaned by the agent's heartbeats).
   */
  const reportAndClaim = async <R>(
    ctx: { agent: string; log: Logger },
    report: Promise<R>,
    next: ClaimInput | undefined,
    signal: AbortSignal | undefined,
  ) => {
    const claimed = claimAfterReport(ctx, next, signal);
    try {
      return { job: await report, next: await claimed };
    } catch (err) {
      void claimed.then((job) => job && releaseJob(deps, ctx.agent, job.jobId, 'its report failed').catch(() => undefined));
      throw err;
    }
  };
  return router({
    trigger: callerProcedure
      .meta(
        meta(
          'POST',
          '/jobs/trigger',
          'Queue a job owned by the caller (params validated against its type; a task target must be one the caller may change; same idempotencyKey → same job)',
        ),
      )
      .input(
        z.strictObject({
          jobType: JobType,
          targetId: z.string().min(1).max(200).optional(),
          targetKind: JobTargetKind.optional(),
          params: z.record(z.string(), z.unknown()).optional(),
          priority: JobPriority.optional(),
          idempotencyKey: z.string().min(1).max(200).optional(),
          /** Share the job with a team the caller belongs to (its members may see, cancel and retry it). */
          teamId: z.uuid().optional(),
        }),
      )
      .output(z.object({ jobId: JobId, status: JobStatus, created: z.boolean() }))
      .mutation(async ({ ctx, input }) => {
        const { job, created } = await triggerJob(deps, ctx.principal, input);
        return { jobId: job.id, status: job.status, created };
      }),
    get: authedProcedure
      .meta(
        meta(
          'GET',
          '/jobs/get',
          'Get a job the caller may see (owner, its team, services, admins; an agent only while it holds it) and its history',
        ),
      )
      .input(z.strictObject({ jobId: JobId }))
      .output(Job)
      .query(async ({ ctx, input }) => publicJob(await getJob(deps, ctx.principal, input.jobId))),
    list: authedProcedure
      .meta(meta('GET', '/jobs/list', 'List the jobs the caller may see, newest first, filtered, a page at a time'))
      .input(
        z.strictObject({
          status: JobStatus.optional(),
          jobType: JobType.optional(),
          agent: AgentName.optional(),
          targetId: z.string().min(1).max(200).optional(),
          priority: JobPriority.optional(),
          cursor: z.string().min(1).max(500).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      )
      .output(z.object({ jobs: z.array(Job), nextCursor: z.string().nullable() }))
      .query(async ({ ctx, input }) => {
        const page = await listJobs(deps, ctx.principal, input);
        return { jobs: page.jobs.map(publicJob), nextCursor: page.nextCursor };
      }),
    cancel: callerProcedure
      .meta(meta('POST', '/jobs/cancel', 'Cancel a queued or running job (its agent learns on its next ping or progress report)'))
      .input(z.strictObject({ jobId: JobId, reason: z.string().min(1).max(1_000).optional() }))
      .output(Job)
      .mutation(async ({ ctx, input }) => publicJob(await cancelJob(deps, ctx.principal, input.jobId, input.reason))),
    retry: callerProcedure
      .meta(meta('POST', '/jobs/retry', 'Re-queue a dead job with a fresh set of attempts'))
      .input(z.strictObject({ jobId: JobId }))
      .output(Job)
      .mutation(async ({ ctx, input }) => publicJob(await retryJob(deps, ctx.principal, input.jobId))),
    claim: agentProcedure
      .meta(meta('POST', '/jobs/claim', 'Agent: take the next job of its capabilities (long poll)'))
      .input(ClaimInput)
      .output(z.object({ job: Job.nullable() }))
      .mutation(async ({ ctx, input, signal }) => ({ job: await claim(ctx.agent, input, signal) })),
    progress: agentProcedure
      .meta(meta('POST', '/jobs/progress', 'Agent: report progress; answers whether to keep going (false once cancelled or lost)'))
      .input(z.strictObject({ jobId: JobId, fraction: z.number().min(0).max(1).optional(), message: z.string().max(2_000).optional() }))
      .output(z.object({ status: JobStatus, keepGoing: z.boolean(), cancelled: z.boolean() }))
      .mutation(({ ctx, input }) => reportProgress(deps, ctx.agent, input.jobId, input)),
    complete: agentProcedure
      .meta(meta('POST', '/jobs/complete', 'Agent: report success; with `next`, also claim the next job'))
      .input(z.strictObject({ jobId: JobId, result: z.unknown().optional(), next: ClaimInput.optional() }))
      .output(Reported)
      .mutation(async ({ ctx, input, signal }) => {
        const { job, next } = await reportAndClaim(
          ctx,
          completeJob(deps, ctx.agent, input.jobId, input.result ?? null),
          input.next,
          signal,
        );
        return { job: publicJob(job), next };
      }),
    fail: agentProcedure
      .meta(
        meta(
          'POST',
          '/jobs/fail',
          'Agent: report failure (retried with backoff, dead-lettered after the last attempt); with `next`, also claim the next job',
        ),
      )
      .input(z.strictObject({ jobId: JobId, error: z.string().min(1).max(5_000), next: ClaimInput.optional() }))
      .output(Reported)
      .mutation(async ({ ctx, input, signal }) => {
        const { job, next } = await reportAndClaim(ctx, failJob(deps, ctx.agent, input.jobId, input.error), input.next, signal);
        return { job: publicJob(job), next };
      }),
    release: agentProcedure
      .meta(meta('POST', '/jobs/release', 'Agent: hand a running job back to the queue untouched (e.g. on shutdown)'))
      .input(z.strictObject({ jobId: JobId, reason: z.string().min(1).max(1_000).optional() }))
      .output(Job)
      .mutation(async ({ ctx, input }) => publicJob(await releaseJob(deps, ctx.agent, input.jobId, input.reason))),
    onStatus: jobStatusProcedure(deps),
  });
}
