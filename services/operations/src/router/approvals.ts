import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import { decideApproval, getApproval, listApprovals, requestApproval, type ApprovalDeps } from '../domain/approvals.js';
import type { ApprovalRow } from '../store/approvals.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, Id, iso, isoOrNull, JsonObject, Limit, pageOf, toPage } from './wire.js';

const meta = openApiMeta('approvals');

export const ApprovalStatus = z.enum(['pending', 'approved', 'rejected', 'cancelled']);
export const Approval = z.object({
  id: z.uuid(),
  subjectKind: z.string(),
  subjectId: z.string(),
  status: ApprovalStatus,
  teamId: z.uuid().nullable(),
  requestedBy: z.string(),
  reason: z.string().nullable(),
  context: JsonObject,
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionNote: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const toApproval = (a: ApprovalRow): z.infer<typeof Approval> => ({
  ...a,
  context: (a.context ?? {}) as Record<string, unknown>,
  decidedAt: isoOrNull(a.decidedAt),
  createdAt: iso(a.createdAt),
  updatedAt: iso(a.updatedAt),
});

export function approvalsRouter(deps: ApprovalDeps) {
  return router({
    request: authedProcedure
      .meta(
        meta(
          'POST',
          '/approvals/request',
          'Ask for a decision about a subject (one pending request per subject in the team, or per requester without a team)',
        ),
      )
      .input(
        z.strictObject({
          subjectKind: z.enum(['knowledge_block', 'task', 'workflow', 'other']),
          subjectId: z.string().trim().min(1).max(200),
          teamId: Id.optional(),
          reason: z.string().trim().min(1).max(5_000).optional(),
        }),
      )
      .output(Approval)
      .mutation(async ({ ctx, input }) => toApproval(await requestApproval(deps, ctx.principal, input))),
    decide: authedProcedure
      .meta(meta('POST', '/approvals/decide', 'Approve or reject, once (team owners/admins or platform admins; never the requester)'))
      .input(z.strictObject({ id: Id, decision: z.enum(['approved', 'rejected']), note: z.string().trim().min(1).max(5_000).optional() }))
      .output(Approval)
      .mutation(async ({ ctx, input }) => toApproval(await decideApproval(deps, ctx.principal, input))),
    get: authedProcedure
      .meta(meta('GET', '/approvals/get', 'One approval request'))
      .input(z.strictObject({ id: Id }))
      .output(Approval)
      .query(async ({ ctx, input }) => toApproval(await getApproval(deps, ctx.principal, input.id))),
    list: authedProcedure
      .meta(meta('GET', '/approvals/list', 'Visible approval requests, newest first'))
      .input(
        z.strictObject({
          status: ApprovalStatus.optional(),
          subjectKind: z.string().min(1).max(50).optional(),
          teamId: Id.optional(),
          cursor: Cursor,
          limit: Limit,
        }),
      )
      .output(pageOf(Approval))
      .query(async ({ ctx, input }) => toPage(await listApprovals(deps, ctx.principal, input), toApproval)),
  });
}
