import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoffDelay, defineSaga, SagaRegistry } from './definition.js';
import { stepKey, uuidFromKey } from './idempotency.js';

const step = (name: string) => ({ name, action: async () => null });

describe('saga definitions', () => {
  it('refuses duplicate step names, empty sagas and duplicate types', () => {
    expect(() => defineSaga({ type: 'x', payload: z.object({}), steps: [step('a'), step('a')] })).toThrow(/duplicate step/);
    expect(() => defineSaga({ type: 'x', payload: z.object({}), steps: [] })).toThrow(/no steps/);
    const d = defineSaga({ type: 'x', payload: z.object({}), steps: [step('a')] });
    expect(() => new SagaRegistry([d, d])).toThrow(/registered twice/);
  });

  it('backs off exponentially with jitter, capped', () => {
    const policy = { maxAttempts: 5, backoffMs: 100, maxBackoffMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(policy, a, () => 0.5))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(policy, 1, () => 0)).toBe(80);
    expect(backoffDelay(policy, 1, () => 1)).toBe(120);
  });

  it('derives stable, distinct UUIDs from idempotency keys', () => {
    const k = stepKey('3f0c9a8e-0000-4000-8000-000000000001', 0, 'create_team', 'action');
    expect(uuidFromKey(k)).toBe(uuidFromKey(k));
    expect(uuidFromKey(k)).not.toBe(uuidFromKey(`${k}x`));
    expect(uuidFromKey(k)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
