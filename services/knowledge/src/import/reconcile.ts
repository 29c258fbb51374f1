import type { BlockType, RelationshipType } from '@platform/contracts';
import type { LegacySource } from './sqlite-source.js';
import type { BlockTally, LinkTally } from './tally.js';
import type { Validation } from './validate.js';

/**
 * Puts the validation's graph counts next to the source counts and lists every difference: the
 * import reconciles exactly when the list is empty.
 */
export function reconcile(b: BlockTally, l: LinkTally, validation: Validation, counts: LegacySource['counts']): string[] {
  for (const [type, n] of Object.entries(validation.blocksInGraph)) (b.byType[type as BlockType] ??= { source: 0, graph: 0 }).graph = n;
  for (const [type, n] of Object.entries(validation.linksInGraph))
    (l.byType[type as RelationshipType] ??= { sourceRows: 0, inGraph: 0 }).inGraph = n;
  const problems = [...validation.problems];
  for (const [type, c] of Object.entries(b.byType))
    if (c.source !== c.graph) problems.push(`blocks of type ${type}: ${c.source} in the source, ${c.graph} in the graph`);
  for (const [type, c] of Object.entries(l.byType))
    if (c.sourceRows !== c.inGraph) problems.push(`links of type ${type}: ${c.sourceRows} valid rows, ${c.inGraph} found in the graph`);
  if (l.endpointsMissingInGraph > 0) problems.push(`${l.endpointsMissingInGraph} valid links had an endpoint missing in the graph`);
  if (b.read !== counts.blocks || l.read !== counts.links) problems.push('rows read differ from the source counts');
  return problems;
}

export function summarize(b: BlockTally, l: LinkTally): string {
  if (b.created === 0 && l.created === 0)
    return `nothing new: all ${b.alreadyPresent} blocks and ${l.alreadyPresent + l.duplicatesCollapsed} link rows were already in the graph`;
  return `created ${b.created} blocks (${b.alreadyPresent} already present) and ${l.created} links (${l.alreadyPresent} already present, ${l.duplicatesCollapsed} duplicates collapsed); rejected ${b.rejected} blocks and ${l.rejected} links`;
}
