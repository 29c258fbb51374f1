import { JobId, JobStatus, JobTargetKind, JobType } from '@platform/contracts';
import { DomainError } from '@platform/kit';
import { z } from 'zod';
import { claimJob, completeJob, failJob, getJob, triggerJob, type JobDeps } from '../domain/jobs.js';
import { JobTransition, type JobRecord } from '../store/job-record.js';
import { authedProcedure, router } from '../trpc.js';

export const Job = z.object({
  jobId: JobId,
  jobType: JobType,
  status: JobStatus,
  targetKind: JobTargetKind,
  targetId: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  attempt: z.number().int(),
  agent: z.string().nullable(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  history: z.array(JobTransition),
});

/** The public shape: the record minus its internal outbox. */
const toJob = ({ outbox: _outbox, id, ...rest }: JobRecord): z.infer<typeof Job> => ({ jobId: id, ...rest });

/** Procedures only agents call: the principal's id is the agent's name. */
const agentProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== 'agent') throw new DomainError('FORBIDDEN', 'only agents may take and report jobs');
  return next({ ctx: { ...ctx, agent: ctx.principal.id } });
});

export function jobsRouter(deps: JobDeps & { claimWaitMs: number }) {
  return router({
    trigger: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/jobs/trigger', protect: true, tags: ['jobs'], summary: 'Queue a job' } })
      .input(
        z.strictObject({
          jobType: JobType,
          targetId: z.string().min(1).max(200).optional(),
          targetKind: JobTargetKind.optional(),
          params: z.record(z.string(), z.unknown()).optional(),
        }),
      )
      .output(z.object({ jobId: JobId, status: JobStatus }))
      .mutation(async ({ ctx, input }) => {
        const job = await triggerJob(deps, ctx.principal, input);
        return { jobId: job.id, status: job.status };
      }),
    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/jobs/get', protect: true, tags: ['jobs'], summary: 'Get a job and its history' } })
      .input(z.strictObject({ jobId: JobId }))
      .output(Job)
      .query(async ({ input }) => toJob(await getJob(deps, input.jobId))),
    claim: agentProcedure
      .meta({ openapi: { method: 'POST', path: '/jobs/claim', protect: true, tags: ['jobs'], summary: 'Agent: take the next job of its capabilities' } })
      .input(z.strictObject({ capabilities: z.array(JobType).min(1).max(20), waitMs: z.number().int().min(0).max(30_000).optional() }))
      .output(z.object({ job: Job.nullable() }))
      .mutation(async ({ ctx, input }) => {
        const job = await claimJob(deps, ctx.agent, input.capabilities, input.waitMs ?? deps.claimWaitMs);
        return { job: job ? toJob(job) : null };
      }),
    complete: agentProcedure
      .meta({ openapi: { method: 'POST', path: '/jobs/complete', protect: true, tags: ['jobs'], summary: 'Agent: report success' } })
      .input(z.strictObject({ jobId: JobId, result: z.unknown().optional() }))
      .output(Job)
      .mutation(async ({ ctx, input }) => toJob(await completeJob(deps, ctx.agent, input.jobId, input.result ?? null))),
    fail: agentProcedure
      .meta({ openapi: { method: 'POST', path: '/jobs/fail', protect: true, tags: ['jobs'], summary: 'Agent: report failure' } })
      .input(z.strictObject({ jobId: JobId, error: z.string().min(1).max(5_000) }))
      .output(Job)
      .mutation(async ({ ctx, input }) => toJob(await failJob(deps, ctx.agent, input.jobId, input.error))),
  });
}
