import type { Principal } from '@platform/contracts';
import { importJWK, SignJWT, type JWK } from 'jose';
import { z } from 'zod';

/** A private signing key as a JWK: it must say its `kid` and algorithm, so verifiers can pick the public half. */
export const PrivateJwk = z
  .object({
    kty: z.enum(['OKP', 'EC']),
    kid: z.string().min(1).max(200),
    alg: z.enum(['EdDSA', 'ES256']),
    d: z.string().min(1),
    x: z.string().min(1),
    crv: z.enum(['Ed25519', 'P-256']),
    y: z.string().optional(),
  })
  .loose();
export type PrivateJwk = z.infer<typeof PrivateJwk>;

/** The public half of a private JWK (what goes into a JWKS). */
export function publicJwk(key: PrivateJwk): JWK {
  const { d: _d, ...rest } = key;
  return { ...rest, use: 'sig' };
}

export interface TokenIssuer {
  /** The `iss` its tokens carry. */
  readonly issuer: string;
  /** Signs a token for `principal`; `actor` set = sent on that principal's behalf by this issuer (RFC 8693 `act`). */
  sign(principal: Principal, ttlSeconds: number, opts?: { actor?: string }): Promise<string>;
}

/** An issuer holding one private key. Only the process that issues tokens of this kind should hold it. */
export function createTokenIssuer(opts: { issuer: string; audience: string; key: PrivateJwk }): TokenIssuer {
  let imported: ReturnType<typeof importJWK> | undefined;
  return {
    issuer: opts.issuer,
    async sign(principal, ttlSeconds, signOpts = {}) {
      imported ??= importJWK(opts.key, opts.key.alg);
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = { kind: principal.kind, roles: principal.roles };
      if (signOpts.actor) claims['act'] = { sub: signOpts.actor };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: opts.key.alg, kid: opts.key.kid, typ: 'JWT' })
        .setSubject(principal.id)
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(await imported);
    },
  };
}

/**
 * A service's own tokens for calls to other services: `service` tokens in its own name, and tokens
 * that carry a caller's identity (`onBehalfOf`), so the callee applies the caller's rights. Both are
 * reused until shortly before they expire, so a burst of calls signs once.
 */
export interface ServiceTokens {
  own(): Promise<string>;
  onBehalfOf(principal: Principal): Promise<string>;
}

export function serviceTokens(issuer: TokenIssuer, ttlSeconds = 300): ServiceTokens {
  const cache = new Map<string, { token: string; expiresAt: number }>();
  const cached = async (key: string, make: () => Promise<string>) => {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.expiresAt - now > Math.min(30_000, (ttlSeconds * 1000) / 4)) return hit.token;
    const token = await make();
    if (cache.size > 10_000) cache.clear(); // bounded; rebuilt on demand
    cache.set(key, { token, expiresAt: now + ttlSeconds * 1000 });
    return token;
  };
  return {
    own: () => cached('\0self', () => issuer.sign({ kind: 'service', id: issuer.issuer, roles: ['service'] }, ttlSeconds)),
    onBehalfOf: (p) => {
      if (p.kind === 'service')
        return cached('\0self', () => issuer.sign({ kind: 'service', id: issuer.issuer, roles: ['service'] }, ttlSeconds));
      const original = { kind: p.kind, id: p.id, roles: p.roles };
      return cached(JSON.stringify(original), () => issuer.sign(original, ttlSeconds, { actor: issuer.issuer }));
    },
  };
}
