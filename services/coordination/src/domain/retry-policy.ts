import type { JobRetryPolicy } from '@platform/contracts';

/** Delay before the retry that follows the n-th failure: exponential from backoffMs, capped. */
export function retryDelayMs(policy: JobRetryPolicy, failures: number): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.min(exponent, 30));
}
