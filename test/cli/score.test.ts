/** `turborank score` end to end: JSON Lines of pairs in, one {"logit","score"} line per pair out, in order. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, repoRoot, tempDir, type GoldenFixture } from '../helpers.js';
import { assertLogit, assertOk, runCli, sigmoid, type CliResult } from './support.js';

interface ScoreLine {
  logit: number;
  score: number;
}

function pairsJsonl(fixture: GoldenFixture, eol = '\n'): string {
  return loadExpected(fixture).cases.map((c) => JSON.stringify({ query: c.query, document: c.document }) + eol).join('');
}

/** Checks the output lines against every case of the fixture, in order. */
function assertScores(r: CliResult, fixture: GoldenFixture): ScoreLine[] {
  assertOk(r);
  const cases = loadExpected(fixture).cases;
  assert.ok(r.stdout.endsWith('\n'), 'output ends with a newline');
  const lines = r.stdout.slice(0, -1).split('\n');
  assert.equal(lines.length, cases.length, `one output line per input line\n${r.stdout}`);
  return lines.map((line, i) => {
    const value = JSON.parse(line) as ScoreLine;
    assert.deepEqual(Object.keys(value).sort(), ['logit', 'score'], line);
    assertLogit(value.logit, cases[i]!, ` (line ${i + 1})`);
    assert.ok(Math.abs(value.score - sigmoid(value.logit)) < 1e-12, `line ${i + 1}: score ${value.score} is not sigmoid(${value.logit})`);
    return value;
  });
}

describe('turborank score', { concurrency: 4 }, () => {
  const dir = tempDir('turborank-cli-score-');

  // Every architecture through the same command and options: the CLI needs nothing per model family.
  for (const fixture of GOLDEN_FIXTURES) {
    test(`${fixture}: every case from stdin, in order, reference logits`, async () => {
      // Five model loads at once on a shared 2-core machine: allow more than the default 20 s.
      const r = await runCli(['score', '--model', fixtureDir(fixture), '--max-length', '64', '--threads', '1'], { input: pairsJsonl(fixture), timeoutMs: 60_000 });
      assertScores(r, fixture);
    });
  }

  test('--chunk 3 (smaller than the input) gives the same output; so does a FILE read with --chunk 5', async () => {
    const fixture = 'bert-minilm-golden';
    const args = ['score', '-m', fixtureDir(fixture), '--max-length', '64', '--threads', '1'];
    const whole = await runCli(args, { input: pairsJsonl(fixture) });
    const chunked = await runCli([...args, '--chunk', '3', '--batch-size', '2'], { input: pairsJsonl(fixture) });
    assertScores(whole, fixture);
    assertScores(chunked, fixture);
    assert.equal(chunked.stdout, whole.stdout);

    const file = path.join(dir, 'pairs.jsonl');
    fs.writeFileSync(file, pairsJsonl(fixture).slice(0, -1)); // no final newline
    const fromFile = await runCli([...args, '--chunk', '5', file]);
    assertScores(fromFile, fixture);
    assert.equal(fromFile.stdout, whole.stdout);
  });

  test('CRLF input lines', async () => {
    const fixture = 'jinabert-tiny-golden';
    const r = await runCli(['score', '-m', fixtureDir(fixture), '--max-length', '64', '--threads', '1', '--chunk', '7'], { input: pairsJsonl(fixture, '\r\n') });
    assertScores(r, fixture);
  });

  test('empty input: empty output', async () => {
    const r = await runCli(['score', '-m', fixtureDir('bert-minilm-golden'), '--threads', '1'], { input: '' });
    assertOk(r);
    assert.equal(r.stdout, '');
  });

  test('without --model: the shipped default model, the same scores as naming it, with a note', async () => {
    const input = '{"query":"compress a file","document":"gzip reduces the size of files"}\n{"query":"compress a file","document":"the nightingale sings at night"}\n';
    const implicit = await runCli(['score', '--threads', '1'], { input });
    const named = await runCli(['score', '--threads', '1', '--model', path.join(repoRoot, 'models', 'turborank-tiny-en')], { input });
    assertOk(implicit);
    assertOk(named);
    assert.doesNotMatch(implicit.stderr, /TEST/);
    assert.match(implicit.stderr, /no --model: using turborank-tiny-en/);
    assert.doesNotMatch(named.stderr, /no --model/);
    assert.equal(implicit.stdout, named.stdout);
    const lines = implicit.stdout.trim().split('\n').map((l) => JSON.parse(l) as ScoreLine);
    assert.equal(lines.length, 2);
    for (const x of lines) assert.ok(Number.isFinite(x.logit) && Math.abs(x.score - sigmoid(x.logit)) < 1e-12);
    assert.notEqual(lines[0]!.logit, lines[1]!.logit);
  });

  test('a reader that stops early (EPIPE) ends the run quietly', async () => {
    const fixture = 'bert-minilm-golden';
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ query: `query ${i}`, document: `document number ${i}` }) + '\n').join('');
    let got = '';
    const r = await runCli(['score', '-m', fixtureDir(fixture), '--threads', '1', '--chunk', '1'], {
      input: lines,
      onSpawn: (child) => {
        child.stdout!.once('data', (b: Buffer) => {
          got = b.toString('utf8');
          child.stdout!.destroy();
        });
      },
    });
    assert.match(got, /^\{"logit":/);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes('    at '), r.stderr);
  });
});
