// Runs: the list (filtered, kept current) and one run as a tree that updates while it runs, with the
// path from a chosen step to the root highlighted and a scrubber through its recorded history.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { changeHandlers, errorCode, errorMessage, type KnowledgeClient, type Replay, type RunSummary, type RunTree } from './api.js';
import { useLive, type Live } from './hooks.js';
import {
  buildTree,
  durationMs,
  formatDuration,
  formatTime,
  pathToRoot,
  stepTimings,
  type StepStatus,
  type Timing,
  type TreeNode,
} from './tree.js';

const STATUSES: StepStatus[] = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'];
type RunKind = RunSummary['kind'];
/** What made a run: a saga in operations, a task tree (with its jobs), a job of its own, or a caller of runs.create. */
const KINDS: RunKind[] = ['saga', 'task', 'job', 'manual'];
/** How often the list is read again (no push for lists: a new run shows within this plus its recording, well under a second) and an open run when its pushed changes are unavailable. */
export const LIST_INTERVAL_MS = 300;
export const RUN_INTERVAL_MS = 500;

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>;
}

/** When the view last heard from the service, and how it keeps up (pushed events or polling). */
export function Updated(props: { live: Pick<Live<unknown>, 'updatedAt' | 'error' | 'mode'> }) {
  const { updatedAt, error, mode } = props.live;
  return (
    <p class="updated" aria-live="polite">
      {error ? (
        <span class="error" role="alert">
          {error}
        </span>
      ) : (
        <span class={`live-dot ${mode}`} aria-hidden="true" />
      )}
      {updatedAt ? `updated ${formatTime(updatedAt.toISOString())}` : 'loading…'}
      {updatedAt && !error && <span class="muted">{mode === 'push' ? ' · live' : ' · polling'}</span>}
    </p>
  );
}

export function RunsList(props: { client: KnowledgeClient; onUnauthorized: () => void }) {
  const [status, setStatus] = useState<StepStatus | ''>('');
  const [kind, setKind] = useState<RunKind | ''>('');
  const [prefix, setPrefix] = useState('');
  const namePrefix = prefix.trim();
  const live = useLive(
    () =>
      props.client.runs.list.query({
        limit: 50,
        ...(status ? { status } : {}),
        ...(kind ? { kind } : {}),
        ...(namePrefix ? { namePrefix } : {}),
      }),
    {
      intervalMs: LIST_INTERVAL_MS,
      deps: [props.client, status, kind, namePrefix],
      onUnauthorized: props.onUnauthorized,
    },
  );
  const runs = live.data?.items ?? [];
  return (
    <section aria-labelledby="runs-title">
      <div class="title-row">
        <h1 id="runs-title">Runs</h1>
        <Updated live={live} />
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value as StepStatus | '')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as RunKind | '')}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Name starts with <input type="search" value={prefix} onInput={(e) => setPrefix((e.target as HTMLInputElement).value)} />
        </label>
      </form>
      {live.data && runs.length === 0 ? (
        <p class="empty">
          No runs{status || kind || namePrefix ? ' match these filters' : ' yet'}. Start a saga or trigger a job and it appears here.
        </p>
      ) : (
        <table class="runs" aria-label="Runs">
          <thead>
            <tr>
              <th>Run</th>
              <th>Kind</th>
              <th>Status</th>
              <th>Started</th>
              <th>Owner</th>
              <th>Session</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <a href={`#/runs/${encodeURIComponent(r.id)}`}>{r.name}</a>
                </td>
                <td>{r.kind}</td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td>{formatTime(r.createdAt)}</td>
                <td>{r.owner ? `${r.owner.kind}:${r.owner.id}` : '—'}</td>
                <td>{r.sessionId ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {live.data?.nextCursor && <p class="hint">Showing the newest 50; narrow the filters to see others.</p>}
    </section>
  );
}

/** One recorded change as a person reads it beside the replay slider. */
function describeChange(c: { name: string; kind: string; status: string }): string {
  switch (c.kind) {
    case 'added':
      return `${c.name} added (${c.status})`;
    case 'status':
      return `${c.name} → ${c.status}`;
    case 'output':
      return `${c.name}: new output`;
    default:
      return `${c.name} ${c.kind}`;
  }
}

/** A step as the tree shows it: the live tree's steps and replayed ones have these in common. */
interface ShownStep {
  id: string;
  parentId: string | null;
  name: string;
  status: StepStatus;
  output: Record<string, unknown> | null;
}

interface History {
  tree: RunTree;
  history: Replay;
}

export function RunView(props: { runId: string; client: KnowledgeClient; onUnauthorized: () => void }) {
  const { client, runId } = props;
  // The tree (steps with input and output) and the history (each change's time) in one batched request.
  // The last change this page has read: the subscription starts after it (the service sends the
  // backlog after the given id, then each change as it is recorded) and resumes from its own last one.
  const seen = useRef<number | undefined>(undefined);
  const live = useLive<History>(
    async () => {
      const [tree, history] = await Promise.all([client.runs.tree.query({ runId }), client.runs.replay.query({ runId })]);
      seen.current = tree.run.seq;
      return { tree, history };
    },
    {
      intervalMs: RUN_INTERVAL_MS,
      // Each change the service pushes (runs.onChange over server-sent events) makes the page read the run again.
      subscribe: (h) => {
        const sub = client.runs.onChange.subscribe(
          { runId, ...(seen.current ? { lastEventId: String(seen.current) } : {}) },
          changeHandlers(h),
        );
        return () => sub.unsubscribe();
      },
      deps: [client, runId],
      onUnauthorized: props.onUnauthorized,
    },
  );
  const [scrub, setScrub] = useState<number | null>(null);
  const [past, setPast] = useState<Replay | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [serverPath, setServerPath] = useState<string[]>([]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [openOutputs, setOpenOutputs] = useState<ReadonlySet<string>>(new Set());
  const [actionError, setActionError] = useState<string | null>(null);

  // Replay: the run rebuilt as it was at the scrubber's seq (null = live).
  useEffect(() => {
    if (scrub === null) return setPast(null);
    let current = true;
    client.runs.replay.query({ runId, untilSeq: scrub }).then(
      (r) => current && setPast(r),
      (err: unknown) => current && (errorCode(err) === 'UNAUTHORIZED' ? props.onUnauthorized() : setActionError(errorMessage(err))),
    );
    return () => {
      current = false;
    };
  }, [client, runId, scrub]);

  const maxSeq = live.data?.tree.run.seq ?? 0;
  const shownSteps: ShownStep[] = scrub !== null && past ? past.steps : (live.data?.tree.steps ?? []);
  const timings = useMemo(
    () => stepTimings((scrub !== null && past ? past.changes : live.data?.history.changes) ?? []),
    [scrub, past, live.data],
  );
  const roots = useMemo(() => buildTree(shownSteps), [shownSteps]);
  const names = useMemo(() => new Map(shownSteps.map((s) => [s.id, s.name])), [shownSteps]);
  // The live path comes from the service (runs.pathToRoot); a replayed one from the steps as they were.
  const path = selected === null ? [] : scrub !== null ? pathToRoot(shownSteps, selected) : serverPath;
  const onPath = new Set(path);

  const select = async (stepId: string) => {
    setSelected(stepId);
    setActionError(null);
    if (scrub !== null) return;
    try {
      const { steps } = await client.runs.pathToRoot.query({ stepId });
      setServerPath(steps.map((s) => s.id));
    } catch (err) {
      if (errorCode(err) === 'UNAUTHORIZED') return props.onUnauthorized();
      setActionError(errorMessage(err));
    }
  };
  const toggle = (set: ReadonlySet<string>, id: string) => {
    const next = new Set(set);
    if (!next.delete(id)) next.add(id);
    return next;
  };

  if (!live.data) {
    const notFound = live.error?.startsWith('NOT_FOUND');
    return (
      <section>
        <p>
          <a href="#/runs">← Runs</a>
        </p>
        {notFound ? (
          <p class="error" role="alert">
            No run {runId} that you may see.
          </p>
        ) : (
          <Updated live={live} />
        )}
      </section>
    );
  }
  const { run } = live.data.tree;
  const rootStatus = live.data.tree.steps.find((s) => s.id === run.rootStepId)?.status ?? 'pending';
  const scrubChange = live.data.history.changes.find((c) => c.seq === (scrub ?? maxSeq));

  const renderNode = (node: TreeNode<ShownStep>) => {
    const s = node.step;
    const t: Timing | undefined = timings.get(s.id);
    const hasChildren = node.children.length > 0;
    const isCollapsed = collapsed.has(s.id);
    const outputOpen = openOutputs.has(s.id);
    return (
      <li
        key={s.id}
        role="treeitem"
        aria-expanded={hasChildren ? !isCollapsed : undefined}
        aria-selected={selected === s.id}
        data-step={s.name}
        class={onPath.has(s.id) ? 'on-path' : undefined}
      >
        <div class="step-row">
          <span class="cell name">
            {hasChildren ? (
              <button
                type="button"
                class="toggle"
                aria-label={`${isCollapsed ? 'Expand' : 'Collapse'} ${s.name}`}
                onClick={() => setCollapsed((c) => toggle(c, s.id))}
              >
                {isCollapsed ? '▸' : '▾'}
              </button>
            ) : (
              <span class="toggle" aria-hidden="true" />
            )}
            <button type="button" class="step-name" title="Show the path to the root" onClick={() => void select(s.id)}>
              {s.name}
            </button>
          </span>
          <span class="cell">
            <StatusBadge status={s.status} />
          </span>
          <span class="cell time">{formatTime(t?.startedAt ?? null)}</span>
          <span class="cell time">{formatTime(t?.finishedAt ?? null)}</span>
          <span class="cell duration">{formatDuration(durationMs(t, Date.now()))}</span>
          <span class="cell">
            {s.output ? (
              <button type="button" class="link" aria-expanded={outputOpen} onClick={() => setOpenOutputs((o) => toggle(o, s.id))}>
                {outputOpen ? 'hide output' : 'output'}
              </button>
            ) : (
              <span class="muted">—</span>
            )}
          </span>
        </div>
        {outputOpen && s.output && (
          <pre class="output" aria-label={`Output of ${s.name}`}>
            {JSON.stringify(s.output, null, 2)}
          </pre>
        )}
        {hasChildren && !isCollapsed && <ul role="group">{node.children.map(renderNode)}</ul>}
      </li>
    );
  };

  return (
    <section aria-labelledby="run-title">
      <p>
        <a href="#/runs">← Runs</a>
      </p>
      <div class="title-row">
        <h1 id="run-title">
          {run.name} <StatusBadge status={rootStatus} />
        </h1>
        <Updated live={live} />
      </div>
      <dl class="facts">
        <dt>Run</dt>
        <dd>
          <code>{run.id}</code>
        </dd>
        <dt>Kind</dt>
        <dd>{run.kind}</dd>
        <dt>Started</dt>
        <dd>{formatTime(run.createdAt)}</dd>
        <dt>Owner</dt>
        <dd>{run.owner ? `${run.owner.kind}:${run.owner.id}` : '—'}</dd>
        <dt>Steps</dt>
        <dd>
          {live.data.tree.steps.length}
          {live.data.tree.truncated ? ' (first part only)' : ''}
        </dd>
      </dl>

      <section class="replay" aria-label="Replay history">
        <label for="scrub">Replay</label>
        <input
          id="scrub"
          type="range"
          min={1}
          max={Math.max(1, maxSeq)}
          step={1}
          value={scrub ?? maxSeq}
          onInput={(e) => {
            const v = Number((e.target as HTMLInputElement).value);
            setScrub(v >= maxSeq ? null : v);
          }}
        />
        <span class="scrub-state" aria-live="polite">
          {scrub === null ? `live · change ${maxSeq} of ${maxSeq}` : `change ${scrub} of ${maxSeq}`}
          {scrubChange && ` · ${formatTime(scrubChange.at)} · ${describeChange(scrubChange)}`}
        </span>
        <button type="button" disabled={scrub === null} onClick={() => setScrub(null)}>
          Back to live
        </button>
      </section>
      {scrub !== null && (
        <p class="notice" role="status">
          Showing the run as it was after change {scrub}
          {past ? '' : ' (loading…)'}; it is not updating. Move the slider to the end or press “Back to live”.
        </p>
      )}

      {selected && path.length > 0 && (
        <nav class="path" aria-label="Path to root">
          Path to root:{' '}
          {[...path].reverse().map((id, i) => (
            <span key={id}>
              {i > 0 && ' › '}
              <strong>{names.get(id) ?? id}</strong>
            </span>
          ))}
          <button type="button" class="link" onClick={() => setSelected(null)}>
            clear
          </button>
        </nav>
      )}
      {actionError && (
        <p class="error" role="alert">
          {actionError}
        </p>
      )}

      <div class="tree-head" aria-hidden="true">
        <span class="cell name">Step</span>
        <span class="cell">Status</span>
        <span class="cell time">Started</span>
        <span class="cell time">Finished</span>
        <span class="cell duration">Duration</span>
        <span class="cell">Output</span>
      </div>
      <ul role="tree" aria-label={`Steps of ${run.name}`} class="tree">
        {roots.map(renderNode)}
      </ul>
    </section>
  );
}
