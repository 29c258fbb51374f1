import { ensureConsumer, ensureStream, nanos, RetentionPolicy, type NatsConnection } from '@platform/kit';
import { JobType } from '@platform/contracts';

/** Coordination's events, consumed by other services. */
export const COORDINATION_STREAM = 'COORDINATION_EVENTS';
/** Work queue: one subject per job type, so agents take only the types they can do. */
export const JOBS_STREAM = 'JOBS';
export const jobSubject = (jobType: JobType) => `jobs.queue.${jobType}`;
export const jobConsumer = (jobType: JobType) => `jobs-${jobType}`;
export const JOBS_BUCKET = 'jobs';
export const OUTBOX_BUCKET = 'jobs_outbox';

/** Streams, consumers and KV buckets; idempotent, run at every start (and by every replica). */
export async function ensureCoordinationStreams(nc: NatsConnection): Promise<void> {
  await ensureStream(nc, { name: COORDINATION_STREAM, subjects: ['coordination.>'] });
  await ensureStream(nc, { name: JOBS_STREAM, subjects: ['jobs.queue.>'], retention: RetentionPolicy.Workqueue });
  for (const type of JobType.options) {
    // One durable per type, shared by every replica: JetStream hands each message to one fetcher.
    await ensureConsumer(nc, JOBS_STREAM, { durable_name: jobConsumer(type), filter_subject: jobSubject(type), ack_wait: nanos(30_000), max_deliver: -1 });
  }
  const js = nc.jetstream();
  await js.views.kv(JOBS_BUCKET, { history: 1 });
  await js.views.kv(OUTBOX_BUCKET, { history: 1 });
}
