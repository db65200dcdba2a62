/**
 * Bad input and broken models: exit 1 (2 for usage) with one clear `turborank: ` message that
 * names the problem, and never a stack trace.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureDir, tempDir } from '../helpers.js';
import { assertExit, assertFailure, copyFixture, runCli } from './support.js';

const MODEL = fixtureDir('bert-minilm-golden');
const RERANK = ['rerank', '--model', MODEL, '--query', 'what is the capital of france?', '--threads', '1'];
const SCORE = ['score', '--model', MODEL, '--threads', '1'];
const PAIR = '{"query":"q","document":"d"}\n';

describe('turborank errors', { concurrency: 4 }, () => {
  const dir = tempDir('turborank-cli-errors-');

  test('missing input FILE', async () => {
    const missing = path.join(dir, 'no-such-docs.txt');
    assertFailure(await runCli([...RERANK, missing]), 1, /no-such-docs\.txt: no such file/);
    assertFailure(await runCli([...SCORE, missing]), 1, /no-such-docs\.txt: no such file/);
  });

  test('a missing input FILE is reported before the model is loaded', async () => {
    const r = await runCli(['score', '-m', path.join(dir, 'no-such-model'), path.join(dir, 'no-such-pairs.jsonl')]);
    assertFailure(r, 1, /no-such-pairs\.jsonl: no such file/);
    assert.doesNotMatch(r.stderr, /no-such-model/);
  });

  test('a directory as input FILE', async () => {
    assertFailure(await runCli([...RERANK, dir]), 1, new RegExp(`${escape(dir)}: is a directory`));
    assertFailure(await runCli([...SCORE, dir]), 1, new RegExp(`${escape(dir)}: is a directory`));
  });

  test('invalid UTF-8 on stdin: rerank', async () => {
    const r = await runCli(RERANK, { input: Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a]) });
    assertFailure(r, 1, /stdin is not valid UTF-8/, /offset 2\b/);
  });

  test('invalid UTF-8 in a FILE: rerank names the file', async () => {
    const file = path.join(dir, 'latin1.txt');
    fs.writeFileSync(file, Buffer.from('caf\xe9\n', 'latin1'));
    assertFailure(await runCli([...RERANK, file]), 1, /latin1\.txt is not valid UTF-8/, /offset 3\b/);
  });

  test('invalid UTF-8 on stdin: score names the line', async () => {
    const r = await runCli(SCORE, { input: Buffer.concat([Buffer.from(PAIR + PAIR), Buffer.from([0xff, 0xfe, 0x0a])]) });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdin line 3 is not valid UTF-8/);
    assert.ok(!r.stderr.includes('    at '), r.stderr);
  });

  test('score: an invalid JSON line is named by its number', async () => {
    const r = await runCli(SCORE, { input: PAIR + PAIR + 'not json\n' + PAIR });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdin line 3: invalid JSON/);
    assert.match(r.stderr, /not json/);
    assert.ok(!r.stderr.includes('    at '), r.stderr);
  });

  test('score: a line without "document"', async () => {
    const r = await runCli(SCORE, { input: PAIR + '{"query":"q"}\n' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdin line 2: expected \{"query": string, "document": string\}/);
    assert.ok(!r.stderr.includes('    at '), r.stderr);
  });

  test('score: a line with a non-string document, or not an object', async () => {
    for (const bad of ['{"query":"q","document":3}', '[1,2]', 'null']) {
      const r = await runCli(SCORE, { input: bad + '\n' });
      assertFailure(r, 1, /stdin line 1: expected \{"query": string, "document": string\}/);
    }
  });

  test('rerank: a JSON array that is not valid JSON', async () => {
    assertFailure(await runCli(RERANK, { input: '["a", {"text": "b"},\n' }), 1, /stdin: invalid JSON/, /JSON array/);
  });

  test('rerank: JSON array elements must be strings or {"text": string}', async () => {
    assertFailure(await runCli(RERANK, { input: '["a", {"title": "b"}]' }), 1, /element 1: expected an object with a string "text"/);
    assertFailure(await runCli(RERANK, { input: '{"a": 1}' }), 1, /line 1: expected an object with a string "text"/);
    assertFailure(await runCli([...RERANK, '--format', 'json'], { input: '{"text": "a"}' }), 1, /expected a JSON array/);
  });

  test('rerank: plain text that merely starts with "[" or "{" points to --format lines', async () => {
    assertFailure(await runCli(RERANK, { input: '[1] a numbered note\nsecond document\n' }), 1, /stdin: invalid JSON/, /read as a JSON array/, /--format lines/);
    assertFailure(await runCli(RERANK, { input: '{braces} first\nsecond\n' }), 1, /stdin line 1: invalid JSON/, /read as JSON Lines/, /--format lines/);
    // An explicit --format is not second-guessed.
    const r = await runCli([...RERANK, '--format', 'json'], { input: '[1] a numbered note\n' });
    assertFailure(r, 1, /stdin: invalid JSON/);
    assert.doesNotMatch(r.stderr, /--format lines/);
  });

  test('rerank: an invalid JSON Lines line is named by its number', async () => {
    assertFailure(await runCli(RERANK, { input: '{"text": "a"}\n{"text": \n' }), 1, /stdin line 2: invalid JSON/);
  });

  test('--model that does not exist', async () => {
    const missing = path.join(dir, 'no-such-model');
    for (const command of [RERANK, SCORE]) {
      const args = [...command];
      args[2] = missing;
      assertFailure(await runCli(args, { input: command === SCORE ? PAIR : 'a\n' }), 1, /no-such-model/, /not found|does not exist/);
    }
  });

  test('a model whose model.safetensors is truncated', async () => {
    const model = copyFixture('bert-minilm-golden', 'truncated');
    const weights = path.join(model, 'model.safetensors');
    fs.truncateSync(weights, Math.floor(fs.statSync(weights).size / 2));
    assertFailure(await runCli(['rerank', '-m', model, '-q', 'q'], { input: 'a\n' }), 1, /model\.safetensors/, /truncated/);
    assertFailure(await runCli(['score', '-m', model], { input: PAIR }), 1, /model\.safetensors/, /truncated/);
    // Cut inside the header, too.
    fs.truncateSync(weights, 100);
    assertFailure(await runCli(['rerank', '-m', model, '-q', 'q'], { input: 'a\n' }), 1, /model\.safetensors/, /truncated/);
  });

  test('a model whose config.json says model_type "electra"', async () => {
    const model = copyFixture('bert-minilm-golden', 'electra');
    const configPath = path.join(model, 'config.json');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    config.model_type = 'electra';
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    const r = await runCli(['rerank', '-m', model, '-q', 'q'], { input: 'a\n' });
    assertFailure(r, 1, /config\.json/, /electra/, /[Ss]upported: .*JinaBERT.*BERT/);
  });

  test('a model without tokenizer.json', async () => {
    const model = copyFixture('bert-minilm-golden', 'no-tokenizer');
    fs.rmSync(path.join(model, 'tokenizer.json'));
    assertFailure(await runCli(['rerank', '-m', model, '-q', 'q'], { input: 'a\n' }), 1, /tokenizer\.json/);
    assertFailure(await runCli(['score', '-m', model], { input: PAIR }), 1, /tokenizer\.json/);
  });

  test('--max-length too small for the special tokens: a usage error naming the minimum', async () => {
    assertFailure(await runCli([...RERANK, '--max-length', '4'], { input: 'a\n' }), 2, /--max-length 4/, /maxLength 4 is too small/, /at least 5\b/);
    assertFailure(await runCli([...SCORE, '--max-length', '4'], { input: PAIR }), 2, /--max-length 4/, /at least 5\b/);
  });

  test('--threads beyond any machine: a usage error, not minutes spent starting threads', async () => {
    assertFailure(await runCli([...RERANK, '--threads', '100000'], { input: 'a\n', timeoutMs: 10_000 }), 2, /--threads must be at most 1024, got 100000/);
    assertFailure(await runCli([...SCORE, '--threads', '100000'], { input: PAIR, timeoutMs: 10_000 }), 2, /--threads must be at most/);
    assertFailure(await runCli(['bench', '--threads', '100000'], { timeoutMs: 10_000 }), 2, /--threads must be at most/);
  });

  test('--max-length beyond the model limit: a usage error naming the limit', async () => {
    assertFailure(await runCli([...RERANK, '--max-length', '100000'], { input: 'a\n' }), 2, /--max-length 100000/, /at most 512\b/);
    assertFailure(await runCli([...SCORE, '--max-length', '100000'], { input: PAIR }), 2, /--max-length 100000/, /at most 512\b/);
    // serve loads its models in worker threads before it listens: the same error, the same code.
    const serve = await runCli(['serve', '--model', MODEL, '--max-length', '100000', '--port', '1', '--threads', '1', '--quiet'], { timeoutMs: 30_000 });
    assertExit(serve, 2);
    assert.match(serve.stderr, /--max-length 100000: .*at most 512\b/);
  });

  test('--model through a file (ENOTDIR) or a symlink loop: the path and the problem, not an errno crash', async () => {
    // The branch permission-denied paths take too (the tests run as root, so chmod cannot show it).
    const file = path.join(dir, 'file.txt');
    fs.writeFileSync(file, 'not a folder\n');
    const through = path.join(file, 'sub');
    assertFailure(await runCli(['rerank', '-m', through, '-q', 'q'], { input: 'a\n' }), 1, new RegExp(`${escape(through)}: cannot be reached`), /part of its path is a file, not a folder/);
    assertFailure(await runCli(['score', '-m', through], { input: PAIR }), 1, new RegExp(`${escape(through)}: cannot be reached`));
    const loop = path.join(dir, 'loop');
    fs.symlinkSync(loop, loop);
    assertFailure(await runCli(['score', '-m', loop], { input: PAIR }), 1, new RegExp(`${escape(loop)}: cannot be reached`), /too many symbolic links/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
