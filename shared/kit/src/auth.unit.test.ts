import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, SignJWT, type JWTVerifyGetKey } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, issuerFromEnv, verifierFromEnv } from './auth-config.js';
import { AuthError, createTokenVerifier } from './auth.js';
import { createTokenIssuer, PrivateJwk, publicJwk, serviceTokens } from './token-issuer.js';

const AUD = 'agent-platform';
const now = () => Math.floor(Date.now() / 1000);

async function newKey(kid: string, alg: 'EdDSA' | 'ES256' = 'EdDSA'): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return PrivateJwk.parse({ ...(await exportJWK(privateKey)), kid, alg });
}

let idp: PrivateJwk, idpNext: PrivateJwk, ops: PrivateJwk, coord: PrivateJwk, stranger: PrivateJwk;
let jwksServer: Server;
let jwksUrl: string;

beforeAll(async () => {
  [idp, idpNext, ops, coord, stranger] = await Promise.all([
    newKey('idp-1'),
    newKey('idp-2', 'ES256'),
    newKey('ops-1'),
    newKey('coord-1'),
    newKey('idp-1'),
  ]);
  // A remote JWKS (as an OIDC provider's jwks_uri) served on loopback.
  jwksServer = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk(idp), publicJwk(idpNext)] })),
  );
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((r) => jwksServer.close(() => r())));

function verifier(overrides: Record<string, string> = {}, idpJwks: unknown = { keys: [publicJwk(idp), publicJwk(idpNext)] }) {
  const issuers = [
    { issuer: 'https://idp.example', jwks: idpJwks, kinds: ['user'] },
    { issuer: 'operations', jwks: { keys: [publicJwk(ops)] }, kinds: ['service'], delegates: true },
    { issuer: 'coordination', jwks: { keys: [publicJwk(coord)] }, kinds: ['service', 'agent'], delegates: true },
  ];
  return verifierFromEnv(
    authEnv.parse({
      AUTH_ISSUERS: JSON.stringify(issuers),
      AUTH_AUDIENCE: AUD,
      AUTH_MAX_TOKEN_LIFETIME_S: '3600',
      AUTH_CLOCK_SKEW_S: '30',
      ...overrides,
    }),
  );
}

/** A token with exactly the claims and header given (for the malformed cases). */
async function raw(key: PrivateJwk, claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(await importJWK(key, key.alg));
}
const userClaims = () => ({ iss: 'https://idp.example', aud: AUD, sub: 'alice', kind: 'user', roles: [], iat: now(), exp: now() + 600 });

describe('token verification by public key', () => {
  it('accepts a user token from the identity provider, with either of two live keys (rotation)', async () => {
    const v = verifier();
    for (const key of [idp, idpNext]) {
      const token = await createTokenIssuer({ issuer: 'https://idp.example', audience: AUD, key }).sign(
        { kind: 'user', id: 'alice', roles: ['admin'] },
        600,
      );
      await expect(v.verify(token)).resolves.toEqual({ kind: 'user', id: 'alice', roles: ['admin'] });
    }
  });

  it('fetches the keys from a JWKS URL', async () => {
    const v = verifier({}, jwksUrl);
    const token = await createTokenIssuer({ issuer: 'https://idp.example', audience: AUD, key: idpNext }).sign(
      { kind: 'user', id: 'bob', roles: [] },
      600,
    );
    await expect(v.verify(token)).resolves.toMatchObject({ kind: 'user', id: 'bob' });
  });

  const refused: Array<[string, () => Promise<string>, RegExp]> = [
    ['no exp', () => raw(idp, { ...userClaims(), exp: undefined }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['no iat', () => raw(idp, { ...userClaims(), iat: undefined }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['a lifetime above the maximum', () => raw(idp, { ...userClaims(), exp: now() + 7200 }), /lifetime 7200s exceeds/],
    [
      'alg none',
      async () =>
        `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'idp-1' })).toString('base64url')}.${Buffer.from(JSON.stringify(userClaims())).toString('base64url')}.`,
      /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/,
    ],
    [
      'HS256 signed with the public key as the secret',
      async () =>
        new SignJWT(userClaims())
          .setProtectedHeader({ alg: 'HS256', kid: 'idp-1' })
          .sign(new TextEncoder().encode(JSON.stringify(publicJwk(idp)))),
      /ERR_JOSE_ALG_NOT_ALLOWED/,
    ],
    ['an unknown kid', () => raw(idp, userClaims(), { kid: 'idp-9' }), /ERR_JWKS_NO_MATCHING_KEY/],
    ['a key the issuer does not have (same kid)', () => raw(stranger, userClaims()), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
    ['expired', () => raw(idp, { ...userClaims(), iat: now() - 1200, exp: now() - 600 }), /ERR_JWT_EXPIRED/],
    ['not yet valid', () => raw(idp, { ...userClaims(), nbf: now() + 600 }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['issued in the future', () => raw(idp, { ...userClaims(), iat: now() + 600, exp: now() + 900 }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['a wrong issuer', () => raw(idp, { ...userClaims(), iss: 'https://evil.example' }), /unknown issuer/],
    ['a wrong audience', () => raw(idp, { ...userClaims(), aud: 'another-api' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    [
      'a service principal from the user identity provider',
      () => raw(idp, { ...userClaims(), kind: 'service' }),
      /may not vouch for a service/,
    ],
    ['an agent from the user identity provider', () => raw(idp, { ...userClaims(), kind: 'agent' }), /may not vouch for a agent/],
    [
      "a service token in another service's name",
      () => raw(ops, { ...userClaims(), iss: 'operations', kind: 'service', sub: 'coordination' }),
      /must name its own issuer/,
    ],
    [
      'an admin user made up by a service without act',
      () => raw(ops, { ...userClaims(), iss: 'operations', kind: 'user', roles: ['admin'] }),
      /may not vouch for a user/,
    ],
    [
      'act naming another service',
      () => raw(ops, { ...userClaims(), iss: 'operations', act: { sub: 'coordination' } }),
      /may not act on behalf/,
    ],
    [
      'act from an issuer that does not delegate',
      () => raw(idp, { ...userClaims(), act: { sub: 'https://idp.example' } }),
      /may not act on behalf/,
    ],
    ['not a JWT at all', async () => 'hello', /not a JWT/],
  ];
  it.each(refused)('refuses a token with %s', async (_label, make, reason) => {
    const err = await verifier()
      .verify(await make())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(reason);
  });

  it('tolerates a little clock skew', async () => {
    await expect(verifier().verify(await raw(idp, { ...userClaims(), iat: now() - 620, exp: now() - 20 }))).resolves.toMatchObject({
      id: 'alice',
    });
    await expect(
      verifier({ AUTH_CLOCK_SKEW_S: '0' }).verify(await raw(idp, { ...userClaims(), iat: now() - 620, exp: now() - 20 })),
    ).rejects.toThrow(/ERR_JWT_EXPIRED/);
  });

  it('reads only Bearer headers and treats an absent header as anonymous', async () => {
    await expect(verifier().fromHeader(undefined)).resolves.toBeNull();
    await expect(verifier().fromHeader('Basic abc')).rejects.toBeInstanceOf(AuthError);
  });
});

describe('service tokens', () => {
  it("are in the service's own name, reused until they near expiry", async () => {
    const tokens = serviceTokens(createTokenIssuer({ issuer: 'operations', audience: AUD, key: ops }), 300);
    const a = await tokens.own();
    expect(await tokens.own()).toBe(a);
    await expect(verifier().verify(a)).resolves.toEqual({ kind: 'service', id: 'operations', roles: ['service'] });
  });

  it('carry a caller on its behalf, marked with the service that sent it', async () => {
    const tokens = serviceTokens(createTokenIssuer({ issuer: 'operations', audience: AUD, key: ops }), 300);
    const token = await tokens.onBehalfOf({ kind: 'user', id: 'alice', roles: [] });
    await expect(verifier().verify(token)).resolves.toEqual({ kind: 'user', id: 'alice', roles: [], via: 'operations' });
  });

  it('a process without a private key cannot sign, and says which variable to set', () => {
    const env = authEnv.parse({
      AUTH_ISSUERS: JSON.stringify([{ issuer: 'operations', jwks: { keys: [publicJwk(ops)] }, kinds: ['service'] }]),
    });
    expect(() => issuerFromEnv(env, 'operations')).toThrow(/AUTH_SIGNING_KEY/);
    expect(() => PrivateJwk.parse(publicJwk(ops))).toThrow();
  });
});

describe('verified-token cache', () => {
  /** A verifier whose identity provider's key set and clock the test controls. */
  function controlled(keys: PrivateJwk[]) {
    let set = createLocalJWKSet({ keys: keys.map(publicJwk) });
    const clock = { ms: Date.now() };
    const v = createTokenVerifier({
      issuers: [{ issuer: 'https://idp.example', keys: ((h, t) => set(h, t)) as JWTVerifyGetKey, kinds: ['user'], delegates: false }],
      audience: AUD,
      maxLifetimeSeconds: 3600,
      clockSkewSeconds: 0,
      now: () => clock.ms,
    });
    return { v, clock, publish: (next: PrivateJwk[]) => (set = createLocalJWKSet({ keys: next.map(publicJwk) })) };
  }
  const sign = (key: PrivateJwk, ttl = 600) =>
    createTokenIssuer({ issuer: 'https://idp.example', audience: AUD, key }).sign({ kind: 'user', id: 'carol', roles: ['admin'] }, ttl);

  it('answers a repeated token, but refuses it once its key is rotated out of the set', async () => {
    const { v, publish } = controlled([idp, idpNext]);
    const token = await sign(idp);
    await expect(v.verify(token)).resolves.toEqual({ kind: 'user', id: 'carol', roles: ['admin'] });
    await expect(v.verify(token)).resolves.toEqual({ kind: 'user', id: 'carol', roles: ['admin'] }); // from the cache
    publish([idpNext]); // idp-1 revoked
    await expect(v.verify(token)).rejects.toThrow(/ERR_JWKS_NO_MATCHING_KEY/);
    await expect(v.verify(token)).rejects.toThrow(AuthError);
  });

  it('verifies again after the set is refetched: another key under the same kid does not pass', async () => {
    const { v, publish } = controlled([idp]);
    const token = await sign(idp);
    await expect(v.verify(token)).resolves.toMatchObject({ id: 'carol' });
    publish([idp]); // the same key, refetched: verified again, still fine
    await expect(v.verify(token)).resolves.toMatchObject({ id: 'carol' });
    publish([stranger]); // kid idp-1 now names another key
    await expect(v.verify(token)).rejects.toThrow(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });

  it('never answers from the cache once the token has expired', async () => {
    const { v, clock } = controlled([idp]);
    const token = await sign(idp, 60);
    await expect(v.verify(token)).resolves.toMatchObject({ id: 'carol' });
    clock.ms += 59_000;
    await expect(v.verify(token)).resolves.toMatchObject({ id: 'carol' });
    clock.ms += 2_000;
    await expect(v.verify(token)).rejects.toThrow(/ERR_JWT_EXPIRED/);
  });

  it('keys by the whole token: a cached token with another signature is refused', async () => {
    const { v } = controlled([idp]);
    const token = await sign(idp);
    await v.verify(token);
    const [h, p, sig] = token.split('.');
    const forged = `${h}.${p}.${sig!.startsWith('A') ? 'B' : 'A'}${sig!.slice(1)}`;
    await expect(v.verify(forged)).rejects.toThrow(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });

  it('hands out a frozen principal, so no call can change what the next one sees', async () => {
    const { v } = controlled([idp]);
    const token = await sign(idp);
    const p = await v.verify(token);
    expect(() => (p.roles as string[]).push('root')).toThrow(TypeError);
    await expect(v.verify(token)).resolves.toEqual({ kind: 'user', id: 'carol', roles: ['admin'] });
  });
});
