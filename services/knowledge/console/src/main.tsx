// The operator console: runs (list, one run as a live tree with its path to the root and a replay
// scrubber) and agents with job queues. Signs in with the same bearer token the APIs take.
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { AgentsView } from './agents.js';
import { createClients, errorMessage, loadConfig, type ConsoleConfig } from './api.js';
import { RunsList, RunView } from './runs.js';
import { clearToken, describeToken, loadToken, saveToken } from './session.js';

type Route = { view: 'runs' } | { view: 'run'; runId: string } | { view: 'agents' };

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'agents') return { view: 'agents' };
  if (parts[0] === 'runs' && parts[1]) return { view: 'run', runId: decodeURIComponent(parts[1]) };
  return { view: 'runs' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function SignIn(props: { onSignIn: (token: string) => Promise<void>; notice: string | null }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onSignIn(value.trim());
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Agent platform console</h1>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Bearer token</label>
        <textarea
          id="token"
          rows={5}
          value={value}
          onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)}
          placeholder="eyJhbGciOi…"
          spellcheck={false}
        />
        <p class="hint">
          The same token the APIs take. Locally: <code>npm run dev-token -- user alice</code>. It is kept for this tab only.
        </p>
        <button type="submit" disabled={busy || value.trim().length === 0}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function App(props: { config: ConsoleConfig }) {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  const clients = useMemo(() => createClients(props.config, () => token), [props.config, token]);
  const identity = token ? describeToken(token) : null;

  const signOut = useCallback((why: string | null) => {
    clearToken();
    setToken(null);
    setNotice(why);
  }, []);
  const onUnauthorized = useCallback(() => signOut('The services refused your token (expired or not valid): sign in again.'), [signOut]);

  if (!token) {
    return (
      <SignIn
        notice={notice}
        onSignIn={async (candidate) => {
          // Checked against knowledge before it is kept: a typo fails here, not on every view.
          const probe = createClients(props.config, () => candidate);
          await probe.knowledge.runs.list.query({ limit: 1 });
          saveToken(candidate);
          setNotice(null);
          setToken(candidate);
        }}
      />
    );
  }

  return (
    <div class="shell">
      <header>
        <span class="brand">Agent platform</span>
        <nav>
          <a href="#/runs" aria-current={route.view !== 'agents' ? 'page' : undefined}>
            Runs
          </a>
          <a href="#/agents" aria-current={route.view === 'agents' ? 'page' : undefined}>
            Agents &amp; queues
          </a>
        </nav>
        <span class="who">
          Signed in as <strong>{identity?.who ?? 'unknown'}</strong>
          <button type="button" class="link" onClick={() => signOut(null)}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {route.view === 'runs' && <RunsList client={clients.knowledge} onUnauthorized={onUnauthorized} />}
        {route.view === 'run' && (
          <RunView key={route.runId} runId={route.runId} client={clients.knowledge} onUnauthorized={onUnauthorized} />
        )}
        {route.view === 'agents' && <AgentsView client={clients.coordination} onUnauthorized={onUnauthorized} />}
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) {
  loadConfig().then(
    (config) => render(<App config={config} />, root),
    (err: unknown) =>
      render(
        <p class="error" role="alert">
          Could not load the console's configuration: {errorMessage(err)}
        </p>,
        root,
      ),
  );
}
