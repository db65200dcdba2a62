/**
 * Requests on the wire, byte by byte (a raw socket, so a body can stall halfway): the deadline
 * counts from arrival, and draining answers a request admitted before it began while refusing
 * new ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { get, metricValue, startTestServer, type TestServer, waitFor } from './support.js';

/** A connection to the server that writes raw HTTP/1.1 and collects everything it reads. */
class RawConnection {
  private received = '';
  private readonly socket: net.Socket;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(server: TestServer): Promise<RawConnection> {
    const { hostname, port } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawConnection(socket);
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Responses received so far: status and body (bodies have Content-Length or are chunked). */
  responses(): { status: number; body: string }[] {
    const out: { status: number; body: string }[] = [];
    let rest = this.received;
    for (;;) {
      const head = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(rest);
      if (!head) return out;
      rest = rest.slice(head[0].length);
      const length = /content-length: (\d+)/i.exec(head[2]!);
      let body = '';
      if (length) {
        if (Buffer.byteLength(rest) < Number(length[1])) return out;
        body = Buffer.from(rest).subarray(0, Number(length[1])).toString('utf8');
        rest = rest.slice(body.length);
      } else if (/transfer-encoding: chunked/i.test(head[2]!)) {
        const end = rest.indexOf('\r\n0\r\n\r\n');
        if (end < 0) return out;
        body = rest.slice(0, end).replace(/(^|\r\n)[0-9a-f]+\r\n/gi, '');
        rest = rest.slice(end + 7);
      }
      out.push({ status: Number(head[1]), body });
    }
  }

  async waitForResponses(count: number, timeoutMs = 10_000): Promise<{ status: number; body: string }[]> {
    await waitFor(() => this.responses().length >= count, timeoutMs);
    return this.responses();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function postHead(path: string, body: string, id: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\n\r\n`;
}

test('the deadline counts from arrival: a body still uploading when it passes gets 503', async () => {
  const server = await startTestServer({ limits: { requestTimeoutMs: 300 } });
  const connection = await RawConnection.open(server);
  try {
    const body = JSON.stringify({ query: 'q', documents: ['a', 'b'] });
    const started = performance.now();
    connection.write(postHead('/v1/rerank', body, 'slow-upload') + body.slice(0, 10));
    // The body never completes: any answer at all means the deadline ran from arrival.
    const [response] = await connection.waitForResponses(1, 10_000);
    const ms = performance.now() - started;
    assert.equal(response!.status, 503, response!.body);
    const error = JSON.parse(response!.body) as { error_type: string; error: string };
    assert.equal(error.error_type, 'timeout');
    assert.match(error.error, /deadline of 0\.3 s \(--request-timeout\)/);
    assert.ok(ms >= 250, `answered after ${ms.toFixed(0)} ms, before the deadline`);
    await waitFor(() => server.logs.some((l) => l.id === 'slow-upload'));
    assert.equal(server.logs.find((l) => l.id === 'slow-upload')!.status, 503);
  } finally {
    connection.destroy();
    await server.close();
  }
});

test('draining: a request still uploading is answered; a new request gets 503 and /health says draining', async () => {
  const server = await startTestServer();
  const connection = await RawConnection.open(server);
  try {
    const body = JSON.stringify({ query: 'what is the capital of france?', documents: ['Paris is the capital of France.', 'Berlin is in Germany.', 'a'] });
    connection.write(postHead('/v1/rerank', body, 'uploading') + body.slice(0, 20));
    // Admitted on arrival, before its body is complete.
    await waitFor(async () => metricValue((await get(`${server.url}/metrics`)).text, 'turborank_requests_in_flight') === 1);
    const closing = server.close();
    await waitFor(() => server.logs.some((l) => l.event === 'draining'));
    // The rest of the body, then (pipelined on the same connection) a new request and a health check.
    const late = JSON.stringify({ query: 'q', documents: ['d'] });
    connection.write(body.slice(20) + postHead('/v1/rerank', late, 'too-late') + late + 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const [uploaded, refused, health] = await connection.waitForResponses(3);
    assert.equal(uploaded!.status, 200, uploaded!.body);
    assert.equal((JSON.parse(uploaded!.body) as { results: unknown[] }).results.length, 3);
    assert.equal(refused!.status, 503, refused!.body);
    assert.match((JSON.parse(refused!.body) as { error: string }).error, /the server is shutting down/);
    assert.equal(health!.status, 503);
    assert.deepEqual(JSON.parse(health!.body), { status: 'draining' });
    await closing;
    await connection.closed;
    assert.equal(server.logs.at(-1)!.event, 'stopped');
  } finally {
    connection.destroy();
    await server.close();
  }
});

