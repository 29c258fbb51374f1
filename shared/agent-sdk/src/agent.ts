import type { JobType } from '@platform/contracts';
import { connectNats, createServiceClient, type NatsConnection, type NatsSettings } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';
import { Claims } from './claims.js';
import { runHeartbeats } from './heartbeats.js';
import { InFlightJobs } from './in-flight.js';
import { registerAgent } from './registration.js';
import type { AgentRuntime } from './runtime.js';
import { runSlot } from './slot.js';
import { drain } from './stop.js';
import type { AgentOptions, RunningAgent, StopResult } from './types.js';
import { messageOf } from './util.js';

export type { AbortReason, AgentCard, AgentInfo, AgentOptions, Job, JobContext, JobHandler, RunningAgent, StopResult } from './types.js';

const isConnection = (n: NatsConnection | NatsSettings): n is NatsConnection => 'jetstream' in n;

/**
 * Starts an agent: registers it (with retries: registration.ts), keeps heartbeats in the
 * background (heartbeats.ts), and runs `concurrency` slots (slot.ts) that long-poll for jobs of
 * its capabilities (claims.ts), run their handlers (execute.ts) and report the result
 * (report.ts). Heartbeats carry the running job ids, so the agent learns of cancellations and of
 * jobs the service took back. stop() drains (stop.ts).
 */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const claimWaitMs = opts.claimWaitMs ?? 5_000;
  // The slots' calls made in the same tick (reports with the next claim, claims) share one HTTP
  // request, each answer streamed back as it is ready: under load the slots finish together and
  // the agent costs coordination one request per batch instead of one per job. Only calls made
  // under the same span share a request (one traceparent per request: a job's report keeps its trace).
  const client = createServiceClient<CoordinationRouter>({
    baseUrl: opts.coordinationUrl,
    getToken: opts.getToken,
    timeoutMs: claimWaitMs + 10_000,
    batch: { maxItems: 20 },
  });
  const capabilities = Object.keys(opts.capabilities) as JobType[];
  if (capabilities.length === 0) throw new Error('an agent needs at least one capability');
  const log = opts.log.child({ agent: opts.name });
  const inFlight = new InFlightJobs(log);
  const claims = new Claims(inFlight);
  const stopping = new AbortController();
  const rt: AgentRuntime = {
    name: opts.name,
    client,
    handlers: opts.capabilities,
    capabilities,
    claimWaitMs,
    log,
    inFlight,
    claims,
    stopping: stopping.signal,
    counts: { processed: 0, releasedWhileStopping: 0 },
  };

  const registration = await registerAgent({
    opts,
    client,
    capabilities,
    session: claims.session,
    runningJobIds: () => inFlight.ids(),
    log,
  });
  const { heartbeatIntervalMs } = registration;
  log.info({ capabilities, heartbeatIntervalMs }, 'agent registered');

  // A connection this agent opened is its own to close; one it was given is the caller's. NATS
  // heartbeats save the service work but are not needed: without NATS the agent pings over tRPC.
  const connectOwn = (settings: NatsSettings) =>
    connectNats({ ...settings, name: `agent ${opts.name}`, log, attempts: 3 }).catch((err: unknown) => {
      log.warn({ err: messageOf(err) }, 'cannot connect to NATS; heartbeats go over tRPC');
      return undefined;
    });
  const nats = !opts.nats ? undefined : isConnection(opts.nats) ? opts.nats : await connectOwn(opts.nats);
  const ownNats = nats !== opts.nats ? nats : undefined;
  const heartbeatsStopped = new AbortController();
  const heartbeats = runHeartbeats({
    name: opts.name,
    client,
    heartbeatKey: registration.heartbeatKey,
    intervalMs: heartbeatIntervalMs,
    state: () => ({
      runningJobIds: inFlight.ids(),
      load: inFlight.size / (opts.concurrency ?? 1),
      session: claims.session,
      claimsSettled: claims.settledUpTo(),
    }),
    js: nats?.jetstream(),
    onAnswer: (answer) => {
      for (const id of answer.cancelledJobIds) inFlight.abort(id, 'cancelled');
      for (const id of answer.lostJobIds) inFlight.abort(id, 'lost');
    },
    onUnknown: registration.again,
    onBeat: opts.onHeartbeat,
    log,
    signal: heartbeatsStopped.signal,
  });

  const slots = Array.from({ length: opts.concurrency ?? 1 }, () => runSlot(rt));

  let stopped: Promise<StopResult> | undefined;
  const stop = (stopOpts: { drainTimeoutMs?: number } = {}) =>
    (stopped ??= (async () => {
      stopping.abort();
      const result = await drain(rt, slots, stopOpts.drainTimeoutMs ?? opts.drainTimeoutMs ?? 10_000);
      heartbeatsStopped.abort();
      await heartbeats;
      await ownNats?.drain();
      log.info(result, 'agent stopped');
      return result;
    })());

  return {
    name: opts.name,
    heartbeatIntervalMs,
    get processed() {
      return rt.counts.processed;
    },
    get inFlight() {
      return inFlight.size;
    },
    reportStuck: (reason, jobId) =>
      client.agents.reportStuck.mutate({ name: opts.name, reason, ...(jobId ? { jobId } : {}) }).then((r) => ({ releaseAt: r.releaseAt })),
    stop,
  };
}
