/** `turborank serve` as a process: options and environment, SageMaker, start-up failures, SIGTERM draining. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
// Command modules and main.js import each other: load them the way the CLI does, main first.
import '../../src/cli/main.js';
import { SERVE_HELP, envName, serveOptions, withEnvironment } from '../../src/cli/serve-command.js';
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from '../../src/server/index.js';
import { UsageError } from '../../src/errors.js';
import { assertFailure, assertOk, runCli } from '../cli/support.js';
import { MINILM, TINY, assertError, get, longDocuments, metricValue, post, spawnServe, startTestServer, waitFor } from './support.js';

describe('turborank serve options', () => {
  test('--help documents every option, the environment variables and a curl example', async () => {
    const r = await runCli(['serve', '--help']);
    assertOk(r);
    assert.match(r.stdout, /^Usage: turborank serve /);
    for (const option of ['--model', '--host', '--port', '--sagemaker', '--threads', '--max-batch-tokens', '--max-documents', '--max-body-bytes', '--api-key-file', '--cors-origin']) {
      assert.ok(r.stdout.includes(option), option);
    }
    assert.match(r.stdout, /TURBORANK_MAX_BATCH_TOKENS/);
    assert.match(r.stdout, /curl -s localhost:8080\/v1\/rerank/);
  });

  test('bad values exit 2 naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['--port', 'abc'], /--port must be an integer ≥ 0/],
      [['--port', '70000'], /--port must be at most 65535/],
      [['--max-documents', '0'], /--max-documents must be an integer ≥ 1/],
      [['docs.txt'], /serve takes no positional arguments/],
      [['--model', '=x'], /expected NAME=MODEL or MODEL/],
    ];
    // Generous time: five processes start at once, and the machine may be shared.
    const results = await Promise.all(cases.map(([args]) => runCli(['serve', ...args], { timeoutMs: 60_000 })));
    results.forEach((r, i) => assertFailure(r, 2, cases[i]![1]));
  });

  test('each option in SERVE_HELP comes from its TURBORANK_* variable alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turborank-serve-env-'));
    const keyFile = path.join(dir, 'keys.txt');
    fs.writeFileSync(keyFile, 'file-key-0123456789\n\nfile-key-abcdefghij\n');
    // For every option: the variable's value, and what it must change in ServerOptions.
    const cases: Record<string, [string, (o: ServerOptions) => void]> = {
      model: [`tiny=${TINY},${MINILM}`, (o) => assert.deepEqual(o.models, [{ name: 'tiny', source: TINY }, { name: undefined, source: MINILM }])],
      host: ['0.0.0.0', (o) => assert.equal(o.host, '0.0.0.0')],
      port: ['9001', (o) => assert.equal(o.port, 9001)],
      sagemaker: ['1', (o) => assert.deepEqual([o.host, o.port], ['0.0.0.0', 8080])],
      threads: ['2', (o) => assert.equal(o.threads, 2)],
      precision: ['int8', (o) => assert.equal(o.precision, 'int8')],
      'max-length': ['256', (o) => assert.equal(o.maxLength, 256)],
      'max-batch-tokens': ['4096', (o) => assert.equal(o.batching.maxBatchTokens, 4096)],
      'max-batch-size': ['16', (o) => assert.equal(o.batching.maxBatchSize, 16)],
      'max-batch-requests': ['1', (o) => assert.equal(o.batching.maxBatchRequests, 1)],
      'max-documents': ['3', (o) => assert.equal(o.limits.maxDocuments, 3)],
      'max-body-bytes': ['65536', (o) => assert.equal(o.limits.maxBodyBytes, 65536)],
      'max-concurrent-requests': ['7', (o) => assert.equal(o.limits.maxConcurrentRequests, 7)],
      'request-timeout': ['5', (o) => assert.equal(o.limits.requestTimeoutMs, 5000)],
      'api-key-file': [keyFile, (o) => assert.deepEqual(o.apiKeys, ['file-key-0123456789', 'file-key-abcdefghij'])],
      'cors-origin': ['https://a.example, https://b.example', (o) => assert.deepEqual(o.corsOrigins, ['https://a.example', 'https://b.example'])],
      quiet: ['true', (o) => assert.equal(o.logRequests, false)],
    };
    try {
      assert.deepEqual(Object.keys(cases).sort(), Object.keys(SERVE_HELP.options).sort(), 'every serve option has a case here');
      const defaults = serveOptions(withEnvironment({}, {}), {});
      assert.deepEqual(defaults.batching, DEFAULT_SERVER_OPTIONS.batching);
      assert.deepEqual(defaults.limits, DEFAULT_SERVER_OPTIONS.limits);
      for (const [option, [value, check]] of Object.entries(cases)) {
        const env = { [envName(option)]: value };
        const options = serveOptions(withEnvironment({}, env), env);
        assert.doesNotThrow(() => check(options), `${envName(option)}=${value}`);
        assert.throws(() => check(defaults), assert.AssertionError, `${envName(option)}: the default already passes this check`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every option can come from TURBORANK_*; the command line wins', () => {
    const env = {
      TURBORANK_MODEL: `tiny=${TINY}, ${MINILM}`, TURBORANK_PORT: '9001', TURBORANK_HOST: '0.0.0.0', TURBORANK_MAX_DOCUMENTS: '3',
      TURBORANK_MAX_BATCH_REQUESTS: '1', TURBORANK_REQUEST_TIMEOUT: '5', TURBORANK_CORS_ORIGIN: 'https://a.example,https://b.example',
      TURBORANK_QUIET: 'true', TURBORANK_API_KEY: 'env-key-0123456789', TURBORANK_THREADS: '2',
    };
    const options = serveOptions(withEnvironment({ 'max-documents': '5' }, env), env);
    assert.deepEqual(options.models, [{ name: 'tiny', source: TINY }, { name: undefined, source: MINILM }]);
    assert.equal(options.port, 9001);
    assert.equal(options.host, '0.0.0.0');
    assert.equal(options.limits.maxDocuments, 5, 'the command line wins');
    assert.equal(options.limits.requestTimeoutMs, 5000);
    assert.equal(options.batching.maxBatchRequests, 1);
    assert.equal(options.threads, 2);
    assert.deepEqual(options.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.deepEqual(options.apiKeys, ['env-key-0123456789']);
    assert.equal(options.logRequests, false);
    assert.equal(envName('max-batch-tokens'), 'TURBORANK_MAX_BATCH_TOKENS');
    assert.throws(() => withEnvironment({}, { TURBORANK_SAGEMAKER: 'maybe' }), (err: unknown) => err instanceof UsageError && /TURBORANK_SAGEMAKER must be/.test(err.message));
    assert.throws(() => serveOptions(withEnvironment({}, { TURBORANK_PORT: 'eighty' }), {}), /--port must be an integer/);
  });

  test('--sagemaker listens on all interfaces at SAGEMAKER_BIND_TO_PORT (8080 without it)', () => {
    const options = serveOptions({ sagemaker: true, port: '1234', host: '127.0.0.1' }, { SAGEMAKER_BIND_TO_PORT: '9123' });
    assert.equal(options.host, '0.0.0.0');
    assert.equal(options.port, 9123);
    assert.equal(serveOptions({ sagemaker: true }, {}).port, 8080);
    assert.throws(() => serveOptions({ sagemaker: true }, { SAGEMAKER_BIND_TO_PORT: 'x' }), /SAGEMAKER_BIND_TO_PORT must be a port number/);
  });
});

describe('turborank serve processes', { concurrency: 3 }, () => {
  test('SIGTERM drains: the request in flight is answered, then the process exits 0', async () => {
    // A long deadline: this is about draining, and a busy machine can take a while over 300 documents.
    const server = await spawnServe(['--model', `tiny=${TINY}`, '--port', '0', '--threads', '1', '--request-timeout', '300']);
    try {
      const events = server.logs.map((l) => l.event);
      assert.ok(events.indexOf('model loaded') >= 0 && events.indexOf('model loaded') < events.indexOf('ready'), `models load before ready: ${events.join(', ')}`);
      const inFlight = post<{ results: unknown[] }>(`${server.url}/v1/rerank`, { query: 'q', documents: longDocuments(300, 200) });
      await waitFor(async () => metricValue((await get(`${server.url}/metrics`)).text, 'turborank_queue_depth', { model: 'tiny' })! > 0, 10_000);
      server.child.kill('SIGTERM');
      const answered = await inFlight;
      assert.equal(answered.status, 200, answered.text);
      assert.equal(answered.body.results.length, 300);
      const exit = await server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
      const events2 = server.logs.map((l) => l.event);
      assert.ok(events2.includes('draining') && events2.at(-1) === 'stopped', events2.join(', '));
      await assert.rejects(fetch(`${server.url}/health`), 'nothing listens after exit');
    } finally {
      server.kill();
    }
  });

  test('options from the environment reach a running server', async () => {
    const key = 'env-key-0123456789';
    const server = await spawnServe([], { TURBORANK_MODEL: `tiny=${TINY},${MINILM}`, TURBORANK_PORT: '0', TURBORANK_MAX_DOCUMENTS: '3', TURBORANK_API_KEY: key, TURBORANK_THREADS: '1' });
    try {
      const auth = { authorization: `Bearer ${key}` };
      const info = await get<{ models: { name: string }[] }>(`${server.url}/info`, auth);
      assert.deepEqual(info.body.models.map((m) => m.name), ['tiny', 'bert-minilm-golden']);
      assertError(await post(`${server.url}/v1/rerank`, { model: 'tiny', query: 'q', documents: ['a', 'b', 'c', 'd'] }, { headers: auth }), 422, /1 to 3 per request/);
      assertError(await post(`${server.url}/v1/rerank`, { model: 'tiny', query: 'q', documents: ['a'] }), 401);
    } finally {
      server.kill();
    }
  });

  test('--sagemaker: GET /ping and POST /invocations on the port SageMaker gives', async () => {
    // SageMaker names the port, so port 0 is not an option: take a free one, and take another
    // if a test running beside this one bound it between the probe and the server's start.
    let port = 0;
    let server: Awaited<ReturnType<typeof spawnServe>> | undefined;
    for (let attempt = 1; !server; attempt++) {
      port = await freePort();
      try {
        server = await spawnServe(['--sagemaker', '--model', TINY, '--threads', '1'], { SAGEMAKER_BIND_TO_PORT: String(port) });
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
      }
    }
    try {
      assert.equal(server.url, `http://0.0.0.0:${port}`);
      assert.equal((await get(`http://127.0.0.1:${port}/ping`)).status, 200);
      const r = await post<{ results: { index: number }[] }>(`http://127.0.0.1:${port}/invocations`, { query: 'q', documents: ['a', 'b'] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.results.length, 2);
    } finally {
      server.kill();
    }
  });

  test('a model that cannot load stops start-up: exit 1, a message, no stack', async () => {
    const r = await runCli(['serve', '--model', '/nonexistent/reranker', '--port', '0'], { timeoutMs: 60_000 });
    assertFailure(r, 1, /\/nonexistent\/reranker/);
  });

  test('a port in use: exit 1 saying so and what to do', async () => {
    const holder = await startTestServer();
    try {
      const r = await runCli(['serve', '--model', TINY, '--port', String(holder.port), '--threads', '1'], { timeoutMs: 30_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /turborank: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      assert.match(r.stderr, /pick another with --port/);
    } finally {
      await holder.close();
    }
  });
});


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
