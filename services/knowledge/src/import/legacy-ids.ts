import { BlockId } from '@platform/contracts';
import { createHash } from 'node:crypto';

/** Namespace of the name-based (v5) UUIDs derived from legacy ids. Never change it: ids must stay stable. */
export const LEGACY_ID_NAMESPACE = '6f1c2b7e-3d4a-4e8b-9c0d-1a2b3c4d5e6f';

/** RFC 9562 name-based UUID (SHA-1, version 5). */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The block id for a legacy id: kept when it already is a valid UUID (the API's BlockId), else a
 * stable v5 UUID derived from it. Deterministic, so links find their endpoints without a lookup
 * table (memory stays flat) and a second import MERGEs onto the same nodes. The legacy id itself
 * is always kept on the block as `legacyId`.
 */
export function blockIdFor(legacyId: string): { id: string; derived: boolean } {
  if (BlockId.safeParse(legacyId).success) return { id: legacyId.toLowerCase(), derived: false };
  return { id: uuidV5(LEGACY_ID_NAMESPACE, legacyId), derived: true };
}
