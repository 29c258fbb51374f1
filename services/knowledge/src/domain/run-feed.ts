import type { Principal } from '@platform/contracts';
import { mapStreamErrors, notFound } from '@platform/kit';
import { tracked } from '@trpc/server';
import type { Graph } from '../store/neo4j.js';
import { changesAfter, runSeqs } from '../store/run-feed.js';
import { findRun } from '../store/runs.js';
import { scopeOf } from './access.js';
import type { BlockDeps } from './blocks.js';

/** How often the watched runs' seqs are read (one query per process for all of them). */
export const RUN_FEED_POLL_MS = 250;
/** Changes read per query while catching up. */
const PAGE = 500;

/**
 * Which watched runs have moved: every RUN_FEED_POLL_MS, while anyone watches, one query reads
 * the `seq` of every watched run and wakes the watchers of each run whose seq grew. The graph is
 * the only source: whatever wrote the change (this replica, another one, the run recorder), it is
 * seen within a tick, and nothing is lost to a missed notification. A watcher is woken once when
 * it starts too, so a change between its own first read and the first tick is not missed.
 */
export class RunFeedHub {
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly graph: Graph,
    private readonly intervalMs = RUN_FEED_POLL_MS,
  ) {}

  /** Calls `wake` whenever `runId` may have new changes; returns the function that stops it. */
  watch(runId: string, wake: () => void): () => void {
    let set = this.watchers.get(runId);
    if (!set) this.watchers.set(runId, (set = new Set()));
    set.add(wake);
    this.seen.delete(runId); // the next tick wakes every watcher of this run once
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs).unref();
    return () => {
      set.delete(wake);
      if (set.size === 0) {
        this.watchers.delete(runId);
        this.seen.delete(runId);
      }
      if (this.watchers.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async poll(): Promise<void> {
    if (this.polling || this.watchers.size === 0) return;
    this.polling = true;
    try {
      const seqs = await runSeqs(this.graph, [...this.watchers.keys()]);
      for (const [runId, seq] of seqs) {
        if ((this.seen.get(runId) ?? -1) >= seq) continue;
        this.seen.set(runId, seq);
        for (const wake of this.watchers.get(runId) ?? []) wake();
      }
    } catch {
      // The graph is unreachable: wake everyone, so each subscriber's own read fails and its client
      // is told (SERVICE_UNAVAILABLE: it reconnects and resumes) instead of waiting in silence.
      for (const set of this.watchers.values()) for (const wake of set) wake();
    } finally {
      this.polling = false;
    }
  }
}

const hubs = new WeakMap<Graph, RunFeedHub>();
/** One hub per graph (per process): built on the first subscription, idle while nobody watches. */
const hubOf = (graph: Graph) => {
  let hub = hubs.get(graph);
  if (!hub) hubs.set(graph, (hub = new RunFeedHub(graph)));
  return hub;
};

/**
 * runs.onChange: a run's change history after `after` (the seq the client last saw; 0 = from the
 * start), then each change as it is recorded. The event id is the change's `seq`, which is
 * gap-free and strictly increasing per run (every write takes the run's lock), so resuming after
 * the last id sent gives every change once. There is no seam between backlog and live: both come
 * from the same read ("changes with seq > last sent"), repeated whenever the run moves.
 * Who may replay the run may follow it; anyone else gets NOT_FOUND, as from runs.replay.
 */
export async function runChangeStream(
  deps: Pick<BlockDeps, 'graph' | 'teams'>,
  principal: Principal,
  runId: string,
  after: number,
  signal: AbortSignal | undefined,
) {
  const run = await findRun(deps.graph, await scopeOf(deps.teams, principal), runId);
  if (!run) throw notFound('run', runId);
  const hub = hubOf(deps.graph);
  async function* follow() {
    let sent = after;
    let moved = true;
    let wake: (() => void) | undefined;
    const stop = hub.watch(runId, () => {
      moved = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        if (moved) {
          moved = false;
          for (;;) {
            const page = await changesAfter(deps.graph, runId, sent, PAGE);
            let hole = false;
            for (const c of page) {
              // Never past a hole (none is expected: seqs are gap-free and committed in order): read again a tick later.
              if (c.seq !== sent + 1) {
                hole = true;
                setTimeout(() => {
                  moved = true;
                  wake?.();
                }, RUN_FEED_POLL_MS).unref();
                break;
              }
              sent = c.seq;
              yield tracked(String(c.seq), { ...c });
            }
            if (hole || page.length < PAGE) break;
          }
        }
        if (!moved) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop();
    }
  }
  return mapStreamErrors(follow());
}
