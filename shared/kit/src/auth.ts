import { Principal, type Principal as PrincipalT, type PrincipalKind } from '@platform/contracts';
import {
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type CompactJWSHeaderParameters,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
} from 'jose';

/**
 * Bearer tokens are JWTs signed with a private key that only their issuer holds, and verified here
 * by public key (EdDSA or ES256, a key per `kid`). Which issuer may vouch for which kind of
 * principal is configuration: an identity provider for users, coordination for agents, each service
 * for itself. A service may also act on a caller's behalf (`act` claim naming the service, RFC 8693),
 * so another service applies the caller's rights, not the service's.
 */
export const TOKEN_ALGORITHMS = ['EdDSA', 'ES256'] as const;

export interface TrustedIssuer {
  /** The `iss` claim this issuer's tokens carry. */
  issuer: string;
  /** Its public keys (a JWKS from a file, an inline set or a URL), looked up by the token's `kid`. */
  keys: JWTVerifyGetKey;
  /** Principal kinds it may vouch for. A `service` token must name the issuer itself (`sub` = `iss`). */
  kinds: readonly PrincipalKind[];
  /** True for a service that may send a caller's identity with `act: { sub: <itself> }`. */
  delegates: boolean;
}

export interface VerifierSettings {
  issuers: readonly TrustedIssuer[];
  audience: string;
  /** Tokens whose `exp - iat` exceeds this are refused, however they were signed. */
  maxLifetimeSeconds: number;
  /** Allowed difference between our clock and the issuer's. */
  clockSkewSeconds: number;
  /**
   * Most verified tokens remembered (see VerifiedTokenCache); 0 turns the cache off. Default
   * DEFAULT_VERIFIED_TOKEN_CACHE.
   */
  cacheSize?: number;
  /** The clock in ms (tests); default Date.now. Drives both the claims checks and the cache. */
  now?: () => number;
}

export const DEFAULT_VERIFIED_TOKEN_CACHE = 4_096;

interface VerifiedToken {
  principal: PrincipalT;
  /** The token's `exp` in ms: the entry is never used from then on (clock skew is not granted here). */
  expiresAtMs: number;
  trusted: TrustedIssuer;
  header: CompactJWSHeaderParameters;
  input: FlattenedJWSInput;
  /** The key object the signature was checked with, as the issuer's key set resolved it. */
  key: unknown;
}

/**
 * Verified tokens by token string, so the calls a caller makes with one token (a service reuses its
 * token for minutes, see serviceTokens) verify its signature once: an EdDSA/ES256 check costs more
 * than the rest of a small call together (measured in shared/kit/README.md). Bounded (least recently
 * used out first) and never trusted past the token's own `exp`. Key rotation still applies: on every
 * hit the issuer's key set is asked again for the token's key, and anything but the very key object
 * the signature was checked with (its kid is gone, or the set was refetched and now holds other keys)
 * drops the entry and verifies the token from scratch. Only successful verifications are kept.
 */
class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly max: number) {}

  async get(token: string, nowMs: number): Promise<PrincipalT | undefined> {
    const hit = this.entries.get(token);
    if (!hit) return undefined;
    this.entries.delete(token);
    if (nowMs >= hit.expiresAtMs) return undefined;
    let key: unknown;
    try {
      key = await hit.trusted.keys(hit.header, hit.input);
    } catch {
      return undefined; // the key is gone from the set: verify again (and be refused)
    }
    if (key !== hit.key) return undefined;
    this.entries.set(token, hit); // most recently used last
    return hit.principal;
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.max <= 0) return;
    this.entries.set(token, entry);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

export class AuthError extends Error {
  override name = 'AuthError';
}

export interface TokenVerifier {
  verify(token: string): Promise<PrincipalT>;
  /** `Authorization: Bearer <jwt>` → principal; null when the header is absent. */
  fromHeader(header: string | undefined): Promise<PrincipalT | null>;
}

export function createTokenVerifier(settings: VerifierSettings): TokenVerifier {
  const byIssuer = new Map(settings.issuers.map((i) => [i.issuer, i]));
  const now = settings.now ?? Date.now;
  const cache = new VerifiedTokenCache(settings.cacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE);
  const verify = async (token: string): Promise<PrincipalT> => {
    const nowMs = now();
    const cached = await cache.get(token, nowMs);
    if (cached) return cached;
    const verified = await verifyFully(token, nowMs);
    cache.set(token, verified);
    return verified.principal;
  };
  const verifyFully = async (token: string, nowMs: number): Promise<VerifiedToken> => {
    let claims;
    try {
      claims = decodeJwt(token); // unverified: only to pick the issuer's keys
    } catch {
      throw new AuthError('invalid token: not a JWT');
    }
    const trusted = typeof claims.iss === 'string' ? byIssuer.get(claims.iss) : undefined;
    if (!trusted) throw new AuthError('invalid token: unknown issuer');
    let payload, protectedHeader, key;
    try {
      ({ payload, protectedHeader, key } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: settings.audience,
        algorithms: [...TOKEN_ALGORITHMS],
        clockTolerance: settings.clockSkewSeconds,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: settings.maxLifetimeSeconds + settings.clockSkewSeconds,
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw new AuthError(`invalid token: ${err.code}`);
      throw new AuthError('invalid token');
    }
    const lifetime = (payload.exp as number) - (payload.iat as number);
    if (lifetime > settings.maxLifetimeSeconds)
      throw new AuthError(`invalid token: lifetime ${lifetime}s exceeds the maximum of ${settings.maxLifetimeSeconds}s`);
    if (lifetime <= 0) throw new AuthError('invalid token: expires before it was issued');
    const parsed = Principal.safeParse({ kind: payload['kind'], id: payload.sub, roles: payload['roles'] ?? [] });
    if (!parsed.success) throw new AuthError('invalid token: claims are not a valid principal');
    const [protectedB64 = '', payloadB64 = '', signature = ''] = token.split('.');
    // Frozen: the cache hands the same object to every call made with this token.
    const verified = (principal: PrincipalT): VerifiedToken => ({
      principal: Object.freeze({ ...principal, roles: Object.freeze([...principal.roles]) as PrincipalT['roles'] }),
      expiresAtMs: (payload.exp as number) * 1_000,
      trusted,
      header: protectedHeader,
      input: { protected: protectedB64, payload: payloadB64, signature },
      key,
    });
    const principal = parsed.data;
    const act = payload['act'];
    if (act !== undefined) {
      // Delegation: a service sends its caller's identity; only a delegating service may, and only in its own name.
      const actor = typeof act === 'object' && act !== null && 'sub' in act ? (act as { sub: unknown }).sub : undefined;
      if (!trusted.delegates || actor !== trusted.issuer) throw new AuthError('invalid token: this issuer may not act on behalf of others');
      if (principal.kind === 'service') throw new AuthError('invalid token: a service acts on behalf of users and agents only');
      return verified({ ...principal, via: trusted.issuer });
    }
    if (!trusted.kinds.includes(principal.kind))
      throw new AuthError(`invalid token: issuer ${trusted.issuer} may not vouch for a ${principal.kind}`);
    if (principal.kind === 'service' && principal.id !== trusted.issuer)
      throw new AuthError('invalid token: a service token must name its own issuer');
    return verified(principal);
  };
  return {
    verify,
    async fromHeader(header) {
      if (!header) return null;
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match?.[1]) throw new AuthError('Authorization header is not a Bearer token');
      return verify(match[1]);
    },
  };
}
