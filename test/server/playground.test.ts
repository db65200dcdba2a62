/**
 * The playground page in a real browser: Debian's chromium (scripts/ensure-debian-package.sh
 * installs it before `npm test`) driven by playwright-core.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from '../helpers.js';
import { MINILM, TINY, post, startTestServer, type TestServer } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
/** The network is closed here: without these flags chromium waits on connections it cannot make. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const QUERY = 'what is the capital of france?';
const DOCUMENTS = [
  'Marathon runners cover a distance of forty two kilometers.',
  'Paris is the capital and largest city of France.',
  'Berlin is the capital of Germany.',
  'France is a country in Western Europe.',
  'The Eiffel Tower is in Paris.',
];

describe('playground page', () => {
  let server: TestServer;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test installs it (scripts/ensure-debian-package.sh chromium /usr/bin/chromium …)`);
    server = await startTestServer({ models: [{ name: 'tiny', source: TINY }, { name: undefined, source: MINILM }] });
    browser = await chromium.launchPersistentContext(tempDir('turborank-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('GET / serves the page with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*connect-src 'self'/);
  });

  test('type a query and documents, pick a model, click: the ranking shown is the API\'s, with score bars and timings', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.querySelectorAll('#model option').length === 2);
    assert.deepEqual(await page.$$eval('#model option', (options) => options.map((o) => (o as HTMLOptionElement).value)), ['tiny', 'bert-minilm-golden']);
    await page.selectOption('#model', 'bert-minilm-golden');
    await page.fill('#query', '');
    await page.type('#query', QUERY);
    await page.fill('#documents', DOCUMENTS.join('\n'));
    await page.click('#rerank');
    await page.waitForFunction((n) => document.querySelectorAll('#results li.result').length === n, DOCUMENTS.length);

    const shown = await page.$$eval('#results li.result', (items) => items.map((li) => ({
      index: Number((li as HTMLElement).dataset.index),
      text: li.querySelector('.text')!.textContent,
      score: li.querySelector('.score')!.textContent,
      bar: (li.querySelector('.bar > div') as HTMLElement).style.width,
    })));
    const api = await post<{ results: { index: number; relevance_score: number }[] }>(`${server.url}/v1/rerank`, { model: 'bert-minilm-golden', query: QUERY, documents: DOCUMENTS });
    assert.deepEqual(shown.map((s) => s.index), api.body.results.map((r) => r.index), 'the page shows the API\'s ranking');
    shown.forEach((s, rank) => {
      const expected = api.body.results[rank]!;
      assert.equal(s.text, DOCUMENTS[s.index]);
      assert.equal(s.score, expected.relevance_score.toFixed(4));
      assert.equal(s.bar, `${(100 * expected.relevance_score).toFixed(1)}%`);
    });
    const status = await page.textContent('#status');
    assert.match(status ?? '', /^5 documents, \d+ tokens, bert-minilm-golden: \d+ ms round trip, [\d.]+ ms in the server$/);
    assert.deepEqual(pageErrors, []);
  });

  test('an API error is shown on the page', async () => {
    await page.fill('#query', '');
    await page.click('#rerank');
    await page.waitForFunction(() => document.querySelector('#status')!.classList.contains('error'));
    assert.match((await page.textContent('#status')) ?? '', /^Error 422: query: must be a non-empty string/);
    assert.equal(await page.$$eval('#results li', (items) => items.length), 0);
  });
});
