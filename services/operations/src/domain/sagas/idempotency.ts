import { createHash } from 'node:crypto';

const NAMESPACE = 'agent-platform/operations/saga-step';

/**
 * A name-based UUID (version 5 layout) derived from an idempotency key: a step that creates a row can
 * use it as the row's id, so re-running the step after a crash finds the row instead of adding one.
 */
export function uuidFromKey(key: string): string {
  const h = createHash('sha1').update(`${NAMESPACE}:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export const stepKey = (sagaId: string, index: number, step: string, phase: 'action' | 'compensation') =>
  `${sagaId}:${index}:${step}:${phase}`;
