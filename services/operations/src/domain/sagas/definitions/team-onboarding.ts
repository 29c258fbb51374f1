import { TaskPriority } from '@platform/contracts';
import { z } from 'zod';
import { toDomainError } from '../../../store/db-errors.js';
import { asUser } from '../../../store/scope.js';
import { findTaskTree, insertTaskTree, deleteTask } from '../../../store/tasks.js';
import { deleteMembership, deleteTeam, findMembership, findTeam, insertMembership, insertTeam } from '../../../store/teams.js';
import type { CoreDeps } from '../../deps.js';
import { defineSaga, PermanentStepError, type StepContext } from '../definition.js';
import { uuidFromKey } from '../idempotency.js';

export const TeamOnboardingPayload = z.strictObject({
  teamName: z.string().trim().min(1).max(200),
  members: z
    .array(z.strictObject({ userId: z.string().min(1).max(200), role: z.enum(['admin', 'member', 'viewer']).default('member') }))
    .max(50)
    .default([]),
  kickoffTask: z
    .strictObject({ title: z.string().trim().min(1).max(500), subtasks: z.array(z.string().trim().min(1).max(500)).max(20).default([]) })
    .optional(),
});
export type TeamOnboardingPayload = z.infer<typeof TeamOnboardingPayload>;

type Ctx = StepContext<TeamOnboardingPayload>;

/** Steps act for the principal who started the saga: row-level security applies to them as to any call. */
const as = (ctx: Ctx) => ({ kind: 'user' as const, id: ctx.startedBy, roles: [] });

/**
 * `team_onboarding`: create a team, add its first members, open a kickoff task for it. A member who
 * does not exist fails the second step for good, and the team is removed again (compensation).
 * Each step is idempotent through ids derived from its idempotency key, so a re-run after a crash
 * finds what the first run made.
 */
export function teamOnboardingSaga(deps: CoreDeps) {
  return defineSaga<TeamOnboardingPayload>({
    type: 'team_onboarding',
    payload: TeamOnboardingPayload,
    steps: [
      {
        name: 'create_team',
        timeoutMs: 10_000,
        action: async (ctx) => {
          const id = uuidFromKey(ctx.idempotencyKey);
          try {
            await asUser(
              deps.db,
              as(ctx),
              async (s) => {
                if (!(await findTeam(s, id))) await insertTeam(s, ctx.payload.teamName, id);
              },
              { write: true },
            );
            return { teamId: id };
          } catch (err) {
            const e = toDomainError(err) as { code?: string };
            if (e.code !== 'CONFLICT') throw e;
            // The same step may run twice at once (a replica whose lease expired while it still
            // worked, and the one that took over): the conflict is then with the team the other run
            // just made under this step's id, which is this step's result. Only another team's name is taken.
            if (await asUser(deps.db, as(ctx), (s) => findTeam(s, id))) return { teamId: id };
            throw new PermanentStepError(`team name "${ctx.payload.teamName}" is taken`);
          }
        },
        compensate: (ctx) => asUser(deps.db, as(ctx), async (s) => void (await deleteTeam(s, teamOf(ctx)))),
      },
      {
        name: 'add_members',
        timeoutMs: 10_000,
        action: (ctx) =>
          asUser(deps.db, as(ctx), async (s) => {
            const teamId = teamOf(ctx);
            for (const m of ctx.payload.members) {
              if (m.userId === ctx.startedBy || (await findMembership(s, teamId, m.userId))) continue;
              try {
                await insertMembership(s, teamId, m.userId, m.role);
              } catch (err) {
                const e = toDomainError(err) as { code?: string };
                if (e.code === 'BAD_REQUEST') throw new PermanentStepError(`user ${m.userId} does not exist`);
                throw e;
              }
            }
            return { added: ctx.payload.members.map((m) => m.userId).filter((u) => u !== ctx.startedBy) };
          }),
        compensate: (ctx) =>
          asUser(deps.db, as(ctx), async (s) => {
            for (const m of ctx.payload.members) if (m.userId !== ctx.startedBy) await deleteMembership(s, teamOf(ctx), m.userId);
          }),
      },
      {
        name: 'create_kickoff_task',
        timeoutMs: 10_000,
        action: (ctx) =>
          asUser(
            deps.db,
            as(ctx),
            async (s) => {
              const k = ctx.payload.kickoffTask;
              if (!k) return { taskId: null };
              const id = uuidFromKey(ctx.idempotencyKey);
              if (await findTaskTree(s, id)) return { taskId: id };
              const subtasks = k.subtasks.map((title) => ({ title, priority: TaskPriority.enum.P2 }));
              await insertTaskTree(s, { id, title: k.title, priority: 'P1', teamId: teamOf(ctx), subtasks });
              return { taskId: id };
            },
            { write: true },
          ),
        compensate: (ctx) =>
          asUser(deps.db, as(ctx), async (s) => {
            const taskId = (ctx.outputs['create_kickoff_task'] as { taskId: string | null } | undefined)?.taskId;
            if (taskId) await deleteTask(s, taskId);
          }),
      },
    ],
  });
}

function teamOf(ctx: Ctx): string {
  const out = ctx.outputs['create_team'] as { teamId: string } | undefined;
  if (!out) throw new Error('create_team has no output');
  return out.teamId;
}
