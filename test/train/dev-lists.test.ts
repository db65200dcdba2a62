/**
 * Dev metrics of listwise data: the loss as trained and the MRR of each list's top-target
 * document, checked against the saved checkpoint scored through Reranker (another path from
 * the weights to the logits) and the formulas of docs/TRAINING.md computed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseTrainConfig, Trainer } from '../../src/train/index.js';
import type { DevMetrics } from '../../src/train/evaluate.js';
import { Reranker } from '../../src/rerank/index.js';
import { tempDir } from '../helpers.js';
import { containsWordExamples, writeJsonl } from './synthetic.js';
import { tinyConfig } from './support.js';

/** Lists of 4: the query's word-holding document at `at`, then three without it. */
function lists(n: number, seed: number, targets: (at: number) => number[]): { query: string; documents: string[]; teacher: number[] }[] {
  const rows = containsWordExamples(n * 8, seed);
  return Array.from({ length: n }, (_, i) => {
    const positive = rows.find((r, j) => j >= i * 8 && r.label === 1)!;
    const others = rows.filter((r, j) => j >= i * 8 && r.label === 0 && !r.document.split(' ').includes(positive.query)).slice(0, 3).map((r) => r.document);
    const at = i % 4;
    const documents = [...others];
    documents.splice(at, 0, positive.document);
    return { query: positive.query, documents, teacher: targets(at) };
  });
}

const logSoftmax = (xs: readonly number[]): number[] => {
  const max = Math.max(...xs);
  const log = max + Math.log(xs.reduce((a, x) => a + Math.exp(x - max), 0));
  return xs.map((x) => x - log);
};

for (const loss of [{ name: 'listwise-ce', list_size: 4, temperature: 1 }, { name: 'listwise-kl', list_size: 4, temperature: 2 }] as const) {
  test(`${loss.name} dev lists: the loss as trained and the MRR of the top-target document`, async () => {
    const dir = tempDir('turborank-dev-lists-');
    // one-hot-like targets for ce; graded ones for kl (the top one still the word holder)
    const target = (at: number): number[] => [0, 1, 2, 3].map((i) => (i === at ? (loss.name === 'listwise-ce' ? 20 : 3) : loss.name === 'listwise-ce' ? 0 : -i / 2));
    writeJsonl(path.join(dir, 'train.jsonl'), lists(40, 1, target));
    const devRows = lists(12, 2, target);
    writeJsonl(path.join(dir, 'dev.jsonl'), devRows);
    const config = parseTrainConfig(tinyConfig({
      loss, data: { train: 'train.jsonl', dev: 'dev.jsonl' }, batch_size: 4, steps: 10, checkpoint_every: 10, eval_every: 10,
    }), path.join(dir, 'config.json'));
    const trainer = await Trainer.create(config);
    let dev: DevMetrics | undefined;
    try {
      await trainer.run({ onStep: (r) => { if (r.dev) dev = r.dev; } });
    } finally {
      await trainer.close();
    }
    assert.ok(dev, 'dev metrics were reported at the last step');

    const reranker = await Reranker.load(path.join(dir, 'run', 'checkpoint-10'), { threads: 1 });
    let expectedLoss = 0;
    let expectedMrr = 0;
    try {
      for (const row of devRows) {
        const scores = await reranker.score(row.documents.map((document) => ({ query: row.query, document })), { maxLength: 24 });
        const tau = loss.temperature;
        const p = logSoftmax(row.teacher.map((t) => t / tau)).map(Math.exp);
        const logQ = logSoftmax(Array.from(scores, (s) => s / tau));
        expectedLoss += tau * tau * p.reduce((a, pi, i) => a - pi * logQ[i]! + (loss.name === 'listwise-kl' ? pi * Math.log(pi) : 0), 0);
        const best = row.teacher.indexOf(Math.max(...row.teacher));
        const above = Array.from(scores).filter((s, i) => i !== best && s > scores[best]!).length;
        const tied = Array.from(scores).filter((s, i) => i !== best && s === scores[best]!).length;
        expectedMrr += 1 / (1 + above + tied / 2);
      }
    } finally {
      await reranker.close();
    }
    expectedLoss /= devRows.length;
    expectedMrr /= devRows.length;
    assert.equal(dev.examples, devRows.length);
    assert.equal(dev.rankedQueries, devRows.length);
    assert.equal(dev.accuracy, undefined, 'lists have no accuracy');
    assert.ok(Math.abs(dev.loss - expectedLoss) < 1e-3 * Math.max(1, expectedLoss), `dev loss ${dev.loss}, expected ${expectedLoss}`);
    assert.ok(Math.abs(dev.mrr! - expectedMrr) < 1e-9, `dev MRR ${dev.mrr}, expected ${expectedMrr}`);
  });
}
