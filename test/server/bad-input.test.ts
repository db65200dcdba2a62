/** Bad input gets a 4xx naming the field and what is allowed, and the server keeps serving. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { assertError, get, longDocuments, metricValue, post, startTestServer, type TestServer } from './support.js';

const MAX_DOCUMENTS = 20;
const MAX_BODY = 1024 * 1024;
const MAX_LENGTH = 32;

describe('bad input', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ maxLength: MAX_LENGTH, limits: { maxDocuments: MAX_DOCUMENTS, maxBodyBytes: MAX_BODY } });
    url = `${server.url}/v1/rerank`;
  });
  after(async () => {
    await server?.close();
  });

  test('malformed JSON, an empty body and a raw NUL byte get 400 invalid_json', async () => {
    assertError(await post(url, '{"query": "q", "documents": [', { raw: true }), 400, /not valid JSON/);
    assertError(await post(url, '', { raw: true }), 400, /body is empty/);
    assertError(await post(url, '{"query": "a\u0000b", "documents": ["d"]}', { raw: true }), 400, /not valid JSON/);
  });

  test('a body that is not UTF-8 gets 400 naming the first bad byte', async () => {
    const latin1 = Buffer.from('{"query": "caf\xe9", "documents": ["d"]}', 'latin1');
    const e = assertError(await post(url, latin1, { raw: true }), 400, /not valid UTF-8 \(first bad byte at offset 14\)/);
    assert.equal(e.error_type, 'invalid_json');
  });

  test('a body that is not an object, and fields of the wrong type, name the field and what it allows', async () => {
    const cases: [unknown, string, RegExp][] = [
      [[1, 2], 'body', /the request body must be a JSON object/],
      ['just a string', 'body', /the request body must be a JSON object/],
      [{ documents: ['d'] }, 'query', /query: is required: a non-empty string/],
      [{ query: 42, documents: ['d'] }, 'query', /query: must be a non-empty string/],
      [{ query: '', documents: ['d'] }, 'query', /query: must be a non-empty string/],
      [{ query: '   ', documents: ['d'] }, 'query', /query: must be a non-empty string, not only whitespace/],
      [{ query: '\t\n \u00a0', documents: ['d'] }, 'query', /query: must be a non-empty string, not only whitespace/],
      [{ query: 'q', documents: 'd' }, 'documents', /documents: must be an array of documents/],
      [{ query: 'q', documents: [] }, 'documents', /documents: must hold at least one document \(1 to 20\)/],
      [{ query: 'q', documents: ['a', 'b', 7] }, 'documents[2]', /documents\[2\]: must be a string or an object with a string "text"/],
      [{ query: 'q', documents: ['a', { title: 'no text' }] }, 'documents[1].text', /documents\[1\]\.text: is missing/],
      [{ query: 'q', documents: [{ text: 'a', nested: [[['deep']]] }] }, 'documents[0]', /documents\[0\]: must be a string or an object with a string "text" \(other fields: strings, numbers/],
      [{ query: 'q', documents: ['a'], return_documents: 'yes' }, 'return_documents', /return_documents: must be true or false/],
      [{ query: 'q', documents: ['a'], model: 5 }, 'model', /model: must be a string naming a model/],
      [{ query: 'q', documents: ['a', 'b\u0000c'] }, 'documents[1]', /documents\[1\]: contains a NUL character \(U\+0000\) at position 1/],
      [{ query: 'q\u0000', documents: ['a'] }, 'query', /query: contains a NUL character/],
      // JSON.stringify writes a lone surrogate as the escape "\ud800", valid JSON but not Unicode.
      [{ query: 'q', documents: ['a\ud800b'] }, 'documents[0]', /documents\[0\]: contains a lone UTF-16 surrogate \(\\uD800\) at position 1: not valid Unicode/],
      [{ query: '\udc00q', documents: ['a'] }, 'query', /query: contains a lone UTF-16 surrogate \(\\uDC00\) at position 0/],
      [{ query: 'q', documents: ['a', { text: 'cut emoji \ud83d' }] }, 'documents[1].text', /documents\[1\]\.text: contains a lone UTF-16 surrogate/],
    ];
    for (const [body, field, pattern] of cases) {
      const e = assertError(await post(url, body), 422, pattern);
      assert.equal(e.field, field, JSON.stringify(body));
      assert.equal(e.error_type, 'validation');
    }
  });

  test('a lone surrogate sent as raw JSON is refused too; a proper surrogate pair and UTF-8 emoji are scored', async () => {
    const e = assertError(await post(url, '{"query": "q", "documents": ["ok", "half \\ud83d emoji"]}', { raw: true }), 422, /lone UTF-16 surrogate \(\\uD83D\) at position 5/);
    assert.equal(e.field, 'documents[1]');
    const escaped = await post(url, '{"query": "q", "documents": ["pair \\ud83d\\ude00", "utf-8 😀"]}', { raw: true });
    assert.equal(escaped.status, 200, escaped.text);
  });

  test('/v2/rerank (Cohere) and /rerank (TEI): wrong types, NUL and lone surrogates name the field', async () => {
    const v2: [unknown, string, RegExp][] = [
      [{ query: 42, documents: ['d'] }, 'query', /query: must be a non-empty string/],
      [{ query: '  ', documents: ['d'] }, 'query', /query: must be a non-empty string, not only whitespace/],
      [{ query: 'q', documents: 'd' }, 'documents', /documents: must be an array of documents/],
      [{ query: 'q', documents: [null] }, 'documents[0]', /documents\[0\]: must be a string or an object with a string "text"/],
      [{ query: 'q', documents: ['d'], max_tokens_per_doc: '5' }, 'max_tokens_per_doc', /max_tokens_per_doc: must be an integer ≥ 1/],
      [{ query: 'q', documents: ['d'], max_tokens_per_doc: 0 }, 'max_tokens_per_doc', /max_tokens_per_doc: must be an integer ≥ 1/],
      [{ query: 'q', documents: ['d'], top_n: true }, 'top_n', /top_n: must be an integer ≥ 1/],
      [{ query: 'q', documents: ['d'], model: ['tiny'] }, 'model', /model: must be a string naming a model/],
      [{ query: 'q', documents: ['d', 'e\u0000'] }, 'documents[1]', /documents\[1\]: contains a NUL character \(U\+0000\) at position 1/],
      [{ query: 'q\u0000q', documents: ['d'] }, 'query', /query: contains a NUL character/],
      [{ query: 'q', documents: [{ text: 'x\udfff' }] }, 'documents[0].text', /documents\[0\]\.text: contains a lone UTF-16 surrogate/],
    ];
    const tei: [unknown, string, RegExp][] = [
      [{ texts: ['a'] }, 'query', /query: is required: a non-empty string/],
      [{ query: null, texts: ['a'] }, 'query', /query: must be a non-empty string/],
      [{ query: ' ', texts: ['a'] }, 'query', /query: must be a non-empty string, not only whitespace/],
      [{ query: 'q', texts: 'a' }, 'texts', /texts: must be an array of strings/],
      [{ query: 'q', texts: ['a', 1] }, 'texts[1]', /texts\[1\]: must be a string/],
      [{ query: 'q', texts: [{ text: 'a' }] }, 'texts[0]', /texts\[0\]: must be a string/],
      [{ query: 'q', texts: ['a'], raw_scores: 'yes' }, 'raw_scores', /raw_scores: must be true or false/],
      [{ query: 'q', texts: ['a'], return_text: 1 }, 'return_text', /return_text: must be true or false/],
      [{ query: 'q', texts: ['a'], truncate: 'no' }, 'truncate', /truncate: must be true or false/],
      [{ query: 'q', texts: ['a', 'b\u0000'] }, 'texts[1]', /texts\[1\]: contains a NUL character \(U\+0000\) at position 1/],
      [{ query: '\u0000', texts: ['a'] }, 'query', /query: contains a NUL character/],
      [{ query: 'q', texts: ['\ud800'] }, 'texts[0]', /texts\[0\]: contains a lone UTF-16 surrogate \(\\uD800\) at position 0/],
    ];
    for (const [route, cases] of [['/v2/rerank', v2], ['/rerank', tei]] as const) {
      for (const [body, field, pattern] of cases) {
        const e = assertError(await post(`${server.url}${route}`, body), 422, pattern);
        assert.equal(e.field, field, `${route} ${JSON.stringify(body)}`);
        assert.equal(e.error_type, 'validation');
      }
    }
  });

  test('top_n out of range (0, negative, fractional, a string) gets 422; above the document count it returns all', async () => {
    for (const topN of [0, -1, 1.5, '3']) {
      const e = assertError(await post(url, { query: 'q', documents: ['a', 'b'], top_n: topN }), 422, /top_n: must be an integer ≥ 1/);
      assert.equal(e.field, 'top_n');
    }
    const r = await post<{ results: unknown[] }>(url, { query: 'q', documents: ['a', 'b'], top_n: 5 });
    assert.equal(r.status, 200);
    assert.equal(r.body.results.length, 2);
  });

  test('10,000 documents get 422 saying how many are allowed', async () => {
    const documents = Array.from({ length: 10_000 }, (_, i) => `document ${i}`);
    const e = assertError(await post(url, { query: 'q', documents }), 422, /documents: holds 10000 documents; this server accepts 1 to 20 per request/);
    assert.equal(e.field, 'documents');
    const tei = assertError(await post(`${server.url}/rerank`, { query: 'q', texts: documents }), 422, /texts: holds 10000 documents/);
    assert.equal(tei.field, 'texts');
  });

  test('a 50 MB body gets 413, by Content-Length and when streamed without one', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const declared = assertError(await post(url, big, { raw: true }), 413, /at most 1048576 bytes \(--max-body-bytes\)/);
    assert.equal(declared.error_type, 'payload_too_large');
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 50 * 1024 * 1024) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await fetch(url, { method: 'POST', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: string }).error, /more than 1048576 bytes/);
  });

  test('truncate: false refuses a pair over the token limit with 413 naming the document; by default it is truncated', async () => {
    const documents = ['short', longDocuments(1, 100)[0]!];
    const e = assertError(await post(url, { query: 'q', documents, truncate: false }), 413, /documents\[1\]: the query and this document take more than 32 tokens/);
    assert.equal(e.field, 'documents[1]');
    const truncated = await post<{ usage: { total_tokens: number } }>(url, { query: 'q', documents });
    assert.equal(truncated.status, 200, truncated.text);
    assert.ok(truncated.body.usage.total_tokens <= 2 * MAX_LENGTH);
    const tei = assertError(await post(`${server.url}/rerank`, { query: 'q', texts: documents, truncate: false }), 413, /texts\[1\]: /);
    assert.equal(tei.field, 'texts[1]');
    const fits = await post(`${server.url}/rerank`, { query: 'q', texts: ['short'], truncate: false });
    assert.equal(fits.status, 200, fits.text);
  });

  test('TEI: truncation_direction Left keeps the end of a long text, Right its start; an unknown value names the choices', async () => {
    // Two texts that differ only in their first words, with a tail far over the 32-token limit.
    const tail = longDocuments(1, 100)[0]!;
    const texts = [`paris france capital ${tail}`, `marathon runners kilometres ${tail}`];
    const scores = async (direction: string): Promise<number[]> => {
      const r = await post<{ index: number; score: number }[]>(`${server.url}/rerank`, { query: 'q', texts, raw_scores: true, truncation_direction: direction });
      assert.equal(r.status, 200, r.text);
      return [0, 1].map((i) => r.body.find((x) => x.index === i)!.score);
    };
    const [left0, left1] = await scores('Left');
    assert.equal(left0, left1, 'left truncation keeps only the shared tail, so both texts score alike');
    const [right0, right1] = await scores('Right');
    assert.notEqual(right0, right1, 'right truncation keeps the different beginnings');
    assert.deepEqual(await scores('left'), [left0, left1]);
    assertError(await post(`${server.url}/rerank`, { query: 'q', texts: ['a'], truncation_direction: 'Up' }), 422, /truncation_direction: must be "Right" or "Left"/);
  });

  test('a client that hangs up halfway through its body is logged as 499, not as a server error', async () => {
    const { hostname, port } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/rerank HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Request-Id: hangs-up\r\n\r\n{"query": "q", `);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const deadline = performance.now() + 5000;
    while (!server.logs.some((l) => l.id === 'hangs-up') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.logs.find((l) => l.id === 'hangs-up')?.status, 499);
    assert.ok(!server.logs.some((l) => l.level === 'error'), 'an error was logged');
  });

  test('after all of that the server still serves, and none of it was a 5xx', async () => {
    const r = await post<{ results: unknown[] }>(url, { query: 'q', documents: ['a', 'b', 'c'] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.results.length, 3);
    const health = await get(`${server.url}/health`);
    assert.equal(health.status, 200);
    const metrics = (await get(`${server.url}/metrics`)).text;
    assert.ok(!/turborank_requests_total\{[^}]*status="5\d\d"/.test(metrics), 'a 5xx was answered');
    assert.ok(metricValue(metrics, 'turborank_requests_total', { route: '/v1/rerank', status: '422' })! > 10);
  });
});
