import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Reranker } from '../../src/rerank/index.js';
import { PairTokenizer, packBatch } from '../../src/tokenizer/index.js';
import { buildTrainingGraph, parseTrainConfig, Trainer } from '../../src/train/index.js';
import { SYNTHETIC_TOKENIZER, containsWordExamples } from './synthetic.js';
import { tinyConfig, trainingFolder } from './support.js';

test('a trained checkpoint scores in Reranker.load as the in-training graph does (within 1e-5)', async () => {
  const dir = trainingFolder();
  const config = parseTrainConfig(tinyConfig({ steps: 30, checkpoint_every: 30, learning_rate: 1e-2, dropout: { hidden: 0.1, attention: 0.1 } }), path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  await trainer.run();
  const weights = trainer.weights();
  const spec = trainer.spec;
  await trainer.close();

  const pairs = containsWordExamples(12, 9).map(({ query, document }) => ({ query, document }));
  const reranker = await Reranker.load(path.join(dir, 'run', 'checkpoint-30'), { threads: 1 });
  const scores = await reranker.score(pairs, { maxLength: config.max_length });
  await reranker.close();
  assert.ok(new Set(scores).size > 6, `training moved the weights off the all-equal start: ${Array.from(scores)}`);

  // The training graph itself (model + MSE loss, dropout off as in evaluation), fed the
  // trainer's in-memory weights and, as the teacher, the reranker's logit: the loss is then
  // (s_train − s_reranker)², and with the teacher moved by 1 it is (s_train − s_reranker − 1)²,
  // which together give the signed difference.
  const graph = buildTrainingGraph(spec, (name) => weights.get(name)!, { name: 'mse' });
  const session = await ort.InferenceSession.create(graph.onnx, { intraOpNumThreads: 1 });
  const tokenizer = await PairTokenizer.load(SYNTHETIC_TOKENIZER);
  const params: Record<string, ort.Tensor> = {};
  for (const p of graph.parameters) params[p.name] = new ort.Tensor('float32', weights.get(p.name)!, [...p.shape]);
  const lossFor = async (i: number, teacher: number): Promise<number> => {
    const batch = packBatch(await tokenizer.encodePairs([pairs[i]!], config.max_length), tokenizer.padId);
    const dims = [1, batch.seqLen];
    const out = await session.run({
      ...params,
      input_ids: new ort.Tensor('int64', batch.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
      token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, dims),
      teacher: new ort.Tensor('float32', Float32Array.of(teacher), [1]),
    });
    return Number((out.loss!.data as Float32Array)[0]);
  };
  for (let i = 0; i < pairs.length; i++) {
    const atScore = await lossFor(i, scores[i]!);
    const shifted = await lossFor(i, scores[i]! + 1);
    const difference = (atScore - shifted + 1) / 2;
    assert.ok(Math.sqrt(atScore) < 1e-5 && Math.abs(difference) < 1e-5,
      `pair ${i}: training graph and Reranker differ by ${difference} (loss at the reranker's logit ${atScore})`);
  }
  await session.release();
});
