import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseTrainConfig, Trainer } from '../../src/train/index.js';
import { tempDir } from '../helpers.js';
import { writeJsonl } from './synthetic.js';
import { tinyConfig } from './support.js';

const Q = 'cover';
const RELEVANT = 'some words cover here';
const OTHER = 'alpha beta gamma';

/** Each loss with a few examples in its documented data format (docs/TRAINING.md). */
const CASES: { loss: Record<string, unknown>; rows: object[] }[] = [
  { loss: { name: 'bce' }, rows: [{ query: Q, document: RELEVANT, label: 1 }, { query: Q, document: OTHER, label: 0 }] },
  { loss: { name: 'mse' }, rows: [{ query: Q, document: RELEVANT, teacher: 3.5 }, { query: Q, document: OTHER, teacher: -2 }] },
  {
    loss: { name: 'margin-mse' },
    rows: [{ query: Q, positive: RELEVANT, negative: OTHER, teacher_margin: 4 }, { query: 'alpha', positive: OTHER, negative: RELEVANT, teacher_positive: 2, teacher_negative: -1 }],
  },
  { loss: { name: 'listwise-kl', list_size: 3, temperature: 2 }, rows: [{ query: Q, documents: [RELEVANT, OTHER, 'delta words'], teacher: [3, -1, 0] }] },
  { loss: { name: 'listwise-ce', list_size: 3 }, rows: [{ query: Q, documents: [OTHER, RELEVANT, 'delta words'], teacher: [-2, 2, 1] }] },
  { loss: { name: 'mlm' }, rows: [{ text: 'some words cover here and there again and again' }, { text: 'alpha beta gamma delta words cover' }] },
];

test('every loss trains end to end from its data format: finite losses that fall on a tiny set', async () => {
  const dir = tempDir('turborank-losses-');
  for (const { loss, rows } of CASES) {
    const name = loss.name as string;
    writeJsonl(path.join(dir, `${name}.jsonl`), rows);
    const config = parseTrainConfig(tinyConfig({
      loss, data: { train: `${name}.jsonl` }, batch_size: 2, steps: 25, learning_rate: 1e-2, warmup_steps: 0, checkpoint_every: 25, output: name,
    }), path.join(dir, 'config.json'));
    const trainer = await Trainer.create(config);
    const losses: number[] = [];
    try {
      await trainer.run({ onStep: (r) => losses.push(r.loss) });
    } finally {
      await trainer.close();
    }
    assert.equal(losses.length, 25, name);
    assert.ok(losses.every(Number.isFinite), `${name}: ${losses}`);
    const early = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const late = losses.slice(-3).reduce((a, b) => a + b) / 3;
    assert.ok(late < early * 0.8, `${name}: loss went from ${early} to ${late}`);
  }
});
