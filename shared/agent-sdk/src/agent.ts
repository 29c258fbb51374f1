import type { JobType } from '@platform/contracts';
import { connectNats, contextFromHeaders, createServiceClient, SpanKind, withSpan, type Logger, type NatsConnection, type NatsSettings } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';
import { randomUUID } from 'node:crypto';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { runHeartbeats, type HeartbeatOptions } from './heartbeats.js';
import { codeOf, messageOf, sleep } from './util.js';

type Outputs = inferRouterOutputs<CoordinationRouter>;
export type Job = NonNullable<Outputs['jobs']['claim']['job']>;
export type AgentCard = NonNullable<inferRouterInputs<CoordinationRouter>['agents']['register']['card']>;
export type AgentInfo = Outputs['agents']['get'];

/** Why a job's signal was aborted. */
export type AbortReason = 'cancelled' | 'lost' | 'shutdown';

/**
 * What a handler gets besides the job. Delivery is at least once: a job whose agent died runs
 * again elsewhere, so handlers key their side effects on `jobId` (and may look at `attempt`).
 */
export interface JobContext {
  jobId: string;
  attempt: number;
  log: Logger;
  /** Aborted when the job is cancelled, taken away (the agent was offline or stuck too long), or released at shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /** Reports progress; answers false (and aborts `signal`) when the job should stop. */
  progress(fraction?: number, message?: string): Promise<boolean>;
  /** Asks for help: publishes coordination.agent.stuck; the job is released to another agent after the service's grace period. */
  reportStuck(reason: string): Promise<{ releaseAt: string | null }>;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<unknown>;

export interface AgentOptions {
  coordinationUrl: string;
  /** The agent's name: the subject of its token. */
  name: string;
  version?: string;
  /** Optional A2A agent card (name, description, url, skills) for discovery. */
  card?: AgentCard;
  /** Returns the agent's bearer token (kind `agent`, sub = name). */
  getToken: () => Promise<string>;
  /** The job types this agent does, each with its handler. */
  capabilities: Partial<Record<JobType, JobHandler>>;
  /** Jobs run at once (each slot long-polls for its next job). */
  concurrency?: number;
  claimWaitMs?: number;
  /** On stop, how long in-flight jobs may run before they are released back to the queue. */
  drainTimeoutMs?: number;
  /** Attempts to register before startAgent fails (coordination may still be starting). */
  registerAttempts?: number;
  /**
   * NATS for heartbeats (a connection, or where to connect): an idle agent's heartbeats then go
   * over NATS instead of tRPC (see heartbeats.ts). The NATS user needs to publish only to
   * `agents.heartbeat.>` (and receive its publish acknowledgements on `_INBOX.>`).
   */
  nats?: NatsConnection | NatsSettings;
  /** Measurement hook for each heartbeat (benchmarks). */
  onHeartbeat?: HeartbeatOptions['onBeat'];
  log: Logger;
}

export interface StopResult {
  /** Jobs that finished (and were reported) during the drain. */
  finished: number;
  /** Jobs handed back to the queue because the drain timed out. */
  released: number;
}

export interface RunningAgent {
  readonly name: string;
  /** Jobs completed or failed by this process so far. */
  readonly processed: number;
  readonly inFlight: number;
  readonly heartbeatIntervalMs: number;
  /** Reports the agent stuck outside any job (the service records it and escalates). */
  reportStuck(reason: string, jobId?: string): Promise<{ releaseAt: string | null }>;
  /** Stops taking jobs, lets in-flight ones finish for up to drainTimeoutMs, releases the rest, stops heartbeats. */
  stop(opts?: { drainTimeoutMs?: number }): Promise<StopResult>;
}

interface InFlight {
  job: Job;
  abort: AbortController;
  /** `reporting` once the handler is done: the report in flight settles it, stop() must not release it. */
  phase: 'running' | 'reporting';
}

const isConnection = (n: NatsConnection | NatsSettings): n is NatsConnection => 'jetstream' in n;

/**
 * Starts an agent: registers it (with retries), keeps heartbeats in the background, and runs
 * `concurrency` claim loops that long-poll for jobs of its capabilities, run their handlers and
 * report the result. Heartbeats carry the running job ids, so the agent learns of cancellations
 * and of jobs the service took back.
 */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const claimWaitMs = opts.claimWaitMs ?? 5_000;
  const client = createServiceClient<CoordinationRouter>({ baseUrl: opts.coordinationUrl, getToken: opts.getToken, timeoutMs: claimWaitMs + 10_000 });
  const capabilities = Object.keys(opts.capabilities) as JobType[];
  if (capabilities.length === 0) throw new Error('an agent needs at least one capability');
  const log = opts.log.child({ agent: opts.name });
  const inFlight = new Map<string, InFlight>();
  /** Claims waiting for an answer: a claim the server already answered must not be dropped. */
  const pendingClaims = new Set<Promise<unknown>>();
  let releasedWhileStopping = 0;
  const stopping = new AbortController();
  const heartbeatsStopped = new AbortController();
  let processed = 0;
  // Claims are numbered within this process (session); heartbeats say up to which number every
  // claim has settled, so the service can tell a job this process never got from one in transit.
  const session = randomUUID();
  let claimSeq = 0;
  const unsettledClaims = new Set<number>();
  const claimsSettled = () => (unsettledClaims.size > 0 ? Math.min(...unsettledClaims) - 1 : claimSeq);

  // Each registration answers a new key that signs this process's NATS heartbeats (the one
  // before stops verifying). Without one (registering again failed) heartbeats go over tRPC.
  let heartbeatKey: string | null = null;
  const register = async () => {
    const answer = await client.agents.register.mutate({
      name: opts.name,
      version: opts.version ?? '0.0.0',
      capabilities,
      ...(opts.card ? { card: opts.card } : {}),
      runningJobIds: [...inFlight.keys()],
      session,
    });
    heartbeatKey = answer.heartbeatKey;
    return answer;
  };
  const registerAgain = () => {
    heartbeatKey = null;
    return register();
  };

  let registration: Awaited<ReturnType<typeof register>> | undefined;
  const attempts = opts.registerAttempts ?? 10;
  for (let i = 1; !registration; i++) {
    try {
      registration = await register();
    } catch (err) {
      const code = codeOf(err);
      // Wrong token, name or capabilities will not fix themselves: fail at once.
      if (i >= attempts || code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || code === 'BAD_REQUEST') throw new Error(`agent ${opts.name} could not register: ${messageOf(err)}`, { cause: err });
      log.warn({ err: messageOf(err), attempt: i }, 'register failed; retrying');
      await sleep(Math.min(250 * 2 ** i, 3_000));
    }
  }
  const heartbeatIntervalMs = registration.heartbeatIntervalMs;
  log.info({ capabilities, heartbeatIntervalMs }, 'agent registered');

  const abortJob = (jobId: string, reason: AbortReason) => {
    const entry = inFlight.get(jobId);
    if (entry && !entry.abort.signal.aborted) {
      log.info({ jobId, reason }, 'stopping job');
      entry.abort.abort(reason);
    }
  };

  // A connection this agent opened is its own to close; one it was given is the caller's. NATS
  // heartbeats save the service work but are not needed: without NATS the agent pings over tRPC.
  const connectOwn = (settings: NatsSettings) =>
    connectNats({ ...settings, name: `agent ${opts.name}`, log, attempts: 3 }).catch((err: unknown) => {
      log.warn({ err: messageOf(err) }, 'cannot connect to NATS; heartbeats go over tRPC');
      return undefined;
    });
  const nats = !opts.nats ? undefined : isConnection(opts.nats) ? opts.nats : await connectOwn(opts.nats);
  const ownNats = nats !== opts.nats ? nats : undefined;
  const heartbeats = runHeartbeats({
    name: opts.name,
    client,
    heartbeatKey: () => heartbeatKey,
    intervalMs: heartbeatIntervalMs,
    state: () => ({ runningJobIds: [...inFlight.keys()], load: inFlight.size / (opts.concurrency ?? 1), session, claimsSettled: claimsSettled() }),
    js: nats?.jetstream(),
    onAnswer: (answer) => {
      for (const id of answer.cancelledJobIds) abortJob(id, 'cancelled');
      for (const id of answer.lostJobIds) abortJob(id, 'lost');
    },
    onUnknown: registerAgain,
    onBeat: opts.onHeartbeat,
    log,
    signal: heartbeatsStopped.signal,
  });

  type Outcome = { ok: true; result: unknown } | { ok: false; error: string };

  /** Runs the handler; null when the job was stopped (cancelled, taken back, released): nothing to report. */
  const execute = async (job: Job, abort: AbortController, jobLog: Logger): Promise<Outcome | null> => {
    const handler = opts.capabilities[job.jobType];
    const ctx: JobContext = {
      jobId: job.jobId,
      attempt: job.attempt,
      log: jobLog,
      signal: abort.signal,
      progress: async (fraction, message) => {
        let answer: { keepGoing: boolean; cancelled: boolean };
        try {
          answer = await client.jobs.progress.mutate({ jobId: job.jobId, ...(fraction !== undefined ? { fraction } : {}), ...(message ? { message } : {}) });
        } catch (err) {
          // NOT_FOUND: the job is another agent's now (taken back and given out again): stop.
          if (codeOf(err) !== 'NOT_FOUND') throw err;
          answer = { keepGoing: false, cancelled: false };
        }
        if (!answer.keepGoing) abortJob(job.jobId, answer.cancelled ? 'cancelled' : 'lost');
        return answer.keepGoing;
      },
      reportStuck: (reason) => client.agents.reportStuck.mutate({ name: opts.name, jobId: job.jobId, reason }).then((r) => ({ releaseAt: r.releaseAt })),
    };
    let outcome: Outcome;
    try {
      if (!handler) throw new Error(`no handler for ${job.jobType}`);
      outcome = { ok: true, result: (await handler(job, ctx)) ?? null };
    } catch (err) {
      outcome = { ok: false, error: messageOf(err) || 'failed' };
    }
    if (abort.signal.aborted) {
      jobLog.info({ reason: abort.signal.reason as AbortReason }, 'job stopped without reporting');
      return null;
    }
    return outcome;
  };

  /** Numbers a claim for heartbeats (see claimsSettled). */
  const openClaim = () => {
    const seq = ++claimSeq;
    unsettledClaims.add(seq);
    return seq;
  };
  /**
   * A claim's answer arrived (or never will): it counts as settled and its job, if any, is in
   * flight — in one synchronous step, so no heartbeat sees one without the other.
   */
  const settle = (seq: number, job: Job | null) => {
    unsettledClaims.delete(seq);
    if (job) inFlight.set(job.jobId, { job, abort: new AbortController(), phase: 'running' });
  };
  /** Tracks a request that may bring a job, so stop() waits for its answer instead of dropping it. */
  const tracked = <R>(call: Promise<R>): Promise<R> => {
    pendingClaims.add(call);
    return call.finally(() => pendingClaims.delete(call));
  };

  const claimOnce = async (): Promise<Job | null> => {
    const seq = openClaim();
    try {
      // Not aborted on stop: the long poll ends within claimWaitMs, and a job it brings while
      // stopping is handed straight back (aborting the request could lose a job already assigned).
      const { job } = await tracked(client.jobs.claim.mutate({ capabilities, waitMs: claimWaitMs, session, seq }));
      settle(seq, job);
      return job;
    } catch (err) {
      settle(seq, null);
      if (!stopping.signal.aborted) {
        log.warn({ err: messageOf(err) }, 'claim failed; backing off');
        await sleep(1_000, stopping.signal);
      }
      return null;
    }
  };

  /**
   * Reports the outcome and, unless stopping, claims the next job in the same request (one
   * request per job in steady state). A report that fails for a transient reason is sent once
   * more, without the claim; a claim whose answer was lost is found orphaned by the service.
   */
  const report = async (job: Job, outcome: Outcome | null, jobLog: Logger): Promise<Job | null> => {
    if (!outcome) {
      inFlight.delete(job.jobId);
      return null;
    }
    let seq = stopping.signal.aborted ? null : openClaim();
    for (let attempt = 1; ; attempt++) {
      const next = seq === null ? undefined : { capabilities, waitMs: claimWaitMs, session, seq };
      try {
        const call = outcome.ok
          ? client.jobs.complete.mutate({ jobId: job.jobId, result: outcome.result, ...(next ? { next } : {}) })
          : client.jobs.fail.mutate({ jobId: job.jobId, error: outcome.error.slice(0, 5_000), ...(next ? { next } : {}) });
        const answer = await tracked(call);
        processed++;
        if (outcome.ok) jobLog.info('job succeeded');
        else jobLog.warn({ err: outcome.error }, 'job failed');
        inFlight.delete(job.jobId);
        if (seq !== null) settle(seq, answer.next);
        return answer.next;
      } catch (err) {
        if (seq !== null) settle(seq, null);
        seq = null;
        // CONFLICT: cancelled while we finished; NOT_FOUND: taken back and given to another agent.
        // Anything else: once more, then left to the service's sweeps.
        if (codeOf(err) === 'CONFLICT' || codeOf(err) === 'NOT_FOUND' || attempt >= 2) {
          jobLog.warn({ err: messageOf(err), code: codeOf(err) }, 'could not report the job');
          inFlight.delete(job.jobId);
          return null;
        }
        await sleep(250);
      }
    }
  };

  const release = async (jobId: string, reason: string) => {
    try {
      await client.jobs.release.mutate({ jobId, reason });
      return true;
    } catch (err) {
      log.warn({ jobId, err: messageOf(err) }, 'could not release the job; the service requeues it when this agent goes offline');
      return false;
    }
  };

  const slot = async () => {
    let next: Job | null = null;
    for (;;) {
      let job: Job | null = next;
      next = null;
      if (!job) {
        if (stopping.signal.aborted) break;
        job = await claimOnce();
        if (!job) continue;
      }
      const entry = inFlight.get(job.jobId);
      if (!entry) continue;
      if (stopping.signal.aborted) {
        // A job that arrives while stopping goes straight back (still listed in heartbeats meanwhile).
        entry.abort.abort('shutdown');
        if (await release(job.jobId, 'agent shutting down')) releasedWhileStopping++;
        inFlight.delete(job.jobId);
        continue;
      }
      const jobLog = log.child({ jobId: job.jobId, jobType: job.jobType, attempt: job.attempt });
      // The job continues the trace of its trigger: handler and report are children of it, so the
      // completion call (and the events it causes) carry the same trace id.
      const current: Job = job;
      const traceparent: string | null = current.traceparent;
      const parent = traceparent ? contextFromHeaders((k) => (k === 'traceparent' ? traceparent : undefined)) : undefined;
      next = await withSpan<Job | null>(`job ${job.jobType}`, { kind: SpanKind.CONSUMER, attributes: { 'job.id': job.jobId, 'job.attempt': job.attempt }, ...(parent ? { parent } : {}) }, async () => {
        const outcome = await execute(current, entry.abort, jobLog);
        entry.phase = 'reporting';
        return report(current, outcome, jobLog);
      });
    }
  };
  const slots = Array.from({ length: opts.concurrency ?? 1 }, () => slot());

  let stopped: Promise<StopResult> | undefined;
  const stop = (stopOpts: { drainTimeoutMs?: number } = {}) =>
    (stopped ??= (async () => {
      const drainMs = stopOpts.drainTimeoutMs ?? opts.drainTimeoutMs ?? 10_000;
      const before = processed;
      stopping.abort();
      const drained = await Promise.race([Promise.allSettled(slots).then(() => true), sleep(drainMs).then(() => false)]);
      let released = 0;
      if (!drained) {
        for (const [jobId, entry] of inFlight) {
          // Finished jobs are being reported (releasing one could requeue finished work); aborted ones are handled by their slot.
          if (entry.phase !== 'running' || entry.abort.signal.aborted) continue;
          entry.abort.abort('shutdown');
          if (await release(jobId, 'agent shutting down')) released++;
        }
        // Claims still waiting answer within claimWaitMs; what they bring is released by their slot.
        await Promise.race([Promise.allSettled([...pendingClaims]), sleep(claimWaitMs + 2_000)]);
      }
      released += releasedWhileStopping;
      heartbeatsStopped.abort();
      await heartbeats;
      await ownNats?.drain();
      log.info({ finished: processed - before, released }, 'agent stopped');
      return { finished: processed - before, released };
    })());

  return {
    name: opts.name,
    heartbeatIntervalMs,
    get processed() {
      return processed;
    },
    get inFlight() {
      return inFlight.size;
    },
    reportStuck: (reason, jobId) => client.agents.reportStuck.mutate({ name: opts.name, reason, ...(jobId ? { jobId } : {}) }).then((r) => ({ releaseAt: r.releaseAt })),
    stop,
  };
}
