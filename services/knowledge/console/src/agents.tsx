// Agents (online, stale, offline, current job) and the job queues (waiting per type and priority),
// with the signed-in user's recent jobs: all read from coordination, kept current.
import { useState } from 'preact/hooks';
import { changeHandlers, type Agent, type CoordinationClient } from './api.js';
import { useLive } from './hooks.js';
import { StatusBadge, Updated } from './runs.js';
import { formatAgo, formatTime } from './tree.js';

export const AGENTS_INTERVAL_MS = 1_000;
const AGENT_STATUSES = ['online', 'stale', 'offline'] as const;
/** Offline agents shown before "show all": old test or crashed agents stay in the registry and would bury the live ones. */
const OFFLINE_SHOWN = 3;

/** Online first, then stale, then offline; within each, the most recently seen first. */
export function sortAgents(agents: readonly Agent[]): Agent[] {
  const rank = (a: Agent) => AGENT_STATUSES.indexOf(a.status);
  return [...agents].sort(
    (x, y) => rank(x) - rank(y) || Date.parse(y.lastPingAt) - Date.parse(x.lastPingAt) || x.name.localeCompare(y.name),
  );
}

export function AgentsView(props: { client: CoordinationClient | null; onUnauthorized: () => void }) {
  if (!props.client) {
    return (
      <section>
        <h1>Agents &amp; queues</h1>
        <p class="notice" role="status">
          This console does not know where coordination is: set <code>CONSOLE_COORDINATION_URL</code> on knowledge (and list knowledge's
          origin in coordination's <code>CORS_ORIGINS</code>).
        </p>
      </section>
    );
  }
  return <Agents client={props.client} onUnauthorized={props.onUnauthorized} />;
}

function Agents(props: { client: CoordinationClient; onUnauthorized: () => void }) {
  const { client } = props;
  const live = useLive(
    async () => {
      const [agents, queues, jobs] = await Promise.all([
        client.agents.list.query({ limit: 500 }),
        client.queues.depths.query({}),
        client.jobs.list.query({ limit: 20 }),
      ]);
      return { agents: agents.agents, queues: queues.queues, jobs: jobs.jobs };
    },
    {
      intervalMs: AGENTS_INTERVAL_MS,
      // The registry's changes are pushed (agents.onChange); queue depths are not, so the poll stays brisk.
      subscribe: (h) => {
        const sub = client.agents.onChange.subscribe({}, changeHandlers(h));
        return () => sub.unsubscribe();
      },
      pushedIntervalMs: 2_000,
      deps: [client],
      onUnauthorized: props.onUnauthorized,
    },
  );
  const [allOffline, setAllOffline] = useState(false);
  const now = Date.now();
  const agents = live.data?.agents ?? [];
  const sorted = sortAgents(agents);
  const offline = sorted.filter((a) => a.status === 'offline');
  const hidden = allOffline ? 0 : Math.max(0, offline.length - OFFLINE_SHOWN);
  const shown = hidden > 0 ? sorted.slice(0, sorted.length - hidden) : sorted;
  const counts = AGENT_STATUSES.map((s) => `${agents.filter((a) => a.status === s).length} ${s}`).join(' · ');
  return (
    <>
      <section aria-labelledby="agents-title">
        <div class="title-row">
          <h1 id="agents-title">Agents</h1>
          <Updated live={live} />
        </div>
        {live.data && <p class="summary">{counts}</p>}
        {live.data && agents.length === 0 ? (
          <p class="empty">No agent has registered.</p>
        ) : (
          <table class="agents" aria-label="Agents">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Status</th>
                <th>Current job</th>
                <th>Capabilities</th>
                <th>Last ping</th>
                <th>Version</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((a) => (
                <tr key={a.name}>
                  <td>{a.name}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>
                    {a.currentJobId ? <code title={a.currentJobId}>{a.currentJobId.slice(0, 8)}</code> : <span class="muted">idle</span>}
                  </td>
                  <td>{a.capabilities.join(', ')}</td>
                  <td title={a.lastPingAt}>{formatAgo(a.lastPingAt, now)}</td>
                  <td>{a.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {hidden > 0 && (
          <p>
            <button type="button" class="link" onClick={() => setAllOffline(true)}>
              Show {hidden} more offline agent{hidden === 1 ? '' : 's'}
            </button>
          </p>
        )}
      </section>

      <section aria-labelledby="queues-title">
        <h2 id="queues-title">Job queues</h2>
        <table class="queues" aria-label="Job queues">
          <thead>
            <tr>
              <th>Job type</th>
              <th>Priority</th>
              <th>Queued</th>
              <th>Delivered, not running</th>
            </tr>
          </thead>
          <tbody>
            {(live.data?.queues ?? []).map((q) => (
              <tr key={`${q.jobType}/${q.priority}`} class={q.queued > 0 ? 'busy' : undefined}>
                <td>{q.jobType}</td>
                <td>{q.priority}</td>
                <td class="num">{q.queued}</td>
                <td class="num">{q.delivered}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Your recent jobs</h2>
        {live.data && live.data.jobs.length === 0 ? (
          <p class="empty">You have no jobs.</p>
        ) : (
          <table class="jobs" aria-label="Your recent jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Type</th>
                <th>Priority</th>
                <th>Status</th>
                <th>Agent</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {(live.data?.jobs ?? []).map((j) => (
                <tr key={j.jobId}>
                  <td>
                    <code title={j.jobId}>{j.jobId.slice(0, 8)}</code>
                  </td>
                  <td>{j.jobType}</td>
                  <td>{j.priority}</td>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td>{j.agent ?? <span class="muted">—</span>}</td>
                  <td>{formatTime(j.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
