import type { ImportBlockRow, ImportLinkRow } from '../store/legacy-import.js';
import { IMPORTED_BY, type CleanBlock, type CleanLink } from './clean.js';
import type { ImportOwner } from './options.js';

/** Clean records as the rows the store writes: the typed fields apart, the plain properties in `props`. */

const ownerProps = (o: ImportOwner) => ({ ownerKind: o.kind, ownerId: o.id, teamId: o.teamId ?? null });

export function toImportBlockRow(b: CleanBlock, owner: ImportOwner): ImportBlockRow {
  return {
    id: b.id,
    type: b.type,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
    validFrom: b.validFrom,
    validTo: b.validTo,
    props: {
      legacyId: b.legacyId,
      sessionId: b.sessionId,
      ideaId: b.ideaId,
      title: b.title,
      content: b.content,
      status: b.status,
      confidence: b.confidence,
      properties: b.properties,
      propertiesRaw: b.propertiesRaw,
      abstractionLevel: b.abstractionLevel,
      extractedFromMessageId: b.extractedFromMessageId,
      originalType: b.originalType,
      migratedFrom: b.migratedFrom,
      importFlags: b.importFlags,
      createdBy: IMPORTED_BY,
      ...ownerProps(owner),
    },
  };
}

export function toImportLinkRow(l: CleanLink, owner: ImportOwner): ImportLinkRow {
  return {
    sourceId: l.sourceId,
    targetId: l.targetId,
    type: l.type,
    createdAt: l.createdAt,
    props: {
      legacyId: l.legacyId,
      confidence: l.confidence,
      reason: l.reason,
      degree: l.degree,
      legacyStatus: l.legacyStatus,
      originalType: l.originalType,
      importFlags: l.importFlags,
      createdBy: IMPORTED_BY,
      ...ownerProps(owner),
    },
  };
}
