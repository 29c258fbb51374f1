import { JobId, JobPriority, JobStatus, JobTargetKind, JobType } from '@platform/contracts';
import { z } from 'zod';
import { claimJob } from '../domain/claim.js';
import type { CoordinationDeps } from '../domain/deps.js';
import { cancelJob, completeJob, failJob, getJob, listJobs, releaseJob, reportProgress, retryJob, triggerJob } from '../domain/jobs.js';
import { publicJob } from '../store/job-record.js';
import { agentProcedure, authedProcedure, callerProcedure, router } from '../trpc.js';
import { openapiMeta } from './meta.js';
import { AgentName, Job, Session } from './shapes.js';

const meta = openapiMeta('jobs');

export function jobsRouter(deps: CoordinationDeps) {
  return router({
    trigger: callerProcedure
      .meta(meta('POST', '/jobs/trigger', 'Queue a job (params validated against its type; same idempotencyKey → same job)'))
      .input(
        z.strictObject({
          jobType: JobType,
          targetId: z.string().min(1).max(200).optional(),
          targetKind: JobTargetKind.optional(),
          params: z.record(z.string(), z.unknown()).optional(),
          priority: JobPriority.optional(),
          idempotencyKey: z.string().min(1).max(200).optional(),
        }),
      )
      .output(z.object({ jobId: JobId, status: JobStatus, created: z.boolean() }))
      .mutation(async ({ ctx, input }) => {
        const { job, created } = await triggerJob(deps, ctx.principal, input);
        return { jobId: job.id, status: job.status, created };
      }),
    get: authedProcedure
      .meta(meta('GET', '/jobs/get', 'Get a job and its history'))
      .input(z.strictObject({ jobId: JobId }))
      .output(Job)
      .query(async ({ input }) => publicJob(await getJob(deps, input.jobId))),
    list: authedProcedure
      .meta(meta('GET', '/jobs/list', 'List jobs, newest first, filtered, a page at a time'))
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
      .query(async ({ input }) => {
        const page = await listJobs(deps, input);
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
      .input(
        z.strictObject({
          capabilities: z.array(JobType).min(1).max(20),
          waitMs: z.number().int().min(0).max(30_000).optional(),
          /** The agent process and this claim's number in it (the SDK sets them; see agents.ping). */
          session: Session.optional(),
          seq: z.number().int().min(1).optional(),
        }),
      )
      .output(z.object({ job: Job.nullable() }))
      .mutation(async ({ ctx, input, signal }) => {
        const tag = input.session && input.seq ? { session: input.session, seq: input.seq } : undefined;
        const job = await claimJob(deps, ctx.agent, input.capabilities, input.waitMs ?? deps.settings.claimWaitMs, signal, tag);
        return { job: job ? publicJob(job) : null };
      }),
    progress: agentProcedure
      .meta(meta('POST', '/jobs/progress', 'Agent: report progress; answers whether to keep going (false once cancelled or lost)'))
      .input(z.strictObject({ jobId: JobId, fraction: z.number().min(0).max(1).optional(), message: z.string().max(2_000).optional() }))
      .output(z.object({ status: JobStatus, keepGoing: z.boolean(), cancelled: z.boolean() }))
      .mutation(({ ctx, input }) => reportProgress(deps, ctx.agent, input.jobId, input)),
    complete: agentProcedure
      .meta(meta('POST', '/jobs/complete', 'Agent: report success'))
      .input(z.strictObject({ jobId: JobId, result: z.unknown().optional() }))
      .output(Job)
      .mutation(async ({ ctx, input }) => publicJob(await completeJob(deps, ctx.agent, input.jobId, input.result ?? null))),
    fail: agentProcedure
      .meta(meta('POST', '/jobs/fail', 'Agent: report failure (retried with backoff, dead-lettered after the last attempt)'))
      .input(z.strictObject({ jobId: JobId, error: z.string().min(1).max(5_000) }))
      .output(Job)
      .mutation(async ({ ctx, input }) => publicJob(await failJob(deps, ctx.agent, input.jobId, input.error))),
    release: agentProcedure
      .meta(meta('POST', '/jobs/release', 'Agent: hand a running job back to the queue untouched (e.g. on shutdown)'))
      .input(z.strictObject({ jobId: JobId, reason: z.string().min(1).max(1_000).optional() }))
      .output(Job)
      .mutation(async ({ ctx, input }) => publicJob(await releaseJob(deps, ctx.agent, input.jobId, input.reason))),
  });
}
