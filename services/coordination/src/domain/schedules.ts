import type { JobPriority, JobTargetKind, JobType, Principal } from '@platform/contracts';
import { badRequest, notFound } from '@platform/kit';
import { Cron } from 'croner';
import type { ScheduleRecord } from '../store/schedule-record.js';
import { RevisionConflict } from '../store/typed-kv.js';
import type { CoordinationDeps } from './deps.js';
import { createJob } from './jobs.js';
import { assertMayShareWith, ownerOf, viewerFor } from './ownership.js';
import { keysetPage, type Page } from './paging.js';
import { parseJobParams } from './params.js';
import { assertMayTarget, targetOf } from './task-access.js';

export interface CreateScheduleInput {
  cron: string;
  timezone?: string | undefined;
  jobType: JobType;
  params?: Record<string, unknown> | undefined;
  targetId?: string | undefined;
  targetKind?: JobTargetKind | undefined;
  priority?: JobPriority | undefined;
  /** Share the schedule (and its jobs) with a team the caller belongs to. */
  teamId?: string | undefined;
}

/**
 * Who scheduled jobs are created by (their owner is the schedule's): the same on every replica, so
 * the idempotency keys of a tick agree.
 */
const SCHEDULER = 'service:coordination-scheduler';

const compiled = new Map<string, Cron>();

function compile(cron: string, timezone: string | null): Cron {
  const key = `${timezone ?? ''}|${cron}`;
  const have = compiled.get(key);
  if (have) return have;
  try {
    const c = new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(key, c);
    return c;
  } catch (err) {
    throw badRequest(`invalid cron expression: ${err instanceof Error ? err.message : String(err)}`, { cron });
  }
}

export const nextRunAt = (s: ScheduleRecord, now: Date): string | null => compile(s.cron, s.timezone).nextRun(now)?.toISOString() ?? null;

function assertTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw badRequest(`unknown timezone ${timezone} (use an IANA name such as Europe/Paris)`, { timezone });
  }
}

/**
 * Creates a schedule (5 fields, or 6 with seconds), owned by the caller. Cron, timezone and params
 * are validated now, not at the first tick; so are the team (the caller's) and a task target (the
 * caller may change it, as operations says), since its jobs will act for the caller.
 */
export async function createSchedule(deps: CoordinationDeps, principal: Principal, input: CreateScheduleInput): Promise<ScheduleRecord> {
  const timezone = input.timezone ?? null;
  if (timezone) assertTimezone(timezone);
  const now = deps.clock();
  if (!compile(input.cron, timezone).nextRun(now)) throw badRequest('cron expression never fires', { cron: input.cron });
  const params = parseJobParams(input.jobType, input.params);
  const target = targetOf(input);
  await assertMayShareWith(deps.teams, principal, input.teamId);
  await assertMayTarget(deps.taskAccess, principal, target);
  const record: ScheduleRecord = {
    id: deps.newId(),
    cron: input.cron,
    timezone,
    jobType: input.jobType,
    params,
    ...target,
    priority: input.priority ?? 'normal',
    createdBy: `${principal.kind}:${principal.id}`,
    owner: ownerOf(principal),
    teamId: input.teamId ?? null,
    createdAt: now.toISOString(),
    lastFiredTick: null,
    lastJobId: null,
  };
  const revision = await deps.stores.schedules.create(record.id, record);
  deps.caches.schedules.remember(record.id, record, revision);
  return record;
}

/** The schedules the principal may see (its own, its teams'; services and admins all), newest first, a page at a time. */
export async function listSchedules(
  deps: CoordinationDeps,
  principal: Principal,
  filter: { jobType?: JobType | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<ScheduleRecord>> {
  const viewer = await viewerFor(deps.teams, principal);
  const visible = (await deps.stores.schedules.scan())
    .map((e) => e.record)
    .filter((s) => viewer.schedule(s) && (!filter.jobType || s.jobType === filter.jobType));
  return keysetPage(visible, (s) => [s.createdAt, s.id], filter, 'desc');
}

/** Deletes a schedule the principal may see; any other is NOT_FOUND, like one that does not exist. */
export async function deleteSchedule(deps: CoordinationDeps, principal: Principal, id: string): Promise<void> {
  const found = await deps.stores.schedules.get(id);
  if (!found || !(await viewerFor(deps.teams, principal)).schedule(found.record)) throw notFound('schedule', id);
  await deps.stores.schedules.delete(id);
  deps.caches.schedules.forget(id);
}

/**
 * Every replica runs this each SCHEDULER_TICK_MS. For each schedule whose latest cron tick has not
 * fired, it triggers the job with the idempotency key `schedule:<id>:<tick>`: every replica derives
 * the same job id for a tick, and the KV create lets only one of them make it — at most one job per
 * tick, without a leader. Ticks missed while no replica ran collapse into the latest one.
 */
export async function fireDueSchedules(deps: CoordinationDeps): Promise<number> {
  const now = deps.clock();
  let fired = 0;
  for (const [id, { record }] of deps.caches.schedules.entries()) {
    try {
      const tick = compile(record.cron, record.timezone).previousRuns(1, now)[0];
      if (!tick) continue;
      const tickIso = tick.toISOString();
      if (tickIso <= (record.lastFiredTick ?? record.createdAt)) continue;
      const fresh = await deps.stores.schedules.get(id);
      if (!fresh || (fresh.record.lastFiredTick && tickIso <= fresh.record.lastFiredTick)) continue; // deleted, or fired elsewhere
      // The job is the schedule owner's (its task target was checked for them at creation, and
      // operations checks again, as them, when it applies the result).
      const origin = { owner: fresh.record.owner, teamId: fresh.record.teamId, createdBy: SCHEDULER, scheduleId: id };
      const { job, created } = await createJob(deps, origin, {
        jobType: record.jobType,
        params: parseJobParams(record.jobType, record.params),
        targetId: record.targetId,
        targetKind: record.targetKind,
        priority: record.priority,
        idempotencyKey: `schedule:${id}:${tickIso}`,
      });
      if (created) fired++;
      const next = { ...fresh.record, lastFiredTick: tickIso, lastJobId: job.id };
      try {
        const revision = await deps.stores.schedules.update(id, next, fresh.revision);
        deps.caches.schedules.remember(id, next, revision);
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err; // another replica recorded the tick
      }
    } catch (err) {
      deps.log.warn({ scheduleId: id, err: err instanceof Error ? err.message : String(err) }, 'schedule tick failed; will retry');
    }
  }
  return fired;
}
