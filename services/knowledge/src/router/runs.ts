import { openApiMeta } from '@platform/kit';
import { IsoDateTime, SessionId, Uuid, RunStepChangeKind, RunStepStatus } from '@platform/contracts';
import { z } from 'zod';
import type { BlockDeps } from '../domain/blocks.js';
import {
  addSteps,
  createRun,
  listRunPage,
  moveStep,
  replayRun,
  runTree,
  stepPathToRoot,
  stepRelatives,
  subtree,
  TREE_LIMIT,
  updateStep,
} from '../domain/runs.js';
import { MAX_TREE_DEPTH } from '../store/runs.js';
import { authedProcedure, router } from '../trpc.js';
import { JsonObject, ownerFields, TeamId } from './wire.js';

const meta = openApiMeta('runs');

const Name = z.string().trim().min(1).max(500);
/** 'manual': made through runs.create; 'saga', 'task', 'job': recorded by knowledge from the platform's events. */
const RunKind = z.enum(['manual', 'saga', 'task', 'job']);
const Run = z.object({
  id: Uuid,
  kind: RunKind,
  name: z.string(),
  sessionId: z.string().nullable(),
  rootStepId: Uuid,
  seq: z.number().int(),
  createdAt: z.string(),
  createdBy: z.string(),
  ...ownerFields,
});
/** A run in a list, with its status: its root step's (a run is as far as its root says). */
const RunSummary = Run.extend({ status: RunStepStatus });
/** runs.list: every filter optional and combined with AND; `limit` capped at 200 like the other lists. */
export const ListRunsInput = z
  .strictObject({
    status: RunStepStatus.optional(),
    kind: RunKind.optional(),
    name: Name.optional(),
    namePrefix: Name.optional(),
    sessionId: SessionId.optional(),
    teamId: TeamId.optional(),
    /** The owner's principal id (a user's or agent's); only runs the caller may see are listed. */
    ownerId: z.string().min(1).max(200).optional(),
    /** Started at or after this instant. */
    startedAfter: IsoDateTime.optional(),
    /** Started before this instant. */
    startedBefore: IsoDateTime.optional(),
    cursor: z.string().min(1).max(1_000).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((i) => !i.startedAfter || !i.startedBefore || Date.parse(i.startedAfter) < Date.parse(i.startedBefore), {
    message: 'startedAfter must be before startedBefore',
    path: ['startedBefore'],
  });

const stepFields = {
  id: Uuid,
  runId: Uuid,
  parentId: Uuid.nullable(),
  name: z.string(),
  status: RunStepStatus,
  input: JsonObject.nullable(),
  output: JsonObject.nullable(),
  addedSeq: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
};
const Step = z.object(stepFields);
const TreeStep = z.object({ ...stepFields, depth: z.number().int() });
const StepAtDepth = z.object({ step: Step, depth: z.number().int() });
const Change = z.object({
  runId: Uuid,
  seq: z.number().int(),
  stepId: Uuid,
  kind: RunStepChangeKind,
  parentId: Uuid.nullable(),
  name: z.string(),
  status: RunStepStatus,
  previousStatus: RunStepStatus.nullable(),
  output: JsonObject.nullable(),
  at: z.string(),
  by: z.string(),
});
const ReplayedStep = z.object({
  id: Uuid,
  parentId: Uuid.nullable(),
  name: z.string(),
  status: RunStepStatus,
  output: JsonObject.nullable(),
  addedSeq: z.number().int(),
  lastSeq: z.number().int(),
  depth: z.number().int(),
});
const Depth = z.number().int().min(1).max(MAX_TREE_DEPTH).optional();
/** How many steps (changes for replay) a tree read answers at most; `truncated` says whether it cut. */
const TreeLimit = z.number().int().min(1).max(TREE_LIMIT.max).default(TREE_LIMIT.default);
const Truncated = z.boolean();

export function runsRouter(deps: BlockDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/runs/create', 'Start a run (with its root step)'))
      .input(
        z.strictObject({
          name: Name,
          sessionId: SessionId.optional(),
          teamId: TeamId.optional(),
          root: z.strictObject({ name: Name.optional(), input: JsonObject.optional() }).prefault({}),
        }),
      )
      .output(z.object({ run: Run, root: Step }))
      .mutation(({ ctx, input }) => createRun(deps, ctx.principal, input)),
    list: authedProcedure
      .meta(
        meta(
          'GET',
          '/runs/list',
          'Runs the caller sees, newest first, by status (the root step’s), name or name prefix, session, team, owner or start time, paged by cursor',
        ),
      )
      .input(ListRunsInput)
      .output(z.object({ items: z.array(RunSummary), nextCursor: z.string().nullable() }))
      .query(({ ctx, input }) => listRunPage(deps, ctx.principal, input)),
    addSteps: authedProcedure
      .meta(meta('POST', '/runs/add-steps', 'Add steps under parents (batch, parents first; refuses cycles)'))
      .input(
        z.strictObject({
          runId: Uuid,
          steps: z
            .array(
              z.strictObject({
                id: Uuid.optional(),
                parentId: Uuid,
                name: Name,
                status: RunStepStatus.optional(),
                input: JsonObject.optional(),
              }),
            )
            .min(1)
            .max(500),
        }),
      )
      .output(z.object({ steps: z.array(Step) }))
      .mutation(async ({ ctx, input }) => ({ steps: await addSteps(deps, ctx.principal, input) })),
    updateStep: authedProcedure
      .meta(meta('POST', '/runs/update-step', "Change a step's status and/or output"))
      .input(
        z
          .strictObject({ stepId: Uuid, status: RunStepStatus.optional(), output: JsonObject.nullable().optional() })
          .refine((i) => i.status !== undefined || i.output !== undefined, {
            message: 'give a status, an output or both',
            path: ['status'],
          }),
      )
      .output(Step)
      .mutation(({ ctx, input }) => updateStep(deps, ctx.principal, input)),
    moveStep: authedProcedure
      .meta(meta('POST', '/runs/move-step', 'Re-parent a step within its run (a move that would make a cycle is refused)'))
      .input(z.strictObject({ stepId: Uuid, parentId: Uuid }))
      .output(Step)
      .mutation(({ ctx, input }) => moveStep(deps, ctx.principal, input)),
    tree: authedProcedure
      .meta(
        meta(
          'GET',
          '/runs/tree',
          'A run and its steps in tree order with depths: the first `limit` (default 1,000, max 5,000); `truncated` when there are more',
        ),
      )
      .input(z.strictObject({ runId: Uuid, limit: TreeLimit }))
      .output(z.object({ run: Run, steps: z.array(TreeStep), truncated: Truncated }))
      .query(({ ctx, input }) => runTree(deps, ctx.principal, input)),
    pathToRoot: authedProcedure
      .meta(meta('GET', '/runs/path-to-root', 'The step, its parent, … up to the root'))
      .input(z.strictObject({ stepId: Uuid }))
      .output(z.object({ steps: z.array(Step) }))
      .query(async ({ ctx, input }) => ({ steps: await stepPathToRoot(deps, ctx.principal, input.stepId) })),
    subtree: authedProcedure
      .meta(
        meta(
          'GET',
          '/runs/subtree',
          'A step and everything below it, in tree order: the first `limit` (default 1,000, max 5,000); `truncated` when there are more',
        ),
      )
      .input(z.strictObject({ stepId: Uuid, limit: TreeLimit }))
      .output(z.object({ steps: z.array(TreeStep), truncated: Truncated }))
      .query(({ ctx, input }) => subtree(deps, ctx.principal, input)),
    ancestors: authedProcedure
      .meta(
        meta(
          'GET',
          '/runs/ancestors',
          'Ancestors of a step with their distance (1 = parent), nearest first: at most `limit` (default 1,000, max 5,000); `truncated` when there are more',
        ),
      )
      .input(z.strictObject({ stepId: Uuid, maxDepth: Depth, limit: TreeLimit }))
      .output(z.object({ ancestors: z.array(StepAtDepth), truncated: Truncated }))
      .query(async ({ ctx, input }) => {
        const { items, truncated } = await stepRelatives(deps, ctx.principal, { ...input, direction: 'ancestors' });
        return { ancestors: items, truncated };
      }),
    descendants: authedProcedure
      .meta(
        meta(
          'GET',
          '/runs/descendants',
          'Descendants of a step with their depth (1 = children), nearest first: at most `limit` (default 1,000, max 5,000); `truncated` when there are more',
        ),
      )
      .input(z.strictObject({ stepId: Uuid, maxDepth: Depth, limit: TreeLimit }))
      .output(z.object({ descendants: z.array(StepAtDepth), truncated: Truncated }))
      .query(async ({ ctx, input }) => {
        const { items, truncated } = await stepRelatives(deps, ctx.principal, { ...input, direction: 'descendants' });
        return { descendants: items, truncated };
      }),
    replay: authedProcedure
      .meta(
        meta(
          'GET',
          '/runs/replay',
          'Ordered history of a run, and the run rebuilt as it was at a seq or instant: at most `limit` changes (default 1,000, max 5,000); when `truncated`, the run as it was after the last one',
        ),
      )
      .input(z.strictObject({ runId: Uuid, untilSeq: z.number().int().min(0).optional(), at: IsoDateTime.optional(), limit: TreeLimit }))
      .output(z.object({ run: Run, changes: z.array(Change), steps: z.array(ReplayedStep), truncated: Truncated }))
      .query(({ ctx, input }) => replayRun(deps, ctx.principal, input)),
  });
}
