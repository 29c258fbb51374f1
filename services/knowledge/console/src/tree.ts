// Pure helpers behind the run view: steps (flat, in tree order) into a tree, each step's timing from
// the run's recorded changes, the path from a step to the root, and how times read on screen.

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export const TERMINAL: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

export interface FlatStep {
  id: string;
  parentId: string | null;
}

export interface TreeNode<S extends FlatStep> {
  step: S;
  children: Array<TreeNode<S>>;
}

/**
 * Nests steps under their parents, keeping the order they came in (the services answer in tree
 * order, siblings by when they were added). A step whose parent is not in the list (a truncated
 * answer) becomes a root rather than disappearing.
 */
export function buildTree<S extends FlatStep>(steps: readonly S[]): Array<TreeNode<S>> {
  const nodes = new Map(steps.map((s) => [s.id, { step: s, children: [] as Array<TreeNode<S>> }]));
  const roots: Array<TreeNode<S>> = [];
  for (const node of nodes.values()) {
    const parent = node.step.parentId ? nodes.get(node.step.parentId) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** The ids from `stepId` up to its root, through the given steps (the path the page highlights). */
export function pathToRoot(steps: readonly FlatStep[], stepId: string): string[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const path: string[] = [];
  const seen = new Set<string>();
  for (let s = byId.get(stepId); s && !seen.has(s.id); s = s.parentId ? byId.get(s.parentId) : undefined) {
    seen.add(s.id);
    path.push(s.id);
  }
  return path;
}

export interface Change {
  seq: number;
  stepId: string;
  kind: 'added' | 'status' | 'output' | 'moved' | 'removed';
  status: StepStatus;
  at: string;
}

export interface Timing {
  /** When it went running (or was added already running or finished). */
  startedAt: string | null;
  /** When it reached a terminal status; null while it is not in one. */
  finishedAt: string | null;
}

/** Each step's start and finish, from the run's changes in seq order (what replay answers). */
export function stepTimings(changes: readonly Change[]): Map<string, Timing> {
  const timings = new Map<string, Timing>();
  for (const c of [...changes].sort((a, b) => a.seq - b.seq)) {
    if (c.kind !== 'added' && c.kind !== 'status') continue;
    const t = timings.get(c.stepId) ?? { startedAt: null, finishedAt: null };
    if (c.status === 'pending') {
      t.startedAt = null;
      t.finishedAt = null;
    } else if (c.status === 'running') {
      t.startedAt ??= c.at;
      t.finishedAt = null;
    } else {
      // terminal: a step that finished without being seen running started when it finished
      t.startedAt ??= c.at;
      t.finishedAt = c.at;
    }
    timings.set(c.stepId, t);
  }
  return timings;
}

/** Milliseconds a step took (finished) or has been taking (`now`, still running); null if not started. */
export function durationMs(t: Timing | undefined, now: number): number | null {
  if (!t?.startedAt) return null;
  const end = t.finishedAt ? Date.parse(t.finishedAt) : now;
  return Math.max(0, end - Date.parse(t.startedAt));
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1_000);
  if (minutes < 60) return `${minutes} m ${String(seconds).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} m`;
}

/** A wall-clock time as a person reads it: time of day today, date and time otherwise. */
export function formatTime(iso: string | null, now: Date = new Date()): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return d.toDateString() === now.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

/** "5 s ago", "3 min ago": how long since an instant (agents' last ping). */
export function formatAgo(iso: string | null, now: number): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1_000));
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3_600)} h ago`;
}
