import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../src/console.js';

// The console's static route over a real socket: what it serves, with which headers, and what it
// refuses (other names, paths out of its folder, other methods); a bundle never built says so.
let dir: string;
let empty: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-route-'));
  empty = await mkdtemp(join(tmpdir(), 'console-route-empty-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'not for the web');
  const built = consoleRoutes({ dir, coordinationUrl: 'http://127.0.0.1:4103' });
  const unbuilt = consoleRoutes({ dir: empty, coordinationUrl: undefined });
  server = createServer((req, res) => {
    const route = req.url?.startsWith('/unbuilt') ? unbuilt : built;
    if (req.url?.startsWith('/unbuilt')) req.url = req.url.slice('/unbuilt'.length);
    void route(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
  await rm(empty, { recursive: true, force: true });
});

describe('/console/', () => {
  it('serves the page and its script with their types, no-cache and a policy allowing only itself and coordination', async () => {
    const page = await fetch(`${base}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self' http://127.0.0.1:4103;");
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<title>console</title>');
    const script = await fetch(`${base}/console/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('console.log(1)');
  });

  it('redirects /console to /console/ and hands the page its configuration', async () => {
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/console/');
    expect(await (await fetch(`${base}/console/config.json`)).json()).toEqual({ coordinationUrl: 'http://127.0.0.1:4103' });
    expect(await (await fetch(`${base}/unbuilt/console/config.json`)).json()).toEqual({ coordinationUrl: null });
  });

  it('serves only its own kinds of file from its folder: anything else is 404 problem+json', async () => {
    for (const path of [
      '/console/secret.txt',
      '/console/missing.js',
      '/console/..%2Fpackage.json',
      '/console/sub/app.js',
      '/console/.hidden.js',
    ]) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 404, 'application/problem+json']);
    }
  });

  it('refuses other methods with 405, leaves other paths alone, and says when the bundle was never built', async () => {
    const post = await fetch(`${base}/console/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/consoles`)).status).toBe(418);
    const unbuilt = await fetch(`${base}/unbuilt/console/`);
    expect(unbuilt.status).toBe(503);
    expect((await unbuilt.json()) as { detail: string }).toMatchObject({ detail: expect.stringContaining('build:console') });
  });
});
