import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/*
 * Two patches to nats.js 2.x internals on the hot path of every request, found by profiling
 * coordination during a dispatch burst (services/coordination/README.md). Neither changes what goes
 * over the wire or what a caller sees. Both are installed once per process, for every connection,
 * and only on the nats.js minor they were written against and tested with (PATCHED_MINOR): any
 * other version is left as it is, so an upgrade can cost speed but never correctness.
 */

/** The nats.js release line these patches reproduce the internals of (package-lock pins 2.29.x). */
const PATCHED_MINOR = '2.29.';

interface Transport {
  socket?: Socket;
  send(frame: Uint8Array): void;
}

interface RequestOne {
  timer?: { cancel(): void };
  ctx?: Error;
  deferred: { resolve(msg: unknown): void; reject(err: unknown): void };
  mux: { cancel(request: RequestOne): void };
  resolver(err: (Error & { stack?: string }) | null, msg: unknown): void;
}

let installed = false;

export function patchNatsHotPath(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const version = (() => {
    try {
      return (require('nats/package.json') as { version?: string }).version ?? '';
    } catch {
      return '';
    }
  })();
  if (!version.startsWith(PATCHED_MINOR)) return;
  const load = <T>(path: string, name: string): T | undefined => {
    try {
      return (require(path) as Record<string, { prototype: T } | undefined>)[name]?.prototype;
    } catch {
      return undefined;
    }
  };
  batchSocketWrites(load<Transport>('nats/lib/src/node_transport.js', 'NodeTransport'));
  settleWithoutCancelError(load<RequestOne>('nats/lib/nats-base-client/request.js', 'RequestOne'));
}

/**
 * One socket write per event-loop turn instead of one per microtask. nats.js queues a flush in a
 * microtask whenever a command lands in an empty outbound buffer, so a process whose requests
 * start from many separate continuations makes one `write` syscall per request; on this machine a
 * socket write costs tens of µs of CPU, 23 % of coordination's busy CPU in a burst. Corking the
 * socket at the first write of a turn and uncorking it in `setImmediate` sends what the turn
 * produced in one `writev`, in order; the wait is at most the rest of the turn.
 */
function batchSocketWrites(proto: Transport | undefined): void {
  if (!proto || typeof proto.send !== 'function') return;
  const send = proto.send;
  proto.send = function (this: Transport, frame: Uint8Array) {
    const socket = this.socket;
    if (socket && socket.writableCorked === 0 && !socket.destroyed) {
      socket.cork();
      setImmediate(() => socket.uncork());
    }
    send.call(this, frame);
  };
}

/**
 * A request answered: settle it and unregister it, without `cancel()`. nats.js calls `cancel()`
 * after settling, which builds a `Cancelled` NatsError (a stack capture) to reject the promise it
 * has just settled, a no-op: 2–4 % of coordination's CPU under load (nats-io/nats.deno#614).
 */
function settleWithoutCancelError(proto: RequestOne | undefined): void {
  if (!proto || typeof proto.resolver !== 'function') return;
  proto.resolver = function (this: RequestOne, err, msg) {
    this.timer?.cancel();
    if (err) {
      if (this.ctx) err.stack += `\n\n${this.ctx.stack}`;
      this.deferred.reject(err);
    } else this.deferred.resolve(msg);
    this.mux.cancel(this);
  };
}
