/** The wire contracts, over real HTTP: Jina, Cohere v1/v2, TEI, SageMaker, info, OpenAPI, metrics, logs. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Reranker, sigmoid } from '../../src/rerank/index.js';
import { responseSchemas } from '../../src/server/schemas.js';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { loadExpected } from '../helpers.js';
import { MINILM, TINY, assertError, get, metricValue, post, startTestServer, type TestServer } from './support.js';

const MAX_LENGTH = 64; // the golden fixtures' max_length, so logits compare with expected.json
const MAX_DOCUMENTS = 50;
const QUERY = 'what is the capital of france?';
const DOCUMENTS = [
  'Paris is the capital and largest city of France.',
  'Marathon runners cover a distance of forty two kilometers.',
  'France is a country in Western Europe.',
  'The Eiffel Tower is in Paris.',
  'Berlin is the capital of Germany.',
  '',
];

interface JinaResult { index: number; relevance_score: number; document?: Record<string, unknown> }
interface JinaResponse { id: string; model: string; usage: { total_tokens: number }; results: JinaResult[]; meta: { api_version: { version: string } } }

describe('HTTP contracts', () => {
  let server: TestServer;
  let tiny: Reranker;
  let minilm: Reranker;
  let tinyTokenizer: PairTokenizer;

  before(async () => {
    server = await startTestServer({
      models: [{ name: 'tiny', source: TINY }, { name: undefined, source: MINILM }],
      maxLength: MAX_LENGTH,
      limits: { maxDocuments: MAX_DOCUMENTS },
    });
    tiny = await Reranker.load(TINY, { threads: 1, maxLength: MAX_LENGTH });
    minilm = await Reranker.load(MINILM, { threads: 1, maxLength: MAX_LENGTH });
    tinyTokenizer = await PairTokenizer.load(path.join(TINY, 'tokenizer.json'));
  });
  after(async () => {
    await server?.close();
    await tiny?.close();
    await minilm?.close();
  });

  test('POST /v1/rerank (Jina): sorted results with documents, the library\'s scores, usage, Cohere id and meta', async () => {
    const documents = DOCUMENTS.map((text, i) => (i % 2 === 0 ? text : { text }));
    const r = await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents });
    assert.equal(r.status, 200, r.text);
    const body = responseSchemas.jina.parse(r.body);
    const expected = await tiny.rerank(QUERY, DOCUMENTS);
    assert.deepEqual(body.results.map((x) => x.index), expected.map((x) => x.index));
    body.results.forEach((x, i) => {
      assert.ok(Math.abs(x.relevance_score - expected[i]!.score) < 1e-5, `rank ${i}: ${x.relevance_score} vs ${expected[i]!.score}`);
      assert.deepEqual(x.document, { text: DOCUMENTS[x.index] }, 'return_documents defaults to true, as in Jina\'s API');
    });
    const encoded = await tinyTokenizer.encodePairs(DOCUMENTS.map((document) => ({ query: QUERY, document })), MAX_LENGTH);
    assert.equal(body.usage.total_tokens, encoded.reduce((s, p) => s + p.length, 0));
    assert.equal(body.model, 'tiny');
    assert.equal(body.id, r.headers.get('x-request-id'));
    assert.equal(body.meta.api_version.version, '1');
  });

  test('top_n keeps the best N (all when N exceeds the documents); return_documents: false leaves them out', async () => {
    const all = (await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents: DOCUMENTS })).body.results;
    const top = await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents: DOCUMENTS, top_n: 2, return_documents: false });
    assert.equal(top.status, 200, top.text);
    assert.deepEqual(top.body.results, all.slice(0, 2).map(({ index, relevance_score }) => ({ index, relevance_score })));
    const many = await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents: DOCUMENTS, top_n: 100, return_documents: null });
    assert.equal(many.body.results.length, DOCUMENTS.length);
  });

  test('POST /rerank (TEI): reference logits with raw_scores, sigmoid without, texts with return_text, first model by default', async () => {
    const golden = loadExpected('jinabert-tiny-golden').cases.filter((c) => c.query === QUERY);
    assert.ok(golden.length >= 2, 'the fixture has cases for the query');
    const texts = golden.map((c) => c.document);
    const raw = await post<{ index: number; score: number; text?: string }[]>(`${server.url}/rerank`, { query: QUERY, texts, raw_scores: true, return_text: true });
    assert.equal(raw.status, 200, raw.text);
    const parsed = responseSchemas.tei.parse(raw.body);
    for (const r of parsed) {
      assert.ok(Math.abs(r.score - golden[r.index]!.logit) < 1e-4, `${golden[r.index]!.id}: ${r.score} vs reference ${golden[r.index]!.logit}`);
      assert.equal(r.text, texts[r.index]);
    }
    assert.deepEqual(parsed.map((r) => r.score), [...parsed.map((r) => r.score)].sort((a, b) => b - a));
    const plain = await post<{ index: number; score: number; text?: string }[]>(`${server.url}/rerank`, { query: QUERY, texts });
    for (const r of plain.body) {
      assert.ok(Math.abs(r.score - sigmoid(golden[r.index]!.logit)) < 1e-4);
      assert.equal(r.text, undefined);
    }
  });

  test('Cohere v1 fields: max_chunks_per_doc is accepted; rank_fields scores the named fields and echoes the object', async () => {
    const documents = [
      { title: 'Capitals', body: 'Paris is the capital of France.', id: 7 },
      { title: 'Sport', body: 'Marathon runners cover 42 km.', id: 8 },
    ];
    const r = await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents, rank_fields: ['title', 'body'], max_chunks_per_doc: 10, return_documents: true });
    assert.equal(r.status, 200, r.text);
    const flattened = documents.map((d) => `title: ${d.title}\nbody: ${d.body}`);
    const expected = await tiny.rerank(QUERY, flattened);
    assert.deepEqual(r.body.results.map((x) => x.index), expected.map((x) => x.index));
    r.body.results.forEach((x, i) => {
      assert.ok(Math.abs(x.relevance_score - expected[i]!.score) < 1e-5);
      assert.deepEqual(x.document, documents[x.index]);
    });
    const missing = await post(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents: [{ title: 'a' }], rank_fields: ['title', 'body'] });
    const error = assertError(missing, 422, /documents\[0\]\.body: is missing \(named in rank_fields\)/);
    assert.equal(error.field, 'documents[0].body');
  });

  test('POST /v2/rerank (Cohere v2): {id, results, meta}; max_tokens_per_doc cuts documents, not the query', async () => {
    const r = await post(`${server.url}/v2/rerank`, { model: 'bert-minilm-golden', query: QUERY, documents: DOCUMENTS, top_n: 3, max_tokens_per_doc: 3 });
    assert.equal(r.status, 200, r.text);
    const body = responseSchemas.cohereV2.strict().parse(r.body);
    assert.equal(body.meta.api_version.version, '2');
    assert.equal(body.results.length, 3);
    const minilmTokenizer = await PairTokenizer.load(path.join(MINILM, 'tokenizer.json'));
    const [queryOnly] = await minilmTokenizer.encodePairs([{ query: QUERY, document: '' }], MAX_LENGTH);
    const logits = await minilm.score(DOCUMENTS.map((document) => ({ query: QUERY, document })), { maxLength: queryOnly!.length + 3 });
    const expected = [...logits].map((logit, index) => ({ index, score: sigmoid(logit) })).sort((a, b) => b.score - a.score).slice(0, 3);
    assert.deepEqual(body.results.map((x) => x.index), expected.map((x) => x.index));
    body.results.forEach((x, i) => assert.ok(Math.abs(x.relevance_score - expected[i]!.score) < 1e-5));
  });

  test('POST /invocations (SageMaker) answers the /v1/rerank body like /v1/rerank', async () => {
    const request = { model: 'tiny', query: QUERY, documents: DOCUMENTS, top_n: 4 };
    const a = await post<JinaResponse>(`${server.url}/invocations`, request);
    const b = await post<JinaResponse>(`${server.url}/v1/rerank`, request);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.body.results, b.body.results);
    assert.equal((await get(`${server.url}/ping`)).status, 200);
  });

  test('model: picked by name; unknown (or a path on disk) is 404 listing those served; omitted among several is 400', async () => {
    const byName = await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'bert-minilm-golden', query: QUERY, documents: DOCUMENTS });
    assert.equal(byName.body.model, 'bert-minilm-golden');
    const expected = await minilm.rerank(QUERY, DOCUMENTS);
    assert.deepEqual(byName.body.results.map((x) => x.index), expected.map((x) => x.index));
    for (const model of ['nope', TINY, '../../etc/passwd', '__proto__']) {
      const r = await post(`${server.url}/v1/rerank`, { model, query: QUERY, documents: ['a'] });
      const error = assertError(r, 404, /is not served here; this server serves: tiny, bert-minilm-golden/);
      assert.deepEqual(error.models, ['tiny', 'bert-minilm-golden']);
    }
    const omitted = await post(`${server.url}/v1/rerank`, { query: QUERY, documents: ['a'] });
    assertError(omitted, 400, /model: is required, since this server serves 2 models/);
    const info = await get<{ models: { name: string }[] }>(`${server.url}/info`);
    assert.deepEqual(info.body.models.map((m) => m.name), ['tiny', 'bert-minilm-golden'], 'no request loaded a model');
  });

  test('GET /info (TEI fields and every model), /health and /ping', async () => {
    const info = await get<Record<string, unknown>>(`${server.url}/info`);
    assert.equal(info.status, 200);
    assert.equal(info.body.model_id, 'tiny');
    assert.equal(info.body.max_input_length, MAX_LENGTH);
    assert.equal(info.body.max_client_batch_size, MAX_DOCUMENTS);
    assert.equal(info.body.max_batch_requests, null);
    const models = info.body.models as { name: string; architecture: string; tokenizer: string; test_model: boolean }[];
    assert.deepEqual(models.map((m) => [m.name, m.architecture, m.test_model]), [['tiny', 'jinabert', false], ['bert-minilm-golden', 'bert', false]]);
    for (const path of ['/health', '/ping']) {
      const r = await get<{ status: string }>(`${server.url}${path}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.status, 'ok');
    }
  });

  test('GET /openapi.json is generated from the validating schemas, with the configured limits', async () => {
    const r = await get<{ openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>>; required: string[] }> } }>(`${server.url}/openapi.json`);
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    for (const path of ['/v1/rerank', '/v2/rerank', '/rerank', '/invocations']) assert.ok(r.body.paths[path]?.post, `${path} documented`);
    for (const path of ['/info', '/health', '/ping', '/metrics', '/']) assert.ok(r.body.paths[path]?.get, `${path} documented`);
    const request = r.body.components.schemas.RerankRequest!;
    assert.deepEqual([...request.required].sort(), ['documents', 'query']);
    assert.equal(request.properties.documents!.maxItems, MAX_DOCUMENTS);
    assert.equal(request.properties.query!.minLength, 1);
    assert.deepEqual(r.body.components.schemas.TeiRerankRequest!.properties.texts!.maxItems, MAX_DOCUMENTS);
    assert.ok(r.body.components.schemas.CohereV2RerankRequest!.properties.max_tokens_per_doc);
  });

  test('GET /metrics: requests by route and status, latency histogram, batch sizes, queue depth, tokens', async () => {
    await post(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents: DOCUMENTS });
    await post(`${server.url}/v1/rerank`, { model: 'nope', query: QUERY, documents: DOCUMENTS });
    await get(`${server.url}/no/such/route`);
    const r = await get(`${server.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    const text = r.text;
    assert.ok(metricValue(text, 'turborank_requests_total', { route: '/v1/rerank', status: '200' })! >= 1);
    assert.ok(metricValue(text, 'turborank_requests_total', { route: '/v1/rerank', status: '404' })! >= 1);
    assert.ok(metricValue(text, 'turborank_requests_total', { route: 'other', status: '404' })! >= 1, 'unknown paths share one label');
    assert.ok(metricValue(text, 'turborank_request_duration_seconds_count', { route: '/v1/rerank' })! >= 2);
    assert.ok(metricValue(text, 'turborank_request_duration_seconds_bucket', { route: '/v1/rerank', le: '+Inf' })! >= 2);
    assert.ok(metricValue(text, 'turborank_batch_size_count', { model: 'tiny' })! >= 1);
    assert.ok(metricValue(text, 'turborank_batch_requests_count', { model: 'tiny' })! >= 1);
    assert.equal(metricValue(text, 'turborank_queue_depth', { model: 'tiny' }), 0);
    assert.ok(metricValue(text, 'turborank_tokens_total', { model: 'tiny' })! > 0);
    assert.ok(metricValue(text, 'turborank_documents_total', { model: 'tiny' })! >= DOCUMENTS.length);
    assert.ok(!/status="5\d\d"/.test(text), 'no 5xx so far');
  });

  test('one JSON log line per request: id, route, model, documents, tokens, latency, status', async () => {
    const r = await post<JinaResponse>(`${server.url}/v1/rerank`, { model: 'tiny', query: QUERY, documents: DOCUMENTS }, { headers: { 'x-request-id': 'log-check-1' } });
    assert.equal(r.headers.get('x-request-id'), 'log-check-1', 'a client\'s request id is kept');
    const lines = server.logs.filter((l) => l.id === 'log-check-1');
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.event, 'request');
    assert.equal(line.route, '/v1/rerank');
    assert.equal(line.model, 'tiny');
    assert.equal(line.documents, DOCUMENTS.length);
    assert.equal(line.tokens, r.body.usage.total_tokens);
    assert.equal(line.status, 200);
    assert.equal(typeof line.latency_ms, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
  });

  test('unknown route: 404 listing the routes; wrong method: 405 with Allow', async () => {
    assertError(await get(`${server.url}/v1/nothing`), 404, /no route GET \/v1\/nothing; routes: POST \/v1\/rerank/);
    const wrong = await get(`${server.url}/v1/rerank`);
    assertError(wrong, 405, /GET is not allowed on \/v1\/rerank: use POST/);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });
});

describe('a server with one model', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  test('model may be omitted, or named; another name is 404', async () => {
    const omitted = await post<JinaResponse>(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCUMENTS });
    assert.equal(omitted.status, 200, omitted.text);
    assert.equal(omitted.body.model, 'tiny');
    const v2 = await post(`${server.url}/v2/rerank`, { query: QUERY, documents: DOCUMENTS });
    assert.equal(v2.status, 200, v2.text);
    assertError(await post(`${server.url}/v1/rerank`, { model: 'jina-reranker-v1-turbo-en', query: QUERY, documents: ['a'] }), 404, /serves: tiny$/);
  });
});
