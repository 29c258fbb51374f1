import { createHash } from 'node:crypto';

/** A fixed namespace for job ids derived from idempotency keys (RFC 9562 name-based UUID). */
const NAMESPACE = Buffer.from('6f1d2c0a9b8e4f3aa1c2d3e4f5a6b7c8', 'hex');

/**
 * The job id for an idempotency key: a UUIDv5 of the caller's scope and the key. Deriving the id
 * makes "the same key returns the same job" a property of the KV write itself: the second create
 * of that id fails, on any replica, with no separate key table to keep in step.
 */
export function idempotentJobId(scope: string, key: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${scope.length}:${scope}:${key}`, 'utf8').digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x50; // version 5
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
