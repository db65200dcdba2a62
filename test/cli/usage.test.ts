/** `turborank` command-line usage: help texts and exit code 2 for wrong usage. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureDir } from '../helpers.js';
import { assertFailure, assertOk, runCli } from './support.js';

const MODEL = fixtureDir('bert-minilm-golden');

describe('turborank usage', { concurrency: 4 }, () => {
  test('--help prints the command list on stdout and exits 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await runCli(args);
      assertOk(r);
      assert.match(r.stdout, /^Usage: turborank <command>/m);
      for (const command of ['rerank', 'score', 'bench']) assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'));
      assert.equal(r.stderr, '');
    }
  });

  for (const command of ['rerank', 'score', 'bench']) {
    test(`${command} --help prints that command's usage on stdout and exits 0`, async () => {
      for (const flag of ['--help', '-h']) {
        const r = await runCli([command, flag]);
        assertOk(r);
        assert.match(r.stdout, new RegExp(`^Usage: turborank ${command} `));
        assert.match(r.stdout, /^Options:$/m);
        assert.match(r.stdout, /--model M/);
        assert.equal(r.stderr, '');
      }
    });
  }

  test('--help wins over other options, even invalid values', async () => {
    const r = await runCli(['rerank', '--top-n', 'abc', '--help']);
    assertOk(r);
    assert.match(r.stdout, /^Usage: turborank rerank /);
  });

  test('--version prints the version', async () => {
    const r = await runCli(['--version']);
    assertOk(r);
    assert.match(r.stdout, /^turborank \d+\.\d+\.\d+\n$/);
  });

  test('no command: usage on stdout, exit 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /^Usage: turborank <command>/m);
  });

  test('unknown command: exit 2, names it and lists the commands', async () => {
    const r = await runCli(['frobnicate']);
    assertFailure(r, 2, /unknown command 'frobnicate'/, /rerank, score, bench/);
  });

  test('unknown option: exit 2, names the option', async () => {
    for (const command of ['rerank', 'score', 'bench']) {
      const r = await runCli([command, '--bogus'], { input: 'x\n' });
      assertFailure(r, 2, /--bogus/, new RegExp(`turborank ${command} --help`));
    }
  });

  test('rerank without --query: exit 2', async () => {
    const r = await runCli(['rerank', '--model', MODEL], { input: 'a document\n' });
    assertFailure(r, 2, /--query is required/);
  });

  test('option without its value: exit 2', async () => {
    const r = await runCli(['rerank', '--model', MODEL, '--query']);
    assertFailure(r, 2, /--query/);
  });

  test('bad integers: exit 2, naming the option and the value', async () => {
    const cases: [string[], RegExp][] = [
      [['rerank', '-q', 'x', '--top-n', 'abc'], /--top-n must be an integer ≥ 0, got 'abc'/],
      [['rerank', '-q', 'x', '--max-length', '0'], /--max-length must be an integer ≥ 1, got '0'/],
      [['rerank', '-q', 'x', '--batch-size', '2.5'], /--batch-size must be an integer ≥ 1, got '2.5'/],
      [['rerank', '-q', 'x', '--threads', '1e3'], /--threads must be an integer ≥ 1, got '1e3'/],
      [['score', '--chunk', '0'], /--chunk must be an integer ≥ 1, got '0'/],
      [['score', '--max-length', 'many'], /--max-length must be an integer ≥ 1, got 'many'/],
      [['bench', '--tokens', '1'], /--tokens must be an integer ≥ 2, got '1'/],
      [['bench', '--pairs=-3'], /--pairs must be an integer ≥ 1, got '-3'/],
    ];
    await Promise.all(cases.map(async ([args, message]) => {
      const r = await runCli(args[0] === 'bench' ? args : [...args, '--model', MODEL], { input: 'a\n' });
      assertFailure(r, 2, message);
    }));
  });

  test('rerank: --format must be known; at most one FILE', async () => {
    assertFailure(await runCli(['rerank', '-q', 'x', '--format', 'csv'], { input: 'a\n' }), 2, /--format must be one of auto, lines, jsonl, json, got 'csv'/);
    assertFailure(await runCli(['rerank', '-q', 'x', 'a.txt', 'b.txt']), 2, /at most one FILE/);
    assertFailure(await runCli(['score', 'a.jsonl', 'b.jsonl']), 2, /at most one FILE/);
    assertFailure(await runCli(['bench', 'extra']), 2, /bench takes no FILE/);
  });

  test('bench --shape nope: exit 2 listing the shapes', async () => {
    const r = await runCli(['bench', '--shape', 'nope']);
    assertFailure(r, 2, /--shape must be one of turbo, tiny, base, minilm-l6, bge-reranker-base, mxbai-xsmall, got 'nope'/);
  });
});
