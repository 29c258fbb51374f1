// The floor under the dispatch target (issue 16 item 2), measured in the coordination bench's run:
// the NATS work one job needs however coordination is written, with nothing else around it.
//
// Per job, as the service keeps it durable: the record created, written `running` and written
// `succeeded` (KV create, two compare-and-sets), its three events published to a stream, its lease
// put and removed; and the agent's one exchange with the dispatcher per job (its report with the
// next claim) as a core NATS request and reply instead of an HTTP request. No tRPC, no HTTP, no
// validation, no outbox markers, no domain: a dispatcher written any other way can only add to it.
// `SLOTS` jobs are in flight at once, like the bench's 40 agent slots. With `exchange: 'http'` the
// agent's exchange is a POST to a bare node:http server instead (fetch on the agents' side, as the
// SDK's): the same floor with the HTTP hop coordination's agents use today.
import { connectNats, createLogger, ensureStream, RetentionPolicy, type NatsConnection } from '@platform/kit';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const log = createLogger('bench-floor', 'warn');

/** A record about the size of a job's (params, history of three transitions, owner, trace). */
const record = (id: string, status: string) =>
  JSON.stringify({
    id,
    jobType: 'build',
    status,
    params: { target: 'x'.repeat(40) },
    owner: { kind: 'user', id: 'bench-user' },
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    history: Array.from({ length: 3 }, (_, i) => ({ status, at: new Date().toISOString(), note: `step ${i}` })),
  });

export interface FloorResult {
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** CPU of this process (the dispatcher and the agents' side together), ms per job. */
  processMsPerJob: number;
}

/** Runs `jobs` jobs through the bare path, `slots` at a time, against the NATS at `url` (admin user). */
export async function measureJobPathFloor(
  opts: { url: string; user: string; password: string },
  jobs: number,
  slots: number,
  exchange: 'nats' | 'http' = 'nats',
): Promise<FloorResult> {
  const connect = (name: string) => connectNats({ url: opts.url, user: opts.user, password: opts.password, name, log });
  const nc: NatsConnection = await connect('bench-floor');
  const agentSide: NatsConnection = await connect('bench-floor-agents');
  try {
    const js = nc.jetstream();
    const records = await js.views.kv('BENCH_FLOOR_JOBS', { history: 1 });
    const leases = await js.views.kv('BENCH_FLOOR_LEASES', { history: 1 });
    await ensureStream(nc, { name: 'BENCH_FLOOR_EVENTS', subjects: ['bench.floor.>'], retention: RetentionPolicy.Limits });
    const event = (id: string, what: string) =>
      js.publish(`bench.floor.${what}`, JSON.stringify({ id: `${id}.${what}`, jobId: id, at: new Date().toISOString() }), {
        msgID: `${id}.${what}`,
      });

    // The dispatcher: each request is an agent's report of its last job plus its next claim.
    let next = 0;
    const run = `floor-${exchange}-${process.pid}-${Date.now()}`; // fresh keys for each run
    const runOne = async (): Promise<string | null> => {
      if (next >= jobs) return null;
      const id = `${run}-${next++}`;
      const created = await records.create(id, record(id, 'queued'));
      const [, leaseRevision] = await Promise.all([event(id, 'queued'), leases.put(`agent.${id}`, JSON.stringify({ jobId: id }))]);
      const started = await records.update(id, record(id, 'running'), created);
      void event(id, 'started');
      return `${id} ${started} ${leaseRevision}`;
    };
    const finish = async (claim: string) => {
      const [id, started, leaseRevision] = claim.split(' ') as [string, string, string];
      await records.update(id, record(id, 'succeeded'), Number(started));
      await Promise.all([event(id, 'succeeded'), leases.delete(`agent.${id}`, { previousSeq: Number(leaseRevision) })]);
    };
    // The dispatcher's side of one exchange: the report of the last job, then the next claim.
    let failure: unknown = null;
    const serve = async (done: string): Promise<string> => {
      try {
        if (done) await finish(done);
        return (await runOne()) ?? '';
      } catch (err) {
        failure ??= err; // the slots stop at an empty answer; the run then fails with it
        return '';
      }
    };
    let ask: (held: string) => Promise<string>;
    let stop: () => Promise<void>;
    if (exchange === 'nats') {
      const sub = nc.subscribe('bench.floor-rpc');
      const serving = (async () => {
        for await (const m of sub) void serve(m.string()).then((answer) => m.respond(answer));
      })();
      await nc.flush(); // the subscription is on the server before the first request
      ask = async (held) => (await agentSide.request('bench.floor-rpc', held, { timeout: 10_000 })).string();
      stop = async () => {
        sub.unsubscribe();
        await serving;
      };
    } else {
      const server = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => void serve(body).then((answer) => res.end(answer)));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      ask = async (held) => (await fetch(url, { method: 'POST', body: held })).text();
      stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
    }

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: slots }, async () => {
        let held = '';
        for (;;) {
          const answer = await ask(held);
          if (!answer) return;
          held = answer;
        }
      }),
    );
    // The last report of each slot went with a request that found no more work: all finished.
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await stop();
    if (failure) throw failure;
    return { jobs, seconds, jobsPerSecond: jobs / seconds, processMsPerJob: (cpu.user + cpu.system) / 1000 / jobs };
  } finally {
    await agentSide.drain();
    await nc.drain();
  }
}
