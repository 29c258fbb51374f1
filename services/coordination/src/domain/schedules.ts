import type { JobPriority, JobTargetKind, JobType, Principal } from '@platform/contracts';
import { badRequest, notFound } from '@platform/kit';
import { Cron } from 'croner';
import type { ScheduleRecord } from '../store/schedule-record.js';
import { RevisionConflict } from '../store/typed-kv.js';
import type { CoordinationDeps } from './deps.js';
import { triggerJob } from './jobs.js';
import { parseJobParams } from './params.js';

export interface CreateScheduleInput {
  cron: string;
  timezone?: string | undefined;
  jobType: JobType;
  params?: Record<string, unknown> | undefined;
  targetId?: string | undefined;
  targetKind?: JobTargetKind | undefined;
  priority?: JobPriority | undefined;
}

/** The principal schedules trigger as: the same on every replica, so their idempotency keys agree. */
const SCHEDULER: Principal = { kind: 'service', id: 'coordination-scheduler', roles: ['service'] };

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

/** Creates a schedule (5 fields, or 6 with seconds). Cron, timezone and params are validated now, not at the first tick. */
export async function createSchedule(deps: CoordinationDeps, principal: Principal, input: CreateScheduleInput): Promise<ScheduleRecord> {
  const timezone = input.timezone ?? null;
  if (timezone) assertTimezone(timezone);
  const now = deps.clock();
  if (!compile(input.cron, timezone).nextRun(now)) throw badRequest('cron expression never fires', { cron: input.cron });
  const params = parseJobParams(input.jobType, input.params);
  const record: ScheduleRecord = {
    id: deps.newId(),
    cron: input.cron,
    timezone,
    jobType: input.jobType,
    params,
    targetKind: input.targetKind ?? (input.targetId ? 'task' : 'none'),
    targetId: input.targetId ?? null,
    priority: input.priority ?? 'normal',
    createdBy: `${principal.kind}:${principal.id}`,
    createdAt: now.toISOString(),
    lastFiredTick: null,
    lastJobId: null,
  };
  const revision = await deps.stores.schedules.create(record.id, record);
  deps.caches.schedules.remember(record.id, record, revision);
  return record;
}

export async function listSchedules(deps: CoordinationDeps, filter: { jobType?: JobType | undefined }): Promise<ScheduleRecord[]> {
  return (await deps.stores.schedules.scan())
    .map((e) => e.record)
    .filter((s) => !filter.jobType || s.jobType === filter.jobType)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function deleteSchedule(deps: CoordinationDeps, id: string): Promise<void> {
  if (!(await deps.stores.schedules.get(id))) throw notFound('schedule', id);
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
      const { job, created } = await triggerJob(deps, SCHEDULER, {
        jobType: record.jobType,
        params: record.params,
        targetId: record.targetId ?? undefined,
        targetKind: record.targetKind,
        priority: record.priority,
        idempotencyKey: `schedule:${id}:${tickIso}`,
        scheduleId: id,
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
