import type { Principal } from '@platform/contracts';
import {
  createTokenIssuer,
  PrivateJwk,
  verifierFromEnv,
  authEnv,
  type IssuerConfig,
  type TokenIssuer,
  type TokenVerifier,
} from '@platform/kit';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Development signing keys under .data/keys (git-ignored, made on first use, never committed):
 * a local identity provider for user tokens (`npm run dev-token`) and one key per service. Each
 * service process gets only its own private key; every process gets the public keys of all of them.
 * On Kubernetes the same roles are played by a real identity provider and a Secret per service.
 */
export const DEV_IDP_ISSUER = 'agent-platform-dev-idp';
export const AUDIENCE = 'agent-platform';
export const SIGNING_SERVICES = ['knowledge', 'operations', 'coordination'] as const;
export type SigningService = (typeof SIGNING_SERVICES)[number];

/** Which principals each issuer may vouch for locally (as the Helm chart's defaults say). */
const KINDS: Record<string, { kinds: IssuerConfig['kinds']; delegates: boolean }> = {
  [DEV_IDP_ISSUER]: { kinds: ['user'], delegates: false },
  knowledge: { kinds: ['service'], delegates: true },
  operations: { kinds: ['service'], delegates: true },
  // coordination enrols agents and issues their tokens
  coordination: { kinds: ['service', 'agent'], delegates: true },
};

/** Services that sign tokens (their own, on a caller's behalf, agents'); knowledge only verifies. */
const SIGNS = new Set<string>(['operations', 'coordination']);

export const keyFile = (dir: string, name: string) => join(dir, `${name}.private.jwk.json`);

/** Reads a private key, or makes it: written under a temporary name and linked into place, so parallel callers agree on one key. */
function ensureKey(dir: string, name: string): PrivateJwk {
  const file = keyFile(dir, name);
  try {
    return PrivateJwk.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: `${name}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`,
    alg: 'EdDSA',
  };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(jwk, null, 2), { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return PrivateJwk.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export interface DevAuth {
  /** AUTH_ISSUERS as services read it (public keys inline). */
  issuers: IssuerConfig[];
  /**
   * The token environment for one service process: every issuer's public keys, and only its own
   * private key (a file path, or `inlineKey` for a process that cannot read .data/keys, e.g. one
   * running as another OS user).
   */
  serviceEnv(service: SigningService, opts?: { inlineKey?: boolean }): Record<string, string>;
  /** The token environment for a process that only verifies. */
  verifyEnv(): Record<string, string>;
  verifier: TokenVerifier;
  /** A service's own issuer (its private key), for in-process tests that play that service. */
  issuerFor(service: SigningService): TokenIssuer;
  /** A token for `principal` from the issuer that vouches for its kind (users: the dev IdP; agents: coordination; a service: itself). */
  token(principal: Principal, ttlSeconds?: number): Promise<string>;
}

export function devAuth(dir: string): DevAuth {
  const keys = Object.fromEntries([DEV_IDP_ISSUER, ...SIGNING_SERVICES].map((n) => [n, ensureKey(dir, n)])) as Record<string, PrivateJwk>;
  const issuers: IssuerConfig[] = Object.entries(keys).map(([issuer, key]) => {
    const { d: _private, ...pub } = key;
    return { issuer, jwks: { keys: [{ ...pub, use: 'sig' }] }, ...KINDS[issuer]! };
  });
  const verifyEnv = () => ({ AUTH_ISSUERS: JSON.stringify(issuers), AUTH_AUDIENCE: AUDIENCE });
  const signers = new Map<string, TokenIssuer>();
  const signer = (issuer: string) => {
    let s = signers.get(issuer);
    if (!s) signers.set(issuer, (s = createTokenIssuer({ issuer, audience: AUDIENCE, key: keys[issuer]! })));
    return s;
  };
  return {
    issuers,
    verifyEnv,
    serviceEnv: (service, opts = {}) => {
      // knowledge signs nothing, so it gets no private key (tests still mint `knowledge` service tokens).
      if (!SIGNS.has(service)) return verifyEnv();
      const key: Record<string, string> = opts.inlineKey
        ? { AUTH_SIGNING_KEY: JSON.stringify(keys[service]) }
        : { AUTH_SIGNING_KEY_FILE: keyFile(dir, service) };
      return { ...verifyEnv(), ...key, AUTH_ISSUER: service };
    },
    verifier: verifierFromEnv(authEnv.parse(verifyEnv())),
    issuerFor: (service) => signer(service),
    token(principal, ttlSeconds = 3600) {
      const { kind, id, roles } = principal;
      const p = { kind, id, roles };
      if (kind === 'user') return signer(DEV_IDP_ISSUER).sign(p, ttlSeconds);
      if (kind === 'agent') return signer('coordination').sign(p, ttlSeconds);
      if (!(SIGNING_SERVICES as readonly string[]).includes(id))
        throw new Error(`no development key for a service named '${id}' (one of ${SIGNING_SERVICES.join(', ')})`);
      return signer(id).sign(p, ttlSeconds);
    },
  };
}
