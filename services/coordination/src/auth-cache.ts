import type { Principal } from '@platform/contracts';
import type { TokenVerifier } from '@platform/kit';

/**
 * Verifies bearer tokens once and remembers the result by the exact token string until the
 * token expires (at most `maxAgeMs`). Agents send the same token with every heartbeat and claim;
 * signature verification was about a tenth of the service's CPU under load. The same bytes verify the same way, so caching them changes no decision; a bad
 * token is never cached.
 */
export function cachedPrincipalFromHeader(verifier: Pick<TokenVerifier, 'fromHeader'>, opts: { maxEntries?: number; maxAgeMs?: number } = {}) {
  const maxEntries = opts.maxEntries ?? 20_000;
  const maxAgeMs = opts.maxAgeMs ?? 5 * 60_000;
  const cache = new Map<string, { principal: Principal; until: number }>();
  return async (header: string | undefined): Promise<Principal | null> => {
    if (!header) return null;
    const now = Date.now();
    const hit = cache.get(header);
    if (hit && hit.until > now) return hit.principal;
    if (hit) cache.delete(header);
    const principal = await verifier.fromHeader(header); // throws AuthError when invalid
    if (!principal) return null;
    const exp = expiryOf(header);
    if (exp !== null) {
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string); // oldest first
      cache.set(header, { principal, until: Math.min(exp, now + maxAgeMs) });
    }
    return principal;
  };
}

/** The `exp` of an already verified JWT, in ms (null when absent: such a token is not cached). */
function expiryOf(header: string): number | null {
  try {
    const payload = header.split(' ')[1]?.split('.')[1];
    const exp = payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}
