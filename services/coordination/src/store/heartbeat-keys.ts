import { HeartbeatKey } from '@platform/contracts';
import { z } from 'zod';

/**
 * An agent's current heartbeat signing key (`agent_heartbeat_keys` bucket, key = agentKey(name)):
 * issued by agents.register, replaced by the next registration. Only coordination reads it: it
 * is never part of an agent's view (agents.get/list).
 */
export const HeartbeatKeyRecord = z.object({
  key: HeartbeatKey,
  issuedAt: z.iso.datetime(),
  /** The SDK session it was issued to (null: the agent named none); its heartbeats must name the same. */
  session: z.string().nullable(),
});
export type HeartbeatKeyRecord = z.infer<typeof HeartbeatKeyRecord>;
