import type { CoordinationRouter } from './src/router/index.js';
import { createLogger, createServiceClient, signToken } from '@platform/kit';
import { join } from 'node:path';
import { startAgent } from '../../shared/agent-sdk/src/agent.js';
import { DEV_JWT, ROOT } from '../../scripts/lib/local-env.js';
import { NODE_TS_FLAGS, serviceEnv, spawnNode, waitForHttp } from '../../scripts/lib/processes.js';
import { startPrivateNats } from './test/support/private-nats.js';
const nats = await startPrivateNats(4598);
const env = { ...serviceEnv('coordination', { knowledge: 0, operations: 0, coordination: 4508 }), ...nats.env, LOG_LEVEL: 'warn' };
const dir = join(ROOT, 'services', 'coordination', 'src');
const svc = spawnNode('coordination', [...NODE_TS_FLAGS, join(dir, 'main.ts')], env, 'prof-coordination', 'http://127.0.0.1:4508');
const log = createLogger('prof', 'warn');
await waitForHttp('http://127.0.0.1:4508/readyz', 60_000, svc);
const started = new Map<string, number>();
const agents = [];
for (let i = 0; i < 10; i++) { const name = `p${i}`; const t = await signToken({ kind: 'agent', id: name, roles: [] }, DEV_JWT); agents.push(await startAgent({ coordinationUrl: svc.url, name, getToken: async () => t, capabilities: { build: async (_j, ctx) => void started.set(ctx.jobId, performance.now()) }, log })); }
import { readFileSync } from 'node:fs';
const cpu = () => { const f = readFileSync(`/proc/${svc.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const c0 = cpu();
const ut = await signToken({ kind: 'user', id: 'u', roles: [] }, DEV_JWT);
const c = createServiceClient<CoordinationRouter>({ baseUrl: svc.url, getToken: async () => ut, timeoutMs: 30_000 });
const at = new Map<string, number>(); const t0 = performance.now(); const ps = [];
for (let i = 0; i < 1000; i++) { const w = t0 + i * 10 - performance.now(); if (w > 0) await new Promise(r => setTimeout(r, w)); ps.push((async () => { const s = performance.now(); const { jobId } = await c.jobs.trigger.mutate({ jobType: 'build' }); at.set(jobId, s); })()); }
await Promise.all(ps);
while (started.size < 1000) await new Promise(r => setTimeout(r, 50));
const lat = [...at].map(([id, s]) => started.get(id)! - s).sort((a, b) => a - b);
console.log('coordination cpu ms/job', ((cpu() - c0) / 1000).toFixed(2), 'elapsed', ((performance.now() - t0) / 1000).toFixed(1), 's p50', lat[500]!.toFixed(1), 'p95', lat[950]!.toFixed(1));
await Promise.all(agents.map(a => a.stop({ drainTimeoutMs: 0 })));
await svc.stop(); await nats.stop();
