import type { Principal } from '@platform/contracts';
import { badRequest, conflict, createEnvelope, notFound, withSpan } from '@platform/kit';
import type { KnowledgePort } from '../clients/knowledge.js';
import {
  decideApproval as decideRow,
  findApproval,
  insertApproval,
  listApprovals as listApprovalRows,
  type ApprovalRow,
  type ApprovalStatusName,
} from '../store/approvals.js';
import { appendOutbox } from '../store/outbox.js';
import type { Page } from '../store/pagination.js';
import { asUser } from '../store/scope.js';
import { findTaskTree } from '../store/tasks.js';
import { myRole } from '../store/teams.js';
import { forbidden, isAdmin, teamMay } from './access.js';
import type { CoreDeps } from './deps.js';

export interface ApprovalDeps extends CoreDeps {
  knowledge: KnowledgePort;
}

/** Subject kinds a caller may ask approval for (`agent_stuck` escalations come only from the consumer). */
export type RequestableSubjectKind = 'knowledge_block' | 'task' | 'workflow' | 'other';

export const approvalEventData = (a: ApprovalRow) => ({
  approvalId: a.id,
  subjectKind: a.subjectKind,
  subjectId: a.subjectId,
  status: a.status,
  teamId: a.teamId,
  requestedBy: a.requestedBy,
  decidedBy: a.decidedBy,
  decidedAt: a.decidedAt?.toISOString() ?? null,
});

/**
 * Opens a request. A knowledge block subject must exist in knowledge, a task subject must be visible
 * to the requester; with a team, the requester must belong to it. One pending request per subject
 * within the team (or, without a team, per requester): a second is a CONFLICT, enforced by partial
 * unique indexes. The scope is one whose members all see its requests, so a stranger's pending
 * request on the same subject neither blocks this one nor reveals itself through the conflict.
 */
export async function requestApproval(
  deps: ApprovalDeps,
  principal: Principal,
  input: { subjectKind: RequestableSubjectKind; subjectId: string; teamId?: string | undefined; reason?: string | undefined },
): Promise<ApprovalRow> {
  if (input.subjectKind === 'knowledge_block') {
    const exists = await withSpan('knowledge.blocks.get', { attributes: { 'block.id': input.subjectId } }, () =>
      deps.knowledge.blockExists(input.subjectId, principal),
    );
    if (!exists) throw badRequest(`block ${input.subjectId} does not exist`, { blockId: input.subjectId });
  }
  return asUser(
    deps.db,
    principal,
    async (s) => {
      if (input.subjectKind === 'task' && !(await findTaskTree(s, input.subjectId))) throw notFound('task', input.subjectId);
      if (input.teamId !== undefined && !teamMay.read(await myRole(s, input.teamId)))
        throw forbidden(`not a member of team ${input.teamId}`);
      const approval = await insertApproval(s, input);
      await appendOutbox(s.tx, createEnvelope('operations', 'operations.approval.requested', approvalEventData(approval), deps));
      return approval;
    },
    { write: true },
  );
}

/**
 * Decides a pending request, once. Permitted: owners and admins of the request's team, or platform
 * admins (the only deciders of requests without a team) — never the requester. A second decision, or
 * losing a race with another decider, is a CONFLICT.
 */
export function decideApproval(
  deps: CoreDeps,
  principal: Principal,
  input: { id: string; decision: 'approved' | 'rejected'; note?: string | undefined },
): Promise<ApprovalRow> {
  const admin = isAdmin(principal);
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const approval = await findApproval(s, input.id, admin);
      if (!approval) throw notFound('approval request', input.id);
      const permitted = admin || (approval.teamId !== null && teamMay.manage(await myRole(s, approval.teamId)));
      if (!permitted) throw forbidden('only team owners or admins (or platform admins) may decide this request');
      if (approval.requestedBy === principal.id) throw forbidden('a request cannot be decided by its requester');
      if (approval.status !== 'pending')
        throw conflict(`approval request ${input.id} is already ${approval.status}`, { status: approval.status });
      const decided = await decideRow(s, input.id, input.decision, input.note, deps.clock());
      if (!decided) throw conflict(`approval request ${input.id} was decided concurrently`);
      await appendOutbox(s.tx, createEnvelope('operations', 'operations.approval.decided', approvalEventData(decided), deps));
      return decided;
    },
    { write: true },
  );
}

export function getApproval(deps: CoreDeps, principal: Principal, id: string): Promise<ApprovalRow> {
  return asUser(deps.db, principal, async (s) => {
    const approval = await findApproval(s, id, isAdmin(principal));
    if (!approval) throw notFound('approval request', id);
    return approval;
  });
}

export function listApprovals(
  deps: CoreDeps,
  principal: Principal,
  f: {
    status?: ApprovalStatusName | undefined;
    subjectKind?: string | undefined;
    teamId?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  },
): Promise<Page<ApprovalRow>> {
  return asUser(deps.db, principal, (s) => listApprovalRows(s, isAdmin(principal), f));
}
