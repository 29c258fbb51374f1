import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthError, principalFromHeader, serviceTokenProvider, signToken, verifyToken } from './auth.js';

const settings = { secret: 's'.repeat(40), issuer: 'agent-platform', audience: 'agent-platform' };

describe('auth', () => {
  it('round-trips a principal through a signed token', async () => {
    const token = await signToken({ kind: 'agent', id: 'worker-7', roles: ['agent'] }, settings);
    await expect(verifyToken(token, settings)).resolves.toEqual({ kind: 'agent', id: 'worker-7', roles: ['agent'] });
  });

  it.each([
    ['wrong secret', { ...settings, secret: 'z'.repeat(40) }],
    ['wrong issuer', { ...settings, issuer: 'someone-else' }],
    ['wrong audience', { ...settings, audience: 'other-api' }],
  ])('rejects a token checked with the %s', async (_label, checkWith) => {
    const token = await signToken({ kind: 'user', id: 'alice', roles: [] }, settings);
    await expect(verifyToken(token, checkWith)).rejects.toBeInstanceOf(AuthError);
  });

  it('rejects an expired token and one without a valid principal kind', async () => {
    const key = new TextEncoder().encode(settings.secret);
    const expired = await new SignJWT({ kind: 'user', roles: [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    await expect(verifyToken(expired, settings)).rejects.toThrow(/ERR_JWT_EXPIRED/);
    const noKind = await new SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime('1h')
      .sign(key);
    await expect(verifyToken(noKind, settings)).rejects.toThrow(/principal/);
  });

  it('reads only Bearer headers and treats an absent header as anonymous', async () => {
    await expect(principalFromHeader(undefined, settings)).resolves.toBeNull();
    await expect(principalFromHeader('Basic abc', settings)).rejects.toBeInstanceOf(AuthError);
  });

  it('reuses a service token until it nears expiry', async () => {
    const next = serviceTokenProvider('operations', settings, 300);
    const a = await next();
    expect(await next()).toBe(a);
    await expect(verifyToken(a, settings)).resolves.toMatchObject({ kind: 'service', id: 'operations' });
  });
});
