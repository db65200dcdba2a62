/**
 * Request bodies: read under a byte limit, decoded as strict UTF-8, parsed as JSON. Each
 * failure is a 4xx saying what was wrong; none of them reaches the queue.
 */
import { ApiError, ClientGoneError } from './errors.js';

/**
 * The parsed JSON body. Any Content-Type is accepted, because `curl -d` sends
 * application/x-www-form-urlencoded and scripts written for other rerank servers rely on it.
 * Aborting `signal` (the request's deadline) stops a slow upload: the read rejects with its reason.
 */
export async function readJsonBody(request: Request, maxBytes: number, signal?: AbortSignal): Promise<unknown> {
  const bytes = await readBodyBytes(request, maxBytes, signal);
  if (bytes.length === 0) throw new ApiError(400, 'invalid_json', 'the request body is empty: send a JSON object', { allowed: 'a JSON object' });
  return parseJson(decodeUtf8(bytes));
}

async function readBodyBytes(request: Request, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes, `${declared} bytes`);
  if (!request.body) return new Uint8Array(0);
  signal?.throwIfAborted();
  const reader = request.body.getReader();
  // Rejects when `signal` aborts, so a read waiting on a stalled upload ends then.
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed by the race below; never an unhandled rejection
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const read = reader.read().catch(() => {
        throw request.signal.aborted ? new ClientGoneError() : new ApiError(400, 'invalid_json', 'the request body could not be read to its end');
      });
      const { done, value } = await (signal ? Promise.race([read, aborted]) : read);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes, `more than ${maxBytes} bytes`);
      chunks.push(value);
    }
  } catch (err) {
    // Stop reading: the adapter drains or drops the rest after the response is sent.
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(maxBytes: number, got: string): ApiError {
  return new ApiError(413, 'payload_too_large', `the request body is ${got}; this server accepts at most ${maxBytes} bytes (--max-body-bytes)`, {
    allowed: `at most ${maxBytes} bytes`,
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const where = at < bytes.length ? ` (first bad byte at offset ${at})` : '';
    throw new ApiError(400, 'invalid_json', `the request body is not valid UTF-8${where}: JSON must be sent as UTF-8`, {
      allowed: 'UTF-8 encoded JSON',
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${(err as Error).message}`, { allowed: 'a JSON object' });
  }
}

/**
 * Offset of the first byte that breaks UTF-8's lead/continuation structure, to point the
 * client at it (a Latin-1 é, say). Overlong forms and surrogates pass this scan; the caller
 * then names no offset.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return i;
}
