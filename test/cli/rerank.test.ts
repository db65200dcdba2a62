/** `turborank rerank` end to end: documents in (file or stdin, every format), ranked JSON or a table out. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureDir, repoRoot, tempDir } from '../helpers.js';
import { assertLogit, assertOk, goldenCase, parseJson, runCli, sigmoid, type CliResult, type RerankJson } from './support.js';

const FIXTURE = 'bert-minilm-golden';
const MODEL = fixtureDir(FIXTURE);
const BASE = ['rerank', '--model', MODEL, '--max-length', '64', '--threads', '1'];

// Two cases of the fixture sharing a query; the second document scores higher (1.51 vs 0.94),
// so a correct ranking reorders the input.
const relevant = goldenCase(FIXTURE, 'plain-relevant');
const irrelevant = goldenCase(FIXTURE, 'plain-irrelevant');
const QUERY = relevant.query;
assert.equal(irrelevant.query, QUERY);
assert.ok(irrelevant.logit > relevant.logit);
const DOCS = [relevant, irrelevant];

/** Checks a --json rerank of [relevant, irrelevant] (in that input order). */
function assertRanked(r: CliResult, cases = DOCS): RerankJson {
  assertOk(r);
  const out = parseJson<RerankJson>(r);
  assert.equal(out.query, QUERY);
  assert.equal(out.model, MODEL);
  assert.equal(out.results.length, cases.length);
  // Sorted by score, best first.
  for (let i = 1; i < out.results.length; i++) {
    assert.ok(out.results[i - 1]!.score >= out.results[i]!.score, `results not sorted: ${JSON.stringify(out.results)}`);
  }
  // Every input position exactly once; each result's logit and document are its input's.
  assert.deepEqual(out.results.map((x) => x.index).sort((a, b) => a - b), cases.map((_, i) => i));
  for (const result of out.results) {
    const c = cases[result.index]!;
    assertLogit(result.logit, c, ` (input ${result.index})`);
    assert.ok(Math.abs(result.score - sigmoid(result.logit)) < 1e-9, `score ${result.score} is not sigmoid(${result.logit})`);
    assert.deepEqual(result.document, { text: c.document });
  }
  return out;
}

describe('turborank rerank', { concurrency: 4 }, () => {
  const dir = tempDir('turborank-cli-rerank-');
  const write = (name: string, content: string | Uint8Array): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  };

  test('plain lines from a FILE: ranked best first, indices are input positions, reference logits', async () => {
    const file = write('docs.txt', DOCS.map((c) => c.document).join('\n') + '\n');
    const out = assertRanked(await runCli([...BASE, '--query', QUERY, '--json', file]));
    assert.deepEqual(out.results.map((x) => x.index), [1, 0]);
  });

  test('plain lines from stdin (no FILE, and "-")', async () => {
    const input = DOCS.map((c) => c.document).join('\n') + '\n';
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json'], { input }));
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json', '-'], { input }));
  });

  test('plain lines without a final newline', async () => {
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json'], { input: DOCS.map((c) => c.document).join('\n') }));
  });

  test('CRLF line endings: no \\r left in the documents', async () => {
    const out = assertRanked(await runCli([...BASE, '-q', QUERY, '--json'], { input: DOCS.map((c) => c.document + '\r\n').join('') }));
    for (const x of out.results) assert.ok(!x.document!.text.includes('\r'));
  });

  test('JSON Lines with "text" (file and stdin; extra fields ignored)', async () => {
    const jsonl = DOCS.map((c, i) => JSON.stringify({ id: i, text: c.document })).join('\n') + '\n';
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json', write('docs.jsonl', jsonl)]));
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json'], { input: jsonl }));
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json'], { input: jsonl.replace(/\n/g, '\r\n') }));
  });

  test('a JSON array mixing strings and {"text"} objects', async () => {
    const input = `  [${JSON.stringify(relevant.document)},\n {"text": ${JSON.stringify(irrelevant.document)}}]\n`;
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json'], { input }));
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json', write('docs.json', input)]));
  });

  test('--format forces the reading: a JSON-looking line is a plain document with --format lines', async () => {
    const doc = '{"text": "not parsed"}';
    const r = await runCli([...BASE, '-q', QUERY, '--json', '--format', 'lines'], { input: `${doc}\n${relevant.document}\n` });
    assertOk(r);
    const out = parseJson<RerankJson>(r);
    assert.deepEqual(out.results.map((x) => x.index).sort(), [0, 1]);
    assert.equal(out.results.find((x) => x.index === 0)!.document!.text, doc);
    assertLogit(out.results.find((x) => x.index === 1)!.logit, relevant);
  });

  test('--top-n 1 returns only the best; --top-n larger than the input returns all', async () => {
    const input = DOCS.map((c) => c.document).join('\n') + '\n';
    const r = await runCli([...BASE, '-q', QUERY, '--json', '--top-n', '1'], { input });
    assertOk(r);
    const out = parseJson<RerankJson>(r);
    assert.equal(out.results.length, 1);
    assert.equal(out.results[0]!.index, 1);
    assertLogit(out.results[0]!.logit, irrelevant);
    assert.deepEqual(out.results[0]!.document, { text: irrelevant.document });
    assertRanked(await runCli([...BASE, '-q', QUERY, '--json', '-n', '10'], { input }));
  });

  test('a blank line in the middle is an empty document, scored like one', async () => {
    // Same query for both cases: "how do rerankers work".
    const empty = goldenCase(FIXTURE, 'empty-document');
    const long = goldenCase(FIXTURE, 'truncate-document');
    assert.equal(empty.query, long.query);
    const r = await runCli([...BASE, '-q', empty.query, '--json'], { input: `${long.document}\n\n${long.document}\n` });
    assertOk(r);
    const out = parseJson<RerankJson>(r);
    assert.equal(out.results.length, 3);
    const byIndex = new Map(out.results.map((x) => [x.index, x]));
    assert.deepEqual([...byIndex.keys()].sort(), [0, 1, 2]);
    assert.equal(byIndex.get(1)!.document!.text, '');
    assertLogit(byIndex.get(1)!.logit, empty, ' (blank line)');
    assertLogit(byIndex.get(0)!.logit, long, ' (line 1)');
    assertLogit(byIndex.get(2)!.logit, long, ' (line 3)');
    assert.equal(out.results[0]!.index, 1, 'the empty document has the highest reference logit');
  });

  test('several queries, one call each, match the reference', async () => {
    const ids = ['accents', 'cjk', 'unknown-symbols', 'numbers'];
    await Promise.all(ids.map(async (id) => {
      const c = goldenCase(FIXTURE, id);
      const r = await runCli([...BASE, '-q', c.query, '--json'], { input: JSON.stringify([c.document]) });
      assertOk(r);
      const out = parseJson<RerankJson>(r);
      assert.equal(out.query, c.query);
      assert.equal(out.results.length, 1);
      assertLogit(out.results[0]!.logit, c);
      assert.equal(out.results[0]!.document!.text, c.document);
    }));
  });

  test('default output is a table: a header and one row per document, best first', async () => {
    const input = DOCS.map((c) => c.document).join('\n') + '\n';
    const r = await runCli([...BASE, '-q', QUERY], { input });
    assertOk(r);
    const lines = r.stdout.replace(/\n$/, '').split('\n');
    assert.equal(lines.length, 1 + DOCS.length, r.stdout);
    assert.match(lines[0]!, /^rank\s+index\s+score\s+logit\s+document$/);
    const rows = lines.slice(1).map((line) => line.trim().split(/\s+/));
    assert.deepEqual(rows.map((row) => row[0]), ['1', '2']);
    assert.deepEqual(rows.map((row) => row[1]), ['1', '0']);
    assert.equal(rows[0]![2], sigmoid(irrelevant.logit).toFixed(4));
    assert.equal(rows[0]![3], irrelevant.logit.toFixed(4));
    assert.equal(rows[1]![3], relevant.logit.toFixed(4));
    assert.ok(lines[1]!.endsWith(irrelevant.document), lines[1]);
    assert.match(r.stderr, /2 documents scored in [\d.]+ ms/);
  });

  test('empty input: no documents, an empty result', async () => {
    const r = await runCli([...BASE, '-q', QUERY, '--json'], { input: '' });
    assertOk(r);
    assert.deepEqual(parseJson<RerankJson>(r).results, []);
  });

  test('without --model: the shipped default model (turborank-tiny-en), with a note on what it is', async () => {
    const docs = fs.readFileSync(path.join(repoRoot, 'examples', 'tools.txt'), 'utf8');
    const r = await runCli(['rerank', '-q', 'how do I compress a file?', '--json', '--threads', '1'], { input: docs });
    assertOk(r);
    assert.doesNotMatch(r.stderr, /TEST/);
    assert.match(r.stderr, /no --model: using turborank-tiny-en[\s\S]*docs\/RESULTS\.md/);
    const out = parseJson<RerankJson>(r);
    assert.match(out.model, /models[\\/]turborank-tiny-en$/);
    assert.equal(out.results.length, docs.trim().split('\n').length);
    // every input line once (the model's quality is docs/RESULTS.md's business, not this test's)
    assert.deepEqual(out.results.map((x) => x.index).sort((a, b) => a - b), [...out.results.keys()]);
    for (const x of out.results) assert.ok(Math.abs(x.score - sigmoid(x.logit)) < 1e-9);
  });

  test('the bundled random-weight test model, named with --model, warns that its scores mean nothing', async () => {
    const r = await runCli(['rerank', '--model', path.join(repoRoot, 'models', 'test-jinabert-bpe'), '-q', QUERY, '--json', '--threads', '1'], { input: DOCS.map((c) => c.document).join('\n') + '\n' });
    assertOk(r);
    assert.match(r.stderr, /\bTEST\b/);
    const out = parseJson<RerankJson>(r);
    assert.equal(out.results.length, 2);
    for (const x of out.results) assert.ok(Number.isFinite(x.logit));
  });

  test('with --model there is no TEST model warning', async () => {
    const r = await runCli([...BASE, '-q', QUERY, '--json'], { input: relevant.document });
    assertOk(r);
    assert.doesNotMatch(r.stderr, /TEST/);
  });
});
