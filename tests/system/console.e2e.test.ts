import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '@platform/testkit';
import { clientsFor, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';
import { buildConsole } from '../../services/knowledge/console/build.js';
import { recordedIds } from '../../services/knowledge/src/domain/recorded-runs.js';
import { launchChromium, type TestBrowser } from '../lib/browser.js';

// The operator console in a real browser (Debian's Chromium through playwright-core) against the
// whole system: what a person signed in as alice sees. Her runs are listed and bob's are not; a run
// opens as a tree with each step's status; a status changed through the API shows without a reload;
// a chosen step's path to the root is highlighted; the replay scrubber shows an earlier state; the
// agents view shows a registered agent with its current job and a queued job in its queue.
// Screenshots of each view go to .data/screenshots (CONSOLE_SCREENSHOTS_DIR=docs/screenshots, as
// `npm run docs:screenshots` sets, refreshes the README's).
const ports = { knowledge: 4321, operations: 4322, coordination: 4323 };
const consoleUrl = `http://127.0.0.1:${ports.knowledge}/console/`;
const shots = process.env['CONSOLE_SCREENSHOTS_DIR']
  ? join(ROOT, process.env['CONSOLE_SCREENSHOTS_DIR'])
  : join(ROOT, '.data', 'screenshots');
/** How soon a change made through an API must be on screen (the run view reads every 500 ms). */
const LIVE_MS = 2_000;
/** How soon a saga or job started through an API must be listed (recorded from its events, then the list's next read). */
const APPEAR_MS = 5_000;

const tag = Date.now().toString(36);
const alice = { kind: 'user' as const, id: `console-alice-${tag}`, roles: [] };
const bob = { kind: 'user' as const, id: `console-bob-${tag}`, roles: [] };
let system: TestSystem;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  // knowledge runs from source here: the page it serves is the bundle built now.
  await buildConsole();
  await mkdir(shots, { recursive: true });
  system = await startTestSystem({ ports, agents: 0, env: { LOG_LEVEL: 'info' } });
  browser = await launchChromium({ width: 1280, height: 800 });
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

const stepRow = (name: string) => page.locator(`li[role="treeitem"][data-step="${name}"] > .step-row`);
const shot = (name: string) => page.screenshot({ path: join(shots, name), fullPage: false });

it(
  "signs in with a token, lists only the caller's runs, shows a run live, its path to the root and its history, and agents with queues",
  { timeout: 180_000 },
  async () => {
    const a = clientsFor(await tokenFor(alice, 3_600), ports);
    const b = clientsFor(await tokenFor(bob, 3_600), ports);

    // --- fixtures through the APIs: alice's run with nested steps, an older finished run, and bob's run ---
    const older = await a.knowledge.runs.create.mutate({ name: `nightly-report-${tag}`, sessionId: 'console', root: { name: 'report' } });
    await a.knowledge.runs.updateStep.mutate({ stepId: older.root.id, status: 'succeeded', output: { pages: 12 } });
    const { run, root } = await a.knowledge.runs.create.mutate({ name: `deploy-${tag}`, sessionId: 'console', root: { name: 'deploy' } });
    await a.knowledge.runs.updateStep.mutate({ stepId: root.id, status: 'running' });
    const ids = { build: randomUUID(), compile: randomUUID(), test: randomUUID() };
    await a.knowledge.runs.addSteps.mutate({
      runId: run.id,
      steps: [
        { id: ids.build, parentId: root.id, name: 'build', status: 'running' },
        { id: ids.compile, parentId: ids.build, name: 'compile', status: 'pending' },
        { id: ids.test, parentId: root.id, name: 'test', status: 'pending' },
      ],
    });
    const seqBeforeLive = (await a.knowledge.runs.tree.query({ runId: run.id })).run.seq;
    const bobs = await b.knowledge.runs.create.mutate({ name: `bob-secret-${tag}`, root: {} });

    // --- sign in as a person does: the form, with the token the APIs take ---
    await page.goto(consoleUrl);
    await expect.poll(() => page.getByLabel('Bearer token').isVisible()).toBe(true);
    await page.getByLabel('Bearer token').fill(await tokenFor(alice, 3_600));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as user:${alice.id}`).waitFor({ timeout: 10_000 });

    // --- the runs list: alice's runs with their status, never bob's ---
    const runLink = page.getByRole('link', { name: `deploy-${tag}` });
    await runLink.waitFor({ timeout: 10_000 });
    await expect
      .poll(() =>
        page
          .getByRole('table', { name: 'Runs' })
          .getByRole('row', { name: new RegExp(`nightly-report-${tag}`) })
          .textContent(),
      )
      .toContain('succeeded');
    expect(
      await page
        .getByRole('table', { name: 'Runs' })
        .getByRole('row', { name: new RegExp(`deploy-${tag}`) })
        .textContent(),
    ).toContain('running');
    expect(await page.getByText(`bob-secret-${tag}`).count()).toBe(0);
    // A run started while the list is open appears without a reload.
    const appearStarted = Date.now();
    await a.knowledge.runs.create.mutate({ name: `hotfix-${tag}`, sessionId: 'console', root: { name: 'hotfix' } });
    await page.getByRole('link', { name: `hotfix-${tag}` }).waitFor({ timeout: LIVE_MS });
    const appearMs = Date.now() - appearStarted;

    // --- one run as a tree: every step with its status ---
    await runLink.click();
    await page.getByRole('tree', { name: `Steps of deploy-${tag}` }).waitFor();
    await expect.poll(() => stepRow('deploy').textContent()).toContain('running');
    expect(await stepRow('build').textContent()).toContain('running');
    expect(await stepRow('compile').textContent()).toContain('pending');
    expect(await stepRow('test').textContent()).toContain('pending');
    // nesting as recorded: compile under build, build and test under deploy
    expect(await page.locator('li[data-step="build"] li[data-step="compile"]').count()).toBe(1);
    expect(
      await page.locator('li[data-step="deploy"] > ul > li').evaluateAll((els) => els.map((e) => e.getAttribute('data-step'))),
    ).toEqual(['build', 'test']);

    // --- live: a status changed through the API shows without a reload, pushed (runs.onChange) ---
    await page.locator('.updated').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    const changed = Date.now();
    await a.knowledge.runs.updateStep.mutate({ stepId: ids.compile, status: 'running' });
    await expect.poll(() => stepRow('compile').textContent(), { timeout: LIVE_MS, interval: 50 }).toContain('running');
    const liveMs = Date.now() - changed;
    await a.knowledge.runs.updateStep.mutate({ stepId: ids.compile, status: 'succeeded', output: { artifacts: 3, image: 'deploy:1.2.3' } });
    await expect.poll(() => stepRow('compile').textContent(), { timeout: LIVE_MS, interval: 50 }).toContain('succeeded');
    // a finished step shows when it finished and how long it took
    expect(await stepRow('compile').locator('.cell.duration').textContent()).toMatch(/\d+(\.\d)? (ms|s)$/);
    await stepRow('compile').getByRole('button', { name: 'output' }).click();
    expect(await page.getByLabel('Output of compile').textContent()).toContain('"image": "deploy:1.2.3"');

    // --- the path from a chosen step to the root is highlighted ---
    await stepRow('compile').getByRole('button', { name: 'compile' }).click();
    await expect.poll(() => page.getByRole('navigation', { name: 'Path to root' }).textContent()).toContain('deploy › build › compile');
    const onPath = await page.locator('li.on-path').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    expect(onPath.sort()).toEqual(['build', 'compile', 'deploy']);
    // what a person sees: the path's rows are painted differently from the others
    const background = (name: string) =>
      stepRow(name).evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor,
      );
    expect(await background('build')).not.toBe(await background('test'));
    expect(await background('compile')).toBe(await background('deploy'));
    await shot('run-tree.png');

    // --- replay: the scrubber shows the run as it was before compile started ---
    await page.getByRole('slider', { name: 'Replay' }).fill(String(seqBeforeLive));
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Showing the run as it was' }).textContent())
      .toContain(`after change ${seqBeforeLive}`);
    await expect.poll(() => stepRow('compile').textContent()).toContain('pending');
    expect(await stepRow('build').textContent()).toContain('running');
    await page.getByRole('slider', { name: 'Replay' }).fill('1');
    await expect.poll(() => page.locator('li[role="treeitem"]').count()).toBe(1); // only the root existed at change 1
    expect(await stepRow('deploy').textContent()).toContain('pending');
    await page.getByRole('button', { name: 'Back to live' }).click();
    await expect.poll(() => stepRow('compile').textContent()).toContain('succeeded');

    // bob's run: not found for alice, even by its address
    await page.goto(`${consoleUrl}#/runs/${bobs.run.id}`);
    await page.getByText(`No run ${bobs.run.id} that you may see.`).waitFor({ timeout: 10_000 });

    // --- the platform's own work: a saga and a job appear as runs while the list is open, the job's run advances live ---
    const agentName = `console-agent-${tag}`;
    const agentClient = clientsFor(await tokenFor({ kind: 'agent', id: agentName, roles: ['agent'] }, 3_600), ports).coordination;
    await agentClient.agents.register.mutate({ name: agentName, version: '1.4.0', capabilities: ['gap_analysis'] });
    /** The agent takes `jobId`; leftovers of earlier runs on a long-lived NATS come first and are finished. */
    const claimMine = async (jobId: string) => {
      for (let i = 0; i < 100; i++) {
        const { job } = await agentClient.jobs.claim.mutate({ capabilities: ['gap_analysis'], waitMs: 2_000 });
        if (job?.jobId === jobId) return job;
        if (job) await agentClient.jobs.complete.mutate({ jobId: job.jobId });
      }
      throw new Error(`the agent never got job ${jobId}`);
    };

    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    const runsTable = page.getByRole('table', { name: 'Runs' });
    await runsTable.waitFor();
    const sagaStarted = Date.now();
    const saga = await a.operations.sagas.start.mutate({ sagaType: 'team_onboarding', payload: { teamName: `console-${tag}` } });
    const sagaLink = runsTable.locator(`a[href="#/runs/${recordedIds.sagaRun(saga.id)}"]`);
    await sagaLink.waitFor({ timeout: APPEAR_MS });
    const sagaMs = Date.now() - sagaStarted;
    expect(await sagaLink.textContent()).toBe('team_onboarding');
    await expect
      .poll(() => runsTable.getByRole('row', { name: /team_onboarding/ }).textContent(), { timeout: 30_000 })
      .toContain('succeeded');

    const jobStarted = Date.now();
    const job = await a.coordination.jobs.trigger.mutate({
      jobType: 'gap_analysis',
      params: { depth: 2 },
      idempotencyKey: `console-job-${tag}`,
    });
    const jobLink = runsTable.locator(`a[href="#/runs/${recordedIds.jobRun(job.jobId)}"]`);
    await jobLink.waitFor({ timeout: APPEAR_MS });
    const jobMs = Date.now() - jobStarted;
    expect(await jobLink.textContent()).toBe('gap_analysis job');
    await shot('runs.png');
    await jobLink.click();
    await expect.poll(() => stepRow('gap_analysis job').textContent()).toContain('pending');
    // pushed, not polled: the page says so, and a pushed view polls only every 10 s
    await page.locator('.updated').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    const claimed = await claimMine(job.jobId);
    const claimedAt = Date.now();
    await expect.poll(() => stepRow('gap_analysis job').textContent(), { timeout: LIVE_MS, interval: 50 }).toContain('running');
    const jobLiveMs = Date.now() - claimedAt;
    await agentClient.jobs.complete.mutate({ jobId: claimed.jobId, result: { gaps: 2 } });
    await expect.poll(() => stepRow('gap_analysis job').textContent(), { timeout: LIVE_MS, interval: 50 }).toContain('succeeded');

    // --- agents and queues: the agent with its current job, a queued job in its queue ---
    const next = await a.coordination.jobs.trigger.mutate({
      jobType: 'gap_analysis',
      params: { depth: 3 },
      idempotencyKey: `console-held-${tag}`,
    });
    const held = await claimMine(next.jobId);
    await agentClient.agents.ping.mutate({ name: agentName, currentJobId: held.jobId });
    // nobody takes proposals: this one waits in its queue
    const queued = await a.coordination.jobs.trigger.mutate({
      jobType: 'proposal',
      priority: 'high',
      params: { topic: 'console' },
      idempotencyKey: `console-queued-${tag}`,
    });

    await page.getByRole('link', { name: 'Agents & queues' }).click();
    const agentRow = page.getByRole('table', { name: 'Agents' }).getByRole('row', { name: new RegExp(agentName) });
    await agentRow.waitFor({ timeout: 10_000 });
    await expect.poll(() => agentRow.textContent()).toContain('online');
    // the registry's changes are pushed from coordination, another origin (CORS, token in connectionParams)
    await page.locator('.updated').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
    expect(await agentRow.textContent()).toContain(held.jobId.slice(0, 8));
    const queueRow = page.getByRole('table', { name: 'Job queues' }).getByRole('row', { name: /^proposal high/ });
    await expect.poll(async () => Number(await queueRow.locator('td').nth(2).textContent())).toBeGreaterThanOrEqual(1);
    const jobRow = page.getByRole('table', { name: 'Your recent jobs' }).getByRole('row', { name: new RegExp(queued.jobId.slice(0, 8)) });
    await expect.poll(() => jobRow.textContent()).toContain('queued');
    await shot('agents.png');

    // --- bob, signed in through the address once: the token leaves the address bar, he sees his run and none of alice's ---
    const bobPage = await browser.context.newPage();
    await bobPage.goto(`${consoleUrl}?token=${encodeURIComponent(await tokenFor(bob, 3_600))}#/runs`);
    await bobPage.getByText(`Signed in as user:${bob.id}`).waitFor({ timeout: 10_000 });
    expect(bobPage.url()).not.toContain('token=');
    await bobPage.getByRole('link', { name: `bob-secret-${tag}` }).waitFor({ timeout: 10_000 });
    expect(await bobPage.getByText(new RegExp(`(deploy|hotfix|nightly-report)-${tag}`)).count()).toBe(0);
    await bobPage.close();

    console.log(
      `console e2e: listed ${appearMs} ms after runs.create, a saga's run ${sagaMs} ms after sagas.start, a job's run ${jobMs} ms after jobs.trigger; ` +
        `on screen ${liveMs} ms after runs.updateStep, the job's run running ${jobLiveMs} ms after the claim`,
    );
  },
);
