import type { BlockStatus, BlockType, Principal } from '@platform/contracts';
import { createEnvelope, notFound, type Clock, type IdGenerator } from '@platform/kit';
import { findBlock, insertBlock, type BlockRecord } from '../store/blocks.js';
import type { Graph } from '../store/neo4j.js';

export interface BlockDeps {
  graph: Graph;
  clock: Clock;
  newId: IdGenerator;
}

export interface CreateBlockInput {
  type: BlockType;
  sessionId: string;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
}

export async function createBlock(deps: BlockDeps, principal: Principal, input: CreateBlockInput): Promise<BlockRecord> {
  const now = deps.clock().toISOString();
  const id = deps.newId();
  const event = createEnvelope('knowledge', 'knowledge.block.created', {
    blockId: id,
    type: input.type,
    sessionId: input.sessionId,
    title: input.title,
    status: input.status,
    createdBy: principal.id,
  }, deps);
  return insertBlock(deps.graph, { ...input, id, createdBy: principal.id, now }, event);
}

export async function getBlock(deps: BlockDeps, id: string): Promise<BlockRecord> {
  const block = await findBlock(deps.graph, id);
  if (!block) throw notFound('block', id);
  return block;
}
