import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseTrainConfig, Trainer } from '../../src/train/index.js';
import { Reranker } from '../../src/rerank/index.js';
import { tempDir } from '../helpers.js';
import { SYNTHETIC_TOKENIZER, containsWordExamples, vocabularyWords, writeJsonl } from './synthetic.js';

test('a tiny cross-encoder learns "does the document contain the query word?" far above chance', async () => {
  const dir = tempDir();
  writeJsonl(path.join(dir, 'train.jsonl'), containsWordExamples(3000, 1));
  writeJsonl(path.join(dir, 'dev.jsonl'), containsWordExamples(200, 2));
  const config = parseTrainConfig({
    model: { shape: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64 }, tokenizer: SYNTHETIC_TOKENIZER },
    data: { train: 'train.jsonl', dev: 'dev.jsonl' },
    loss: { name: 'bce' },
    max_length: 24, batch_size: 32, steps: 300, learning_rate: 1e-3, warmup_steps: 20, decay: 'linear',
    dropout: { hidden: 0, attention: 0 }, seed: 3, threads: 1, checkpoint_every: 300, eval_every: 300, output: 'run',
  }, path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  const before = await trainer.evaluate();
  const losses: number[] = [];
  let dev;
  await trainer.run({ onStep: (r) => { losses.push(r.loss); if (r.dev) dev = r.dev; } });
  await trainer.close();
  assert.ok(before && before.accuracy! < 0.65, `untrained accuracy ${before?.accuracy}`);
  assert.ok(dev, 'dev metrics were reported');
  const { accuracy, mrr, rankedQueries } = dev as { accuracy: number; mrr: number; rankedQueries: number };
  assert.ok(accuracy > 0.9, `held-out accuracy after 300 steps: ${accuracy}`);
  // dev pairs sharing a query word form its candidate list: ranking went from chance to near-perfect
  assert.ok(rankedQueries > 10 && before.rankedQueries === rankedQueries, `ranked queries ${rankedQueries}`);
  assert.ok(mrr > 0.9 && before.mrr! < mrr - 0.15, `dev MRR ${before.mrr} → ${mrr}`);
  const early = losses.slice(0, 20).reduce((a, b) => a + b) / 20;
  const late = losses.slice(-20).reduce((a, b) => a + b) / 20;
  assert.ok(late < early / 2, `loss fell from ${early} to ${late}`);

  // The final checkpoint is a model folder Reranker.load reads, and it ranks like training
  // says: for each of several query words, of three documents the one holding the word is first.
  const words = vocabularyWords();
  const reranker = await Reranker.load(path.join(dir, 'run', 'checkpoint-300'), { threads: 1 });
  try {
    for (let q = 0; q < 6; q++) {
      const query = words[q * 31]!;
      const filler = (k: number): string[] => Array.from({ length: 6 }, (_, j) => words[(q * 31 + 7 + k * 13 + j * 5) % words.length]!).filter((w) => w !== query);
      const documents = [filler(0), filler(1), filler(2)].map((d) => d.join(' '));
      const holder = q % 3;
      documents[holder] = [...filler(holder).slice(0, 3), query, ...filler(holder).slice(3)].join(' ');
      const ranked = await reranker.rerank(query, documents);
      assert.equal(ranked[0]!.index, holder, `query "${query}": the document holding it ranks first (${JSON.stringify(ranked.map((r) => [r.index, r.score]))})`);
    }
  } finally {
    await reranker.close();
  }
});
