import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './scratch.js';

/** A throwaway nats-server with JetStream (own port in 4491-4499, own store dir) that a test may stop and restart. */
export interface OwnNats {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

const BIN = path.join(ROOT, '.data', 'bin', 'nats-server');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function ownNatsServer(): Promise<OwnNats> {
  let port = 0;
  for (let p = 4491; p <= 4499 && port === 0; p++) if (await portFree(p)) port = p;
  if (port === 0) throw new Error('no free port in 4491-4499 for a test nats-server');
  const dir = await mkdtemp(path.join(tmpdir(), 'ops-nats-'));
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    child = spawn(BIN, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!(await listening(port))) {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
      if (Date.now() > deadline) throw new Error(`nats-server not listening on ${port}: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    stop,
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
