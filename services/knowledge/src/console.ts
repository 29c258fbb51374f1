import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendProblem } from '@platform/kit';

/**
 * Where the console's bundle is (console/build.ts writes it): dist/console/ of this package, found
 * from this module's own place, which is one level under the package in both src/ (run from source
 * with tsx) and dist/ (the image).
 */
export const CONSOLE_DIR = fileURLToPath(new URL('../dist/console/', import.meta.url));

/** What the page needs to know at run time and cannot be built in: where coordination is, as a browser reaches it. */
export interface ConsoleSettings {
  dir?: string;
  /** Coordination's base URL for the browser (agents and queues view); unset hides that view's data with a note. */
  coordinationUrl: string | undefined;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};
/** Only these names are served: nothing else in the folder (or outside it) is reachable. */
const FILE = /^[a-z0-9][a-z0-9.-]*\.(html|js|css|map|svg)$/;

/**
 * The operator console at /console/ (static files from the bundle, plus /console/config.json), as
 * an `extraRoutes` handler for startServiceServer. Files are read per request: they are a few kB, and
 * a rebuilt bundle is served without a restart. No token is needed to load the page; every call it
 * makes carries the user's own token. Returns false for any other path.
 */
export function consoleRoutes(settings: ConsoleSettings): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const dir = settings.dir ?? CONSOLE_DIR;
  const connectSrc = ["'self'", ...(settings.coordinationUrl ? [new URL(settings.coordinationUrl).origin] : [])].join(' ');
  // The page runs only its own script and talks only to knowledge (same origin) and coordination.
  const headers = {
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connectSrc}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'referrer-policy': 'no-referrer',
  };
  const config = JSON.stringify({ coordinationUrl: settings.coordinationUrl ?? null });

  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path !== '/console' && !path.startsWith('/console/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendProblem(res, 'METHOD_NOT_SUPPORTED', 405, { detail: `${req.method} is not allowed on ${path}`, instance: path });
      return true;
    }
    if (path === '/console') {
      res.writeHead(308, { location: '/console/' });
      res.end();
      return true;
    }
    const name = path === '/console/' ? 'index.html' : path.slice('/console/'.length);
    if (name === 'config.json') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : config);
      return true;
    }
    if (!FILE.test(name)) {
      sendProblem(res, 'NOT_FOUND', 404, { detail: `no console file ${name}`, instance: path });
      return true;
    }
    let body: Buffer;
    try {
      body = await readFile(join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The whole bundle missing is a build step left out, not a wrong link: say which.
      const built = await readFile(join(dir, 'index.html')).then(
        () => true,
        () => false,
      );
      if (built) sendProblem(res, 'NOT_FOUND', 404, { detail: `no console file ${name}`, instance: path });
      else
        sendProblem(res, 'SERVICE_UNAVAILABLE', 503, {
          detail: `the console is not built (${dir}); run: npm run build:console -w @platform/knowledge`,
          instance: path,
        });
      return true;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
