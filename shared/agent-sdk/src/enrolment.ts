import { createServiceClient } from '@platform/kit';
import type { CoordinationRouter } from '@platform/coordination/router';

/**
 * An agent's tokens from its enrolment: the one-time enrolment token an operator gave it is traded
 * for a short-lived agent token on first use, and that token is refreshed once two thirds of its
 * life has passed. Pass the result as `startAgent({ getToken })`. The agent never holds a key.
 */
export function enrolledTokens(opts: { coordinationUrl: string; enrolmentToken: string; timeoutMs?: number }): () => Promise<string> {
  let current: { token: string; refreshAt: number; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const client = createServiceClient<CoordinationRouter>({
    baseUrl: opts.coordinationUrl,
    timeoutMs: opts.timeoutMs ?? 10_000,
    // exchange is public; refresh is called with the token being refreshed
    getToken: async () => current?.token ?? '',
  });
  const take = (answer: { token: string; expiresAt: string }) => {
    const expiresAt = Date.parse(answer.expiresAt);
    current = { token: answer.token, expiresAt, refreshAt: Date.now() + ((expiresAt - Date.now()) * 2) / 3 };
    return answer.token;
  };
  const renew = async (): Promise<string> => {
    if (!current) return take(await client.enrolment.exchange.mutate({ enrolmentToken: opts.enrolmentToken }));
    if (current.expiresAt <= Date.now()) throw new Error('the agent token expired before it could be refreshed: enrol the agent again');
    try {
      return take(await client.enrolment.refresh.mutate({}));
    } catch (err) {
      // Coordination briefly unreachable: the current token is still good; the next call tries again.
      if (current.expiresAt - Date.now() > 5_000) return current.token;
      throw err;
    }
  };
  return async () => {
    if (current && Date.now() < current.refreshAt) return current.token;
    // One renewal at a time; concurrent callers share it.
    pending ??= renew().finally(() => (pending = undefined));
    return pending;
  };
}
