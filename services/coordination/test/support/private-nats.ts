import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../../../scripts/lib/local-env.js';

export interface PrivateNats {
  url: string;
  user: string;
  password: string;
  /** The restricted user agents use for heartbeats (publish agents.heartbeat.* only), as in scripts/infra/nats.sh. */
  agentUser: string;
  agentPassword: string;
  port: number;
  pid: number;
  /** Environment for a service process using this server. */
  env: { NATS_URL: string; NATS_USER: string; NATS_PASSWORD: string };
  /** Kills the server (SIGKILL) without removing its data, to test outages. */
  kill(): Promise<void>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

function natsBinary(): string {
  const local = join(ROOT, '.data', 'bin', 'nats-server');
  if (existsSync(local)) return local;
  return 'nats-server'; // on PATH (scripts/infra.sh installs it into .data/bin when missing)
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * A throwaway nats-server with JetStream on 127.0.0.1:`port` (4591–4599 for this repo's tests),
 * its own data directory and credentials. Coordination's stream and bucket names are fixed, so
 * tests that need clean state (or kill NATS) use one of these, never the shared server.
 */
export async function startPrivateNats(port: number): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), `coord-nats-${port}-`));
  const user = 'coord';
  const password = 'coord_test_pw';
  const agentUser = 'agent';
  const agentPassword = 'agent_test_pw';
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `authorization { users: [
  { user: ${user}, password: ${password} }
  { user: ${agentUser}, password: ${agentPassword}, permissions: { publish: ["agents.heartbeat.*"], subscribe: ["_INBOX.>"] } }
] }\n`,
  );
  const child = spawn(natsBinary(), ['-c', conf, '-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `nats://127.0.0.1:${port}`;
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    url,
    user,
    password,
    agentUser,
    agentPassword,
    port,
    pid: child.pid!,
    env: { NATS_URL: url, NATS_USER: user, NATS_PASSWORD: password },
    kill,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
