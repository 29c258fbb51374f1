import type { JobType } from '@platform/contracts';
import type { Logger } from '@platform/kit';
import type { AgentOptions, CoordinationClient } from './types.js';
import { codeOf, messageOf, sleep } from './util.js';

export interface Registration {
  heartbeatIntervalMs: number;
  /** The key that signs this process's NATS heartbeats; null while registering again (or after it failed): heartbeats go over tRPC. */
  heartbeatKey(): string | null;
  /** Registers again (the registry lost the agent): a new heartbeat key replaces the old one. */
  again(): Promise<unknown>;
}

interface RegisterDeps {
  opts: AgentOptions;
  client: CoordinationClient;
  capabilities: JobType[];
  session: string;
  /** The jobs this process holds now (a registration says which it still runs). */
  runningJobIds: () => string[];
  log: Logger;
}

/**
 * Registers the agent, retrying while coordination may still be starting (up to
 * `registerAttempts`), and failing at once on what retrying cannot fix (token, name, capabilities).
 * Each registration answers a new key that signs this process's NATS heartbeats (the one before
 * stops verifying).
 */
export async function registerAgent(deps: RegisterDeps): Promise<Registration> {
  const { opts, log } = deps;
  let heartbeatKey: string | null = null;
  const register = async () => {
    const answer = await deps.client.agents.register.mutate({
      name: opts.name,
      version: opts.version ?? '0.0.0',
      capabilities: deps.capabilities,
      ...(opts.card ? { card: opts.card } : {}),
      runningJobIds: deps.runningJobIds(),
      session: deps.session,
    });
    heartbeatKey = answer.heartbeatKey;
    return answer;
  };
  const attempts = opts.registerAttempts ?? 10;
  for (let i = 1; ; i++) {
    try {
      const { heartbeatIntervalMs } = await register();
      return {
        heartbeatIntervalMs,
        heartbeatKey: () => heartbeatKey,
        again: () => {
          heartbeatKey = null;
          return register();
        },
      };
    } catch (err) {
      const code = codeOf(err);
      // Wrong token, name or capabilities will not fix themselves: fail at once.
      if (i >= attempts || code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || code === 'BAD_REQUEST')
        throw new Error(`agent ${opts.name} could not register: ${messageOf(err)}`, { cause: err });
      log.warn({ err: messageOf(err), attempt: i }, 'register failed; retrying');
      await sleep(Math.min(250 * 2 ** i, 3_000));
    }
  }
}
