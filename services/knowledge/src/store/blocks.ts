import type { BlockStatus, BlockType, EventSubject, TypedEnvelope } from '@platform/contracts';
import type { Graph } from './neo4j.js';
import { readTx, writeTx } from './neo4j.js';
import { appendOutbox } from './outbox.js';

export interface BlockRecord {
  id: string;
  type: BlockType;
  sessionId: string;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewBlock {
  id: string;
  type: BlockType;
  sessionId: string;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
  createdBy: string;
  now: string;
}

// Dates are returned as ISO strings; the label set is read back and narrowed to the allow-list.
const RETURN_BLOCK = `RETURN b { .id, .sessionId, .title, .content, .status, .confidence, .version, .createdBy,
  createdAt: toString(b.createdAt), updatedAt: toString(b.updatedAt),
  type: [l IN labels(b) WHERE l <> 'Block'][0] } AS block`;

/**
 * Creates the block and its event in one transaction. The label is interpolated, which is safe
 * only because `type` has passed the BlockType allow-list (zod enum) before reaching here.
 */
export function insertBlock(g: Graph, b: NewBlock, event: TypedEnvelope<EventSubject>): Promise<BlockRecord> {
  return writeTx(g, 'blocks.create', async (tx) => {
    const res = await tx.run(
      `CREATE (b:Block:${b.type} {id: $id, sessionId: $sessionId, title: $title, content: $content, status: $status,
         confidence: $confidence, version: 1, createdBy: $createdBy,
         createdAt: datetime($now), updatedAt: datetime($now)})
       ${RETURN_BLOCK}`,
      b,
    );
    await appendOutbox(tx, event);
    return res.records[0]!.get('block') as BlockRecord;
  });
}

export function findBlock(g: Graph, id: string): Promise<BlockRecord | null> {
  return readTx(g, 'blocks.get', async (tx) => {
    const res = await tx.run(`MATCH (b:Block {id: $id}) ${RETURN_BLOCK}`, { id });
    return (res.records[0]?.get('block') as BlockRecord | undefined) ?? null;
  });
}
