import neo4j from 'neo4j-driver';
import { cleanBlock, cleanLink, IMPORTED_BY } from '../src/import/clean.js';
import { openLegacySource } from '../src/import/sqlite-source.js';
import type { Graph } from '../src/store/neo4j.js';

/**
 * The baseline the issue compares against: the seed's script shape, one CREATE statement (and so
 * one auto-commit transaction and one round trip) per row, blocks then links. It uses the same
 * cleaning as the real importer so both write the same graph; it is neither batched nor idempotent.
 */
export async function naiveImport(graph: Graph, opts: { file: string; defaultSessionId: string; maxBlocks?: number; maxLinks?: number }) {
  const source = openLegacySource(opts.file);
  const session = graph.driver.session({ database: graph.database, defaultAccessMode: neo4j.session.WRITE });
  const ctx = { defaultSessionId: opts.defaultSessionId, snapshotTime: source.modifiedAt };
  let blocks = 0;
  let links = 0;
  try {
    const t0 = performance.now();
    for (const row of source.blocks()) {
      if (opts.maxBlocks !== undefined && blocks >= opts.maxBlocks) break;
      const r = cleanBlock(row, ctx);
      if (!r.ok) continue;
      const b = r.block;
      // The label comes from the BlockType allow-list via the cleaning's type map.
      await session.run(
        `CREATE (b:Block:${b.type} {id: $id, legacyId: $legacyId, sessionId: $sessionId, ideaId: $ideaId, title: $title, content: $content,
           status: $status, confidence: $confidence, properties: $properties, propertiesRaw: $propertiesRaw, abstractionLevel: $abstractionLevel,
           originalType: $originalType, migratedFrom: $migratedFrom, importFlags: $importFlags, createdBy: $createdBy, version: 1,
           createdAt: datetime($createdAt), updatedAt: datetime($updatedAt), validFrom: datetime($validFrom)})`,
        { ...b, createdBy: IMPORTED_BY },
      );
      blocks++;
    }
    const blocksSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const linkCtx = { ...ctx, isRejectedBlock: () => false };
    for (const row of source.links()) {
      if (opts.maxLinks !== undefined && links >= opts.maxLinks) break;
      const r = cleanLink(row, linkCtx);
      if (!r.ok) continue;
      const l = r.link;
      await session.run(
        `MATCH (a:Block {id: $sourceId}), (b:Block {id: $targetId})
         CREATE (a)-[:${l.type} {confidence: $confidence, reason: $reason, createdAt: datetime($createdAt)}]->(b)`,
        l,
      );
      links++;
    }
    return { blocks, links, blocksSeconds, linksSeconds: (performance.now() - t1) / 1000 };
  } finally {
    await session.close();
    source.close();
  }
}
