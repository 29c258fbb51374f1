import { Principal, type Principal as PrincipalT, type PrincipalKind } from '@platform/contracts';
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';

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
  const verify = async (token: string): Promise<PrincipalT> => {
    let claims;
    try {
      claims = decodeJwt(token); // unverified: only to pick the issuer's keys
    } catch {
      throw new AuthError('invalid token: not a JWT');
    }
    const trusted = typeof claims.iss === 'string' ? byIssuer.get(claims.iss) : undefined;
    if (!trusted) throw new AuthError('invalid token: unknown issuer');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: settings.audience,
        algorithms: [...TOKEN_ALGORITHMS],
        clockTolerance: settings.clockSkewSeconds,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: settings.maxLifetimeSeconds + settings.clockSkewSeconds,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw new AuthError(`invalid token: ${err.code}`);
      throw new AuthError('invalid token');
    }
    const lifetime = (payload.exp as number) - (payload.iat as number);
    if (lifetime > settings.maxLifetimeSeconds) throw new AuthError(`invalid token: lifetime ${lifetime}s exceeds the maximum of ${settings.maxLifetimeSeconds}s`);
    if (lifetime <= 0) throw new AuthError('invalid token: expires before it was issued');
    const parsed = Principal.safeParse({ kind: payload['kind'], id: payload.sub, roles: payload['roles'] ?? [] });
    if (!parsed.success) throw new AuthError('invalid token: claims are not a valid principal');
    const principal = parsed.data;
    const act = payload['act'];
    if (act !== undefined) {
      // Delegation: a service sends its caller's identity; only a delegating service may, and only in its own name.
      const actor = typeof act === 'object' && act !== null && 'sub' in act ? (act as { sub: unknown }).sub : undefined;
      if (!trusted.delegates || actor !== trusted.issuer) throw new AuthError('invalid token: this issuer may not act on behalf of others');
      if (principal.kind === 'service') throw new AuthError('invalid token: a service acts on behalf of users and agents only');
      return { ...principal, via: trusted.issuer };
    }
    if (!trusted.kinds.includes(principal.kind)) throw new AuthError(`invalid token: issuer ${trusted.issuer} may not vouch for a ${principal.kind}`);
    if (principal.kind === 'service' && principal.id !== trusted.issuer) throw new AuthError('invalid token: a service token must name its own issuer');
    return principal;
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
