import { heartbeatSubject, signHeartbeat } from '@platform/contracts';
import type { JetStreamClient, Logger } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';
import type { TRPCClient } from '@trpc/client';
import { codeOf, messageOf, sleep } from './util.js';

/** What a heartbeat says about the agent right now. */
export interface HeartbeatState {
  runningJobIds: string[];
  load: number;
  session: string;
  claimsSettled: number;
}

export interface HeartbeatOptions {
  name: string;
  client: TRPCClient<CoordinationRouter>;
  /**
   * The heartbeat signing key of the agent's current registration (agents.register answers it),
   * read at every beat since registering again replaces it; null (not registered yet, or the
   * registration failed): no heartbeat over NATS, tRPC pings only.
   */
  heartbeatKey: () => string | null;
  intervalMs: number;
  state: () => HeartbeatState;
  /**
   * JetStream of a NATS connection: when given, an idle agent's heartbeats go over NATS
   * (coordination takes them in batches, far cheaper for it than one HTTP request each).
   */
  js?: JetStreamClient | undefined;
  /** The service answered a tRPC ping: stop these jobs. */
  onAnswer: (answer: { cancelledJobIds: string[]; lostJobIds: string[] }) => void;
  /** The registry no longer knows the agent: register again. */
  onUnknown: () => Promise<unknown>;
  /** Measurement hook (benchmarks): how each heartbeat went and how long it took. */
  onBeat?: (beat: { via: 'nats' | 'trpc'; ok: boolean; ms: number }) => void;
  log: Logger;
  signal: AbortSignal;
}

/**
 * An agent that has NATS pings over tRPC anyway every this many heartbeats when idle (once a
 * minute at 5 s): a heartbeat over NATS gets no answer, and the tRPC answer is how the agent
 * learns that the registry lost it.
 */
export const TRPC_PING_EVERY = 12;

/**
 * Sends a heartbeat every `intervalMs` until `signal` aborts. With running jobs it pings over
 * tRPC, whose answer says which of them were cancelled or taken back; idle, over NATS when
 * configured (falling back to tRPC when a NATS publish fails), with a tRPC ping now and then.
 */
export async function runHeartbeats(opts: HeartbeatOptions): Promise<void> {
  const subject = heartbeatSubject(opts.name);
  // Each agent's tRPC checks fall on its own beats, so agents started together do not all ping at once.
  const phase = Math.floor(Math.random() * TRPC_PING_EVERY);
  let useNats = Boolean(opts.js);
  let lastNatsAckAt: number | null = null;
  for (let beat = 1; !opts.signal.aborted; beat++) {
    const state = opts.state();
    let sent = false;
    const key = opts.heartbeatKey();
    if (useNats && key && state.runningJobIds.length === 0 && (beat + phase) % TRPC_PING_EVERY !== 0) {
      sent = await timed(opts, 'nats', () => publish(opts, subject, key, state));
      if (sent) lastNatsAckAt = Date.now();
    }
    if (!sent) {
      await timed(opts, 'trpc', async () => {
        const answer = await ping(opts, state);
        if (useNats && lastNatsAckAt !== null && !recorded(answer.previousHeartbeatAt, lastNatsAckAt, opts.intervalMs)) {
          // Acknowledged by a stream but never taken: a NATS server or stream coordination does not read.
          useNats = false;
          opts.log.warn(
            { lastNatsAckAt: new Date(lastNatsAckAt).toISOString(), previousHeartbeatAt: answer.previousHeartbeatAt },
            'heartbeats over NATS do not reach coordination; pinging over tRPC from now on',
          );
        }
      });
    }
    await sleep(opts.intervalMs, opts.signal);
  }
}

/**
 * Whether the service had recorded a NATS heartbeat acknowledged at `ackedAt` (this process's
 * clock) by the time it answered a later ping: the NATS beat before a ping is an interval older
 * than it, time enough for the service's liveness tick (every second by default) to take it. The
 * margin allows for clock skew between hosts, within half an interval so that what was recorded
 * before that beat does not pass for it.
 */
const recorded = (previousHeartbeatAt: string | null, ackedAt: number, intervalMs: number) =>
  previousHeartbeatAt !== null && Date.parse(previousHeartbeatAt) >= ackedAt - Math.min(1_000, intervalMs / 2);

async function publish(opts: HeartbeatOptions, subject: string, key: string, state: HeartbeatState): Promise<void> {
  // Signed, never a bearer token: a heartbeat someone else reads cannot be used as the agent.
  const heartbeat = signHeartbeat(key, {
    v: 2,
    agent: opts.name,
    sentAt: new Date().toISOString(),
    runningJobIds: state.runningJobIds,
    load: state.load,
    session: state.session,
    claimsSettled: state.claimsSettled,
  });
  try {
    // Acknowledged by the stream, so a heartbeat that did not arrive falls back to tRPC.
    await opts.js!.publish(subject, JSON.stringify(heartbeat), { timeout: Math.min(2_000, opts.intervalMs) });
  } catch (err) {
    opts.log.warn({ err: messageOf(err) }, 'heartbeat over NATS failed; pinging over tRPC');
    throw err;
  }
}

async function ping(opts: HeartbeatOptions, state: HeartbeatState): Promise<{ previousHeartbeatAt: string | null }> {
  try {
    const answer = await opts.client.agents.ping.mutate({ name: opts.name, ...state });
    opts.onAnswer(answer);
    return answer;
  } catch (err) {
    if (codeOf(err) === 'NOT_FOUND') {
      opts.log.warn('registry lost this agent; registering again');
      await opts.onUnknown().catch((e: unknown) => opts.log.warn({ err: messageOf(e) }, 'register failed'));
    } else opts.log.warn({ err: messageOf(err) }, 'heartbeat failed');
    throw err;
  }
}

async function timed(opts: HeartbeatOptions, via: 'nats' | 'trpc', send: () => Promise<void>): Promise<boolean> {
  const t0 = performance.now();
  let ok = true;
  try {
    await send();
  } catch {
    ok = false;
  }
  opts.onBeat?.({ via, ok, ms: performance.now() - t0 });
  return ok;
}
