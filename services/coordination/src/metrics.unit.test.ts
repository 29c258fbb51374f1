import { AgentStatus, JobPriority, JobType } from '@platform/contracts';
import { expect, it } from 'vitest';
import { agentsByStatus, COORDINATION_CONSUMERS } from './metrics.js';

it('counts agents per status with every status present, zeros included', () => {
  expect(agentsByStatus([{ status: 'online' }, { status: 'online' }, { status: 'offline' }])).toEqual({ online: 2, stale: 0, offline: 1 });
  expect(Object.keys(agentsByStatus([]))).toEqual(AgentStatus.options);
});

it('owns the heartbeat consumer and one work-queue consumer per job type and priority, no more', () => {
  const names = COORDINATION_CONSUMERS.map((c) => `${c.stream}/${c.consumer}`);
  expect(new Set(names).size).toBe(names.length);
  expect(names).toContain('AGENT_HEARTBEATS/coordination');
  expect(names.filter((n) => n.startsWith('JOBS/'))).toHaveLength(JobType.options.length * JobPriority.options.length);
});
