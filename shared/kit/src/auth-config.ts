import { PrincipalKind } from '@platform/contracts';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  AuthError,
  createTokenVerifier,
  DEFAULT_VERIFIED_TOKEN_CACHE,
  TOKEN_ALGORITHMS,
  type TokenVerifier,
  type TrustedIssuer,
} from './auth.js';
import { createTokenIssuer, PrivateJwk, type TokenIssuer } from './token-issuer.js';

const PublicJwk = z
  .object({
    kty: z.enum(['OKP', 'EC']),
    kid: z.string().min(1),
    alg: z.enum(TOKEN_ALGORITHMS).optional(),
    d: z.never('a JWKS holds public keys only (this one has "d")').optional(),
  })
  .loose();
const Jwks = z.object({ keys: z.array(PublicJwk).min(1) });

/**
 * One trusted issuer in `AUTH_ISSUERS`. `jwks` is where its public keys are: an inline JWKS object
 * (handy in a ConfigMap), `file:/path/to/jwks.json`, or an `https://` (or loopback `http://`) URL
 * such as an OIDC provider's `jwks_uri`, fetched and refreshed by jose's remote key set.
 */
export const IssuerConfig = z.object({
  issuer: z.string().min(1),
  jwks: z.union([
    Jwks,
    z
      .string()
      .regex(/^(file:|https:\/\/|http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/])/, 'file:<path>, https:// URL, or http:// on loopback'),
  ]),
  kinds: z.array(PrincipalKind).min(1),
  delegates: z.boolean().default(false),
});
export type IssuerConfig = z.infer<typeof IssuerConfig>;

const jsonOf = <S extends z.ZodType>(schema: S) =>
  z.string().transform((text, ctx): z.infer<S> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(root)'}: ${issue.message}` });
      return z.NEVER;
    }
    return parsed.data;
  });

/** The token settings every service reads (part of `baseEnv`). */
export const authEnv = z.object({
  /** JSON array of IssuerConfig: who may vouch for whom, and where their public keys are. */
  AUTH_ISSUERS: jsonOf(z.array(IssuerConfig).min(1)),
  AUTH_AUDIENCE: z.string().min(1).default('agent-platform'),
  AUTH_MAX_TOKEN_LIFETIME_S: z.coerce
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600)
    .default(3600),
  AUTH_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(300).default(30),
  /** Verified tokens remembered per process (until their exp, re-checked against the key set); 0 = off. */
  AUTH_VERIFIED_TOKEN_CACHE: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_VERIFIED_TOKEN_CACHE),
  /** This process's own private key (JWK JSON), for services that sign tokens; or a file holding it. */
  AUTH_SIGNING_KEY: jsonOf(PrivateJwk).optional(),
  AUTH_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** The `iss` this process signs with; defaults to the service's name. */
  AUTH_ISSUER: z.string().min(1).optional(),
});
export type AuthEnv = z.infer<typeof authEnv>;

function keySetOf(config: IssuerConfig): TrustedIssuer['keys'] {
  const { jwks } = config;
  if (typeof jwks !== 'string') return createLocalJWKSet(jwks as JSONWebKeySet);
  if (jwks.startsWith('file:')) {
    const path = jwks.slice('file:'.length);
    const parsed = Jwks.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new AuthError(`AUTH_ISSUERS: ${path} is not a JWKS of public keys: ${parsed.error.issues[0]?.message}`);
    return createLocalJWKSet(parsed.data as JSONWebKeySet);
  }
  // Remote: fetched on first use, cached, refetched on an unknown kid (at most every 30 s), 5 s timeout.
  return createRemoteJWKSet(new URL(jwks), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
}

export function verifierFromEnv(env: AuthEnv): TokenVerifier {
  return createTokenVerifier({
    issuers: env.AUTH_ISSUERS.map((i) => ({ issuer: i.issuer, keys: keySetOf(i), kinds: i.kinds, delegates: i.delegates })),
    audience: env.AUTH_AUDIENCE,
    maxLifetimeSeconds: env.AUTH_MAX_TOKEN_LIFETIME_S,
    clockSkewSeconds: env.AUTH_CLOCK_SKEW_S,
    cacheSize: env.AUTH_VERIFIED_TOKEN_CACHE,
  });
}

/** The process's token issuer, or a clear error naming what is missing. */
export function issuerFromEnv(env: AuthEnv, serviceName: string): TokenIssuer {
  let key = env.AUTH_SIGNING_KEY;
  if (!key && env.AUTH_SIGNING_KEY_FILE) {
    const parsed = PrivateJwk.safeParse(JSON.parse(readFileSync(env.AUTH_SIGNING_KEY_FILE, 'utf8')));
    if (!parsed.success) throw new AuthError(`AUTH_SIGNING_KEY_FILE ${env.AUTH_SIGNING_KEY_FILE} is not a private JWK with kid and alg`);
    key = parsed.data;
  }
  if (!key) throw new AuthError(`${serviceName} signs tokens: set AUTH_SIGNING_KEY (private JWK JSON) or AUTH_SIGNING_KEY_FILE`);
  return createTokenIssuer({ issuer: env.AUTH_ISSUER ?? serviceName, audience: env.AUTH_AUDIENCE, key });
}
