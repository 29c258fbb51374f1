import type { Prisma } from '../generated/prisma/client.js';
import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { SystemScope, UserScope } from './scope.js';

export type ApprovalStatusName = 'pending' | 'approved' | 'rejected' | 'cancelled';

export interface ApprovalRow {
  id: string;
  subjectKind: string;
  subjectId: string;
  status: ApprovalStatusName;
  teamId: string | null;
  requestedBy: string;
  reason: string | null;
  context: Prisma.JsonValue;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionNote: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewApproval {
  subjectKind: string;
  subjectId: string;
  teamId?: string | undefined;
  reason?: string | undefined;
  context?: Prisma.InputJsonValue;
}

/** The requester, members of the request's team, and platform admins see a request. */
const visibleTo = (userId: string, admin: boolean): Prisma.ApprovalRequestWhereInput =>
  admin ? {} : { OR: [{ requestedBy: userId }, { team: { memberships: { some: { userId } } } }] };

export function insertApproval(s: UserScope, a: NewApproval): Promise<ApprovalRow> {
  return s.tx.approvalRequest.create({
    data: {
      subjectKind: a.subjectKind,
      subjectId: a.subjectId,
      teamId: a.teamId ?? null,
      reason: a.reason ?? null,
      requestedBy: s.userId,
      context: a.context ?? {},
    },
  });
}

/** An escalation opened by a system consumer on behalf of `requestedBy` (an agent). */
export function insertEscalation(s: SystemScope, a: NewApproval & { requestedBy: string }): Promise<ApprovalRow> {
  return s.tx.approvalRequest.create({
    data: {
      subjectKind: a.subjectKind,
      subjectId: a.subjectId,
      reason: a.reason ?? null,
      requestedBy: a.requestedBy,
      context: a.context ?? {},
    },
  });
}

export function findPendingFor(s: SystemScope | UserScope, subjectKind: string, subjectId: string): Promise<ApprovalRow | null> {
  return s.tx.approvalRequest.findFirst({ where: { subjectKind, subjectId, status: 'pending' } });
}

export function findApproval(s: UserScope, id: string, admin: boolean): Promise<ApprovalRow | null> {
  return s.tx.approvalRequest.findFirst({ where: { id, ...visibleTo(s.userId, admin) } });
}

export async function listApprovals(
  s: UserScope,
  admin: boolean,
  f: {
    status?: ApprovalStatusName | undefined;
    subjectKind?: string | undefined;
    teamId?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  },
): Promise<Page<ApprovalRow>> {
  const rows = await s.tx.approvalRequest.findMany({
    where: {
      AND: [
        visibleTo(s.userId, admin),
        {
          ...(f.status ? { status: f.status } : {}),
          ...(f.subjectKind ? { subjectKind: f.subjectKind } : {}),
          ...(f.teamId ? { teamId: f.teamId } : {}),
        },
        afterCursor(f.cursor),
      ],
    },
    orderBy: [...keysetOrder()],
    take: f.limit + 1,
  });
  return toPage(rows, f.limit);
}

/**
 * Decides a pending request: a conditional update, so of two concurrent deciders exactly one wins
 * (the other sees count 0). RLS additionally requires the decider's role and forbids deciding one's own.
 */
export async function decideApproval(
  s: UserScope,
  id: string,
  status: 'approved' | 'rejected',
  note: string | undefined,
  at: Date,
): Promise<ApprovalRow | null> {
  const r = await s.tx.approvalRequest.updateMany({
    where: { id, status: 'pending' },
    data: { status, decidedBy: s.userId, decidedAt: at, decisionNote: note ?? null },
  });
  return r.count === 1 ? s.tx.approvalRequest.findUnique({ where: { id } }) : null;
}
