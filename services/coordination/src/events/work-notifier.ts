import { JobPriority, JobType } from '@platform/contracts';
import type { NatsConnection, Subscription } from '@platform/kit';
import { jobConsumer } from '@platform/contracts';

/** Core-NATS subject (not captured by any stream) telling every replica that a queue has work again. */
const HINT_PREFIX = '_coordination.work';

interface Waiter<Offer> {
  capabilities: ReadonlySet<JobType>;
  /** Ends the wait with nothing handed over (work arrived in a queue, time is up, or the claim aborted). */
  wake: () => void;
  /** Ends the wait with work handed over directly (see takeWaiter); absent for waiters that only pull. */
  accept?: ((offer: Offer) => void) | undefined;
  /** Who waits, for whoever hands work over. */
  claimant?: unknown;
}

/** A waiting claim that work can be handed to directly: it stops waiting once taken. */
export interface TakenWaiter<Offer, Claimant> {
  claimant: Claimant;
  /** Gives the waiter its work: its wait resolves with `offer`. */
  accept(offer: Offer): void;
  /** Nothing to give after all: the waiter looks at the queues again. */
  wake(): void;
}

/**
 * Lets waiting claims sleep instead of polling JetStream. Every replica subscribes (core NATS) to
 * the work-queue subjects, so it sees each published work item, and wakes one waiting claim that
 * can take it; the claim then pulls from JetStream, which hands the item to exactly one puller
 * across replicas. It also remembers which queues were found empty since their last item, so a
 * claim skips pulls that would answer "no messages".
 *
 * Notifications are hints (core NATS may drop one): hints are reset every `resetMs`, so a claim
 * looks again at least that often.
 */
export class WorkNotifier<Offer = never, Claimant = never> {
  private subs: Subscription[] = [];
  private waiters: Array<Waiter<Offer>> = [];
  private readonly version = new Map<string, number>();
  private readonly emptyAt = new Map<string, number>();
  private timers = new Set<NodeJS.Timeout>();
  private resetTimer: NodeJS.Timeout | undefined;
  private nc: NatsConnection | undefined;
  /** Bumped on every notification: a claim that saw it change during a sweep sweeps again. */
  generation = 0;

  constructor(private readonly resetMs: number) {}

  start(nc: NatsConnection): this {
    const onMessage = (subject: string) => {
      const [type, priority] = subject.split('.').slice(2);
      const t = JobType.safeParse(type);
      const p = JobPriority.safeParse(priority);
      if (t.success && p.success) this.notify(t.data, p.data);
    };
    this.nc = nc;
    this.subs = [
      nc.subscribe('jobs.queue.>', { callback: (_err, msg) => onMessage(msg.subject) }),
      nc.subscribe(`${HINT_PREFIX}.>`, { callback: (_err, msg) => onMessage(msg.subject) }),
    ];
    this.resetTimer = setInterval(() => {
      this.emptyAt.clear();
      this.generation++;
      this.wakeAll();
    }, this.resetMs);
    this.resetTimer.unref();
    return this;
  }

  /** A queue received an item: it may have work, and one waiter that can take it wakes up. */
  notify(type: JobType, priority: JobPriority): void {
    const queue = jobConsumer(type, priority);
    this.version.set(queue, (this.version.get(queue) ?? 0) + 1);
    this.generation++;
    const i = this.waiters.findIndex((w) => w.capabilities.has(type));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.wake();
  }

  /**
   * A retry whose item was put back with a delay: tell every replica when it is due (no new
   * publish announces it).
   */
  announceLater(type: JobType, priority: JobPriority, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.nc?.publish(`${HINT_PREFIX}.${type}.${priority}`);
    }, delayMs + 5);
    timer.unref();
    this.timers.add(timer);
  }

  versionOf(queue: string): number {
    return this.version.get(queue) ?? 0;
  }

  mayHaveWork(queue: string): boolean {
    const at = this.emptyAt.get(queue);
    return at === undefined || at !== this.versionOf(queue);
  }

  /** The queue answered "no messages" for a pull started at `versionAtPull` (a newer item keeps it hot). */
  markEmpty(queue: string, versionAtPull: number): void {
    if (this.versionOf(queue) === versionAtPull) this.emptyAt.set(queue, versionAtPull);
  }

  /**
   * Sleeps until work for one of `capabilities` arrives, `ms` pass, or `signal` aborts. With
   * `claimant`, work may also be handed over directly (takeWaiter): the wait then resolves with it.
   */
  wait(capabilities: readonly JobType[], ms: number, signal?: AbortSignal, claimant?: Claimant): Promise<Offer | null> {
    return new Promise((resolve) => {
      const finish = (offer: Offer | null) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(offer);
      };
      const done = () => finish(null);
      const waiter: Waiter<Offer> = {
        capabilities: new Set(capabilities),
        wake: done,
        ...(claimant !== undefined ? { claimant, accept: (offer: Offer) => finish(offer) } : {}),
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Takes the longest-waiting claim that can run `type` and accepts hand-overs, out of the queue
   * of waiters (nothing else wakes it): the caller then either `accept`s it with work or `wake`s it.
   */
  takeWaiter(type: JobType): TakenWaiter<Offer, Claimant> | null {
    const i = this.waiters.findIndex((w) => w.accept && w.capabilities.has(type));
    if (i < 0) return null;
    const w = this.waiters.splice(i, 1)[0]!;
    return { claimant: w.claimant as Claimant, accept: w.accept!, wake: w.wake };
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w.wake();
  }

  get waiting(): number {
    return this.waiters.length;
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    if (this.resetTimer) clearInterval(this.resetTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wakeAll();
  }
}
