/** API keys (401 without a valid one), CORS off unless configured, keys from env and file. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileError, UsageError } from '../../src/errors.js';
import { ApiKeys, loadApiKeys } from '../../src/server/auth.js';
import { tempDir } from '../helpers.js';
import { assertError, get, post, startTestServer, type TestServer } from './support.js';

const KEYS = ['first-key-0123456789', 'second-key-9876543210'];
const BODY = { query: 'q', documents: ['a', 'b'] };

describe('API keys', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ apiKeys: KEYS });
  });
  after(async () => {
    await server?.close();
  });

  test('rerank routes, /info and /metrics need "Authorization: Bearer KEY": 401 without a valid one', async () => {
    const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer nope-nope-nope' }, { authorization: `Basic ${KEYS[0]}` }, { authorization: `Bearer ${KEYS[0]}x` }, { authorization: KEYS[0]! }];
    for (const headers of wrong) {
      for (const route of ['/v1/rerank', '/v2/rerank', '/invocations']) {
        const r = await post(`${server.url}${route}`, BODY, { headers });
        assertError(r, 401, /a valid API key is required: send it as "Authorization: Bearer KEY"/);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      }
      assertError(await post(`${server.url}/rerank`, { query: 'q', texts: ['a'] }, { headers }), 401);
      for (const route of ['/info', '/metrics']) assertError(await get(`${server.url}${route}`, headers), 401);
    }
  });

  test('every configured key is accepted, with any case of "Bearer"', async () => {
    for (const authorization of [`Bearer ${KEYS[0]}`, `bearer ${KEYS[1]}`]) {
      const r = await post(`${server.url}/v1/rerank`, BODY, { headers: { authorization } });
      assert.equal(r.status, 200, r.text);
      assert.equal((await get(`${server.url}/info`, { authorization })).status, 200);
    }
  });

  test('health checks, the playground and the OpenAPI document need no key; the document declares bearer auth', async () => {
    for (const route of ['/health', '/ping', '/', '/openapi.json']) assert.equal((await get(`${server.url}${route}`)).status, 200, route);
    const doc = await get<{ security?: unknown[] }>(`${server.url}/openapi.json`);
    assert.deepEqual(doc.body.security, [{ bearer: [] }]);
  });

  test('ApiKeys compares every key, and nothing matches an empty or missing header', () => {
    const keys = new ApiKeys(KEYS);
    assert.ok(keys.enabled);
    assert.ok(keys.accepts(`Bearer ${KEYS[1]}`));
    assert.ok(!keys.accepts(undefined));
    assert.ok(!keys.accepts('Bearer '));
    assert.ok(!keys.accepts(`Bearer ${KEYS[0]} ${KEYS[1]}`));
    assert.ok(!new ApiKeys([]).enabled);
  });

  test('keys come from TURBORANK_API_KEY (comma-separated) and a file (one per line, # comments)', () => {
    const file = path.join(tempDir(), 'keys.txt');
    fs.writeFileSync(file, '# production\nfile-key-aaaaaaaa\n\n  file-key-bbbbbbbb  \n');
    assert.deepEqual(loadApiKeys('env-key-11111111, env-key-22222222', file), ['env-key-11111111', 'env-key-22222222', 'file-key-aaaaaaaa', 'file-key-bbbbbbbb']);
    assert.deepEqual(loadApiKeys(undefined, undefined), []);
    fs.writeFileSync(file, '# nothing here\n');
    assert.throws(() => loadApiKeys(undefined, file), (err: unknown) => err instanceof FileError && /holds no keys/.test(err.message));
    assert.throws(() => loadApiKeys(undefined, path.join(tempDir(), 'missing')), (err: unknown) => err instanceof FileError && /cannot read the API key file/.test(err.message));
    assert.throws(() => loadApiKeys('short', undefined), (err: unknown) => err instanceof UsageError && /at least 8 characters/.test(err.message));
  });
});

describe('CORS', () => {
  test('off by default: no Access-Control-Allow-Origin, preflight not answered', async () => {
    const server = await startTestServer();
    try {
      const origin = 'https://evil.example';
      const r = await post(`${server.url}/v1/rerank`, BODY, { headers: { origin } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      const preflight = await fetch(`${server.url}/v1/rerank`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.notEqual(preflight.status, 204);
    } finally {
      await server.close();
    }
  });

  test('configured origins get CORS headers (preflight too, before auth); others do not', async () => {
    const allowed = 'https://app.example';
    const server = await startTestServer({ corsOrigins: [allowed], apiKeys: KEYS });
    try {
      const preflight = await fetch(`${server.url}/v1/rerank`, { method: 'OPTIONS', headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), allowed);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
      const r = await post(`${server.url}/v1/rerank`, BODY, { headers: { origin: allowed, authorization: `Bearer ${KEYS[0]}` } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), allowed);
      assert.match(r.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/i);
      const other = await post(`${server.url}/v1/rerank`, BODY, { headers: { origin: 'https://evil.example', authorization: `Bearer ${KEYS[0]}` } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    } finally {
      await server.close();
    }
  });
});
