import type { BlockType, RelationshipType } from '@platform/contracts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The JSON report of one import run: counts, flags, rejects with reasons, validation. */
export interface ImportReport {
  runId: string;
  ok: boolean;
  summary: string;
  source: { file: string; sizeBytes: number; modifiedAt: string; sessions: number; blocks: number; links: number };
  options: { batchSize: number; spotCheck: number; defaultSessionId: string; owner: { kind: string; id: string; teamId: string | null } };
  timing: {
    startedAt: string;
    finishedAt: string;
    blocksSeconds: number;
    linksSeconds: number;
    validationSeconds: number;
    blocksPerSecond: number;
    linksPerSecond: number;
  };
  blocks: {
    read: number;
    accepted: number;
    rejected: number;
    created: number;
    alreadyPresent: number;
    idsDerived: number;
    byType: Partial<Record<BlockType, { source: number; graph: number }>>;
    byOriginalType: Record<string, { count: number; mappedTo: BlockType }>;
    timestampFormats: { createdAt: Record<string, number>; updatedAt: Record<string, number> };
    flags: Record<string, number>;
    flagExamples: Record<string, string[]>;
    rejects: Array<{ legacyId: string | null; reason: string }>;
    rejectsByReason: Record<string, number>;
  };
  links: {
    read: number;
    accepted: number;
    rejected: number;
    created: number;
    alreadyPresent: number;
    duplicatesCollapsed: number;
    endpointsMissingInGraph: number;
    byType: Partial<Record<RelationshipType, { sourceRows: number; inGraph: number }>>;
    flags: Record<string, number>;
    rejects: Array<{ legacyId: string | null; source: string | null; target: string | null; type: string | null; reason: string }>;
    rejectsByReason: Record<string, number>;
  };
  /** Rejects are all counted; only the first `rejectsListed` are listed, to bound the report. */
  rejectsListed: number;
  spotCheck: {
    sampled: number;
    matched: number;
    mismatches: Array<{ legacyId: string; id: string; field: string; expected: unknown; actual: unknown }>;
  };
  reconciliation: { ok: boolean; problems: string[] };
}

export function writeReport(path: string, report: ImportReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
