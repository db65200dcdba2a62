/** Progress: a bar only for a person at a terminal; Ctrl-C stops a run that then resumes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { NO_PROGRESS, progressBar } from '../../src/eval/progress.js';
import { fixtureDir } from '../helpers.js';
import { CLI } from '../cli/support.js';
import { spawn } from 'node:child_process';
import { scratchDir } from './fixtures.js';

function fakeTerminal(isTTY: boolean): { stream: NodeJS.WriteStream; output: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer, _encoding, done) { text += chunk.toString('utf8'); done(); } });
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream: stream as unknown as NodeJS.WriteStream, output: () => text };
}

describe('progress bar', () => {
  test('draws on a terminal: label, counts and rate', () => {
    const terminal = fakeTerminal(true);
    const bar = progressBar('reranking turbo', { stream: terminal.stream });
    bar.start(200, 50);
    bar.advance(100);
    bar.stop();
    assert.match(terminal.output(), /reranking turbo \[.*\] \d+% \| 150\/200 documents \| [\d.]+ docs\/s/);
  });

  test('stays silent when not a terminal, or with --quiet', () => {
    assert.equal(progressBar('x', { stream: fakeTerminal(false).stream }), NO_PROGRESS);
    assert.equal(progressBar('x', { stream: fakeTerminal(true).stream, quiet: true }), NO_PROGRESS);
  });
});

describe('Ctrl-C during turborank eval', () => {
  test('stops with exit 130, keeps the scores saved so far, and says how to resume', async () => {
    // Enough queries that the run is still going when the first scores are saved.
    const dir = path.join(scratchDir('sigint-'), 'many-queries');
    fs.mkdirSync(path.join(dir, 'qrels'), { recursive: true });
    const n = 3000;
    const lines = (f: (i: number) => object): string => Array.from({ length: n }, (_, i) => JSON.stringify(f(i))).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'corpus.jsonl'), lines((i) => ({ _id: `d${i}`, title: '', text: `topic${i % 50} word${i}` })));
    fs.writeFileSync(path.join(dir, 'queries.jsonl'), lines((i) => ({ _id: `q${i}`, text: `topic${i % 50}` })));
    fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n' + Array.from({ length: n }, (_, i) => `q${i}\td${i}\t1`).join('\n') + '\n');
    const out = path.join(dir, 'out');
    const child = spawn(process.execPath, [CLI, 'eval', 'beir', '--data', dir, '--out', out, '--model', fixtureDir('bert-minilm-golden'), '--max-length', '32', '--threads', '1', '--top-k', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const cache = path.join(out, 'scores.test.bert-minilm-golden.jsonl');
    const deadline = Date.now() + 30_000;
    while (!(fs.existsSync(cache) && fs.readFileSync(cache, 'utf8').split('\n').length > 3) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted: \d+ of 9000 documents scored, saved in .*scores\.test\.bert-minilm-golden\.jsonl/);
    assert.match(stderr, /run the same command again to resume/);
    const saved = fs.readFileSync(cache, 'utf8').trim().split('\n').length - 1;
    assert.ok(saved >= 2 && saved < n, `${saved} queries saved`);
  });
});
