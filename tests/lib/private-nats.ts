import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/lib/local-env.js';

/**
 * A throwaway nats-server with JetStream for drills that kill and restart the server, so the
 * shared one is never disturbed. The store directory survives restarts (like a real outage).
 */
export interface PrivateNats {
  url: string;
  user: string;
  password: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function natsBinary(): string {
  const local = join(ROOT, '.data', 'bin', 'nats-server');
  if (existsSync(local)) return local;
  throw new Error('nats-server not found in .data/bin: run `bash scripts/infra.sh up nats` first');
}

async function waitPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not open port ${port} within ${timeoutMs} ms`);
}

export async function startPrivateNats(port: number): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), 'drill-nats-'));
  const user = 'drill';
  const password = 'drill_pw';
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(natsBinary(), ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), '--user', user, '--pass', password], { stdio: 'ignore' });
    await waitPort(port, 10_000);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    user,
    password,
    kill,
    start,
    destroy: async () => {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
