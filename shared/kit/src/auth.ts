import { Principal, type Principal as PrincipalT } from '@platform/contracts';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

export class AuthError extends Error {
  override name = 'AuthError';
}

const key = (secret: string) => new TextEncoder().encode(secret);

/** Signs a token for a principal: `sub` = id, `kind` and `roles` as claims. */
export async function signToken(principal: PrincipalT, settings: JwtSettings, ttlSeconds = 3600): Promise<string> {
  return new SignJWT({ kind: principal.kind, roles: principal.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.id)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key(settings.secret));
}

/** Verifies signature, issuer, audience and expiry; returns the principal or throws AuthError. */
export async function verifyToken(token: string, settings: JwtSettings): Promise<PrincipalT> {
  try {
    const { payload } = await jwtVerify(token, key(settings.secret), {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ['HS256'],
    });
    const parsed = Principal.safeParse({ kind: payload['kind'], id: payload.sub, roles: payload['roles'] ?? [] });
    if (!parsed.success) throw new AuthError('token claims are not a valid principal');
    return parsed.data;
  } catch (err) {
    if (err instanceof AuthError) throw err;
    if (err instanceof joseErrors.JOSEError) throw new AuthError(`invalid token: ${err.code}`);
    throw new AuthError('invalid token');
  }
}

/** Extracts and verifies `Authorization: Bearer <jwt>`; null when the header is absent. */
export async function principalFromHeader(header: string | undefined, settings: JwtSettings): Promise<PrincipalT | null> {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new AuthError('Authorization header is not a Bearer token');
  return verifyToken(match[1], settings);
}

/**
 * Mints short-lived service tokens for calls to other services and reuses one until
 * shortly before it expires, so a burst of calls signs once.
 */
export function serviceTokenProvider(serviceName: string, settings: JwtSettings, ttlSeconds = 300): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    const now = Date.now();
    if (cached && cached.expiresAt - now > 30_000) return cached.token;
    const token = await signToken({ kind: 'service', id: serviceName, roles: ['service'] }, settings, ttlSeconds);
    cached = { token, expiresAt: now + ttlSeconds * 1000 };
    return token;
  };
}
