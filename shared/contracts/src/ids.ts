import { z } from 'zod';

/** Every entity id in the platform is a UUID; one schema per entity keeps intent readable. */
export const Uuid = z.uuid();
export const BlockId = Uuid.describe('Knowledge block id');
export const TaskId = Uuid.describe('Operations task id');
export const JobId = Uuid.describe('Coordination job id');
export const EventId = Uuid.describe('Event envelope id (also the JetStream Nats-Msg-Id)');
/** Principal ids come from tokens: users and agents may use ids from other systems. */
export const PrincipalId = z.string().min(1).max(200);
export const SessionId = z.string().min(1).max(200);
/** ISO 8601 with an offset; offsets beyond ±18:00 (which the stores refuse) are invalid input. */
export const IsoDateTime = z.iso.datetime({ offset: true }).refine((s) => {
  const offset = /([+-])(\d{2}):?(\d{2})$/.exec(s);
  return !offset || Number(offset[2]) * 60 + Number(offset[3]) <= 18 * 60;
}, 'UTC offset must be within ±18:00');
