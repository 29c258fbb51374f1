import { describe, expect, it } from 'vitest';
import { canTransition, TASK_TRANSITIONS, TaskStatus } from './tasks.js';

describe('task status transitions', () => {
  it('allows reopening but never a self-loop, and covers every status', () => {
    expect(Object.keys(TASK_TRANSITIONS).sort()).toEqual([...TaskStatus.options].sort());
    for (const s of TaskStatus.options) expect(canTransition(s, s)).toBe(false);
    expect(canTransition('done', 'in_progress')).toBe(true);
    expect(canTransition('cancelled', 'done')).toBe(false);
    expect(canTransition('blocked', 'done')).toBe(false);
  });
});
