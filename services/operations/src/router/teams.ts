import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import type { CoreDeps } from '../domain/deps.js';
import { createTeam, getTeam, inviteMember, listTeams, removeMember, setMemberRole, type TeamWithMembers } from '../domain/teams.js';
import type { MembershipRow } from '../store/teams.js';
import { authedProcedure, router } from '../trpc.js';
import { Id, iso } from './wire.js';

const meta = openApiMeta('teams');

export const TeamRole = z.enum(['owner', 'admin', 'member', 'viewer']);
export const Membership = z.object({ teamId: z.uuid(), userId: z.string(), role: TeamRole, createdAt: z.string(), updatedAt: z.string() });
export const Team = z.object({
  id: z.uuid(),
  name: z.string(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  members: z.array(Membership),
});

const UserId = z.string().min(1).max(200);

const toMembership = (m: MembershipRow): z.infer<typeof Membership> => ({ ...m, createdAt: iso(m.createdAt), updatedAt: iso(m.updatedAt) });
const toTeam = (t: TeamWithMembers): z.infer<typeof Team> => ({
  id: t.id,
  name: t.name,
  createdBy: t.createdBy,
  createdAt: iso(t.createdAt),
  updatedAt: iso(t.updatedAt),
  members: t.memberships.map(toMembership),
});

export function teamsRouter(deps: CoreDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/teams/create', 'Create a team (the caller becomes its owner)'))
      .input(z.strictObject({ name: z.string().trim().min(1).max(200) }))
      .output(Team)
      .mutation(async ({ ctx, input }) => toTeam(await createTeam(deps, ctx.principal, input.name))),
    get: authedProcedure
      .meta(meta('GET', '/teams/get', 'A team and its members (members only)'))
      .input(z.strictObject({ id: Id }))
      .output(Team)
      .query(async ({ ctx, input }) => toTeam(await getTeam(deps, ctx.principal, input.id))),
    list: authedProcedure
      .meta(meta('GET', '/teams/list', "The caller's teams, with the caller's membership"))
      .input(z.strictObject({}))
      .output(z.array(Team))
      .query(async ({ ctx }) => (await listTeams(deps, ctx.principal)).map(toTeam)),
    invite: authedProcedure
      .meta(meta('POST', '/teams/invite', 'Add a user to a team with a role (owners: any role; admins: member or viewer)'))
      .input(z.strictObject({ teamId: Id, userId: UserId, role: TeamRole.default('member') }))
      .output(Membership)
      .mutation(async ({ ctx, input }) => toMembership(await inviteMember(deps, ctx.principal, input.teamId, input.userId, input.role))),
    setRole: authedProcedure
      .meta(meta('POST', '/teams/set-role', "Change a member's role (a team keeps at least one owner)"))
      .input(z.strictObject({ teamId: Id, userId: UserId, role: TeamRole }))
      .output(Membership)
      .mutation(async ({ ctx, input }) => toMembership(await setMemberRole(deps, ctx.principal, input.teamId, input.userId, input.role))),
    removeMember: authedProcedure
      .meta(meta('POST', '/teams/remove-member', 'Remove a member, or leave a team'))
      .input(z.strictObject({ teamId: Id, userId: UserId }))
      .output(z.object({ removed: z.literal(true) }))
      .mutation(async ({ ctx, input }) => {
        await removeMember(deps, ctx.principal, input.teamId, input.userId);
        return { removed: true as const };
      }),
  });
}
