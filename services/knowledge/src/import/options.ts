import type { PrincipalKind } from '@platform/contracts';
import { silentProgress, type ProgressSink } from './progress.js';

/** Whose the imported blocks and links become (legacy stores have no owners): required. */
export interface ImportOwner {
  kind: PrincipalKind;
  id: string;
  /** Shares everything imported with this team as well. */
  teamId?: string | null | undefined;
}

export interface ImportOptions {
  file: string;
  owner: ImportOwner;
  batchSize?: number;
  /** Random blocks compared field by field with the graph after the import. */
  spotCheck?: number;
  defaultSessionId?: string;
  /** Seeds the spot-check sample, for a reproducible report. */
  seed?: number;
  /** Block batches written concurrently (disjoint ids: no lock contention). Links: two writes at once, never two of one relationship type (import-links.ts). */
  blockWriters?: number;
  maxListedRejects?: number;
  progress?: ProgressSink;
  now?: () => Date;
}

export const IMPORT_DEFAULTS = {
  batchSize: 2_000,
  spotCheck: 25,
  defaultSessionId: 'legacy-default-session',
  blockWriters: 2,
  maxListedRejects: 1_000,
};

/** The options with every default filled in, as the phases of the import read them. */
export type ResolvedOptions = typeof IMPORT_DEFAULTS &
  Omit<ImportOptions, keyof typeof IMPORT_DEFAULTS | 'progress' | 'now'> & { progress: ProgressSink; now: () => Date };

export function resolveOptions(options: ImportOptions): ResolvedOptions {
  if (!options.owner?.id) throw new Error('importLegacy needs an owner for the imported records');
  const set = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ImportOptions;
  return { ...IMPORT_DEFAULTS, ...set, progress: options.progress ?? silentProgress, now: options.now ?? (() => new Date()) };
}
