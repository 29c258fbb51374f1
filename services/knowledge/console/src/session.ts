// The signed-in user's bearer token: the same token the APIs take, kept in sessionStorage (gone when
// the tab closes; never a cookie, so no other site can make the browser send it).

const KEY = 'platform.console.token';

export interface Identity {
  /** `kind:id` from the token's claims, for display only: the services verify the token themselves. */
  who: string;
  /** Expiry (ms since epoch), or null when the token says none. */
  expiresAt: number | null;
}

/** Reads the claims the page shows (who, until when) without verifying: verifying is the services' job. */
export function describeToken(token: string): Identity | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const claims = JSON.parse(json) as { sub?: unknown; kind?: unknown; exp?: unknown };
    if (typeof claims.sub !== 'string') return null;
    const kind = typeof claims.kind === 'string' ? claims.kind : 'user';
    return { who: `${kind}:${claims.sub}`, expiresAt: typeof claims.exp === 'number' ? claims.exp * 1_000 : null };
  } catch {
    return null;
  }
}

/**
 * The token to use: a `?token=` in the address (taken once, then removed from the address bar and
 * history so it is not bookmarked or shared), else the one stored for this tab.
 */
export function loadToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    saveToken(fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl.trim();
  }
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
