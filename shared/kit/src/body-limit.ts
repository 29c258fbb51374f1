import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export type BodyRead =
  | { kind: 'ok'; body: Buffer }
  /** Stopped at the first chunk past the limit; `received` counts that chunk too. The stream is paused. */
  | { kind: 'too-large'; received: number }
  /** The client went away before the body ended. */
  | { kind: 'aborted' };

/** The declared Content-Length, or undefined when absent (chunked) or not a plain number. */
export function declaredLength(req: Pick<IncomingMessage, 'headers'>): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Reads a body into memory only while it stays within `maxBytes`: bytes are counted as they
 * arrive, and at the first chunk past the limit reading stops (listeners off, stream paused, so
 * the socket is not drained either). Memory held is at most `maxBytes` plus one chunk.
 */
export function readBodyWithin(stream: Readable, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: BodyRead) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onAbort);
      stream.off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += buf.length;
      if (received > maxBytes) {
        stream.pause();
        finish({ kind: 'too-large', received });
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => finish({ kind: 'ok', body: Buffer.concat(chunks, received) });
    // 'close' before 'end' (or 'error'): the client disconnected mid-body.
    const onAbort = () => finish({ kind: 'aborted' });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onAbort);
    stream.on('close', onAbort);
  });
}

/**
 * Number of calls in a tRPC request: a batch (`?batch=1`) names its procedures comma-separated in
 * the path (`/trpc/a.b,c.d`); anything else is one call.
 */
export function trpcCallCount(url: string, basePath = '/trpc/'): number {
  const [path = '', query = ''] = url.split('?', 2);
  if (new URLSearchParams(query).get('batch') !== '1') return 1;
  const procedures = path.slice(basePath.length);
  return procedures === '' ? 0 : procedures.split(',').length;
}

/**
 * True when JSON text nests objects/arrays deeper than `max`. A single pass over the text that
 * skips string contents (escapes included); it neither parses nor allocates, so it can run before
 * the adapters parse. Malformed text is left for the parser to refuse.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}
