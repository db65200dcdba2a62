/**
 * End-to-end gradient check of whole cross-encoders: float64 graphs of the golden fixtures,
 * a padded two-pair batch, loss = logit₀ − 0.7·logit₁; every parameter tensor's gradient
 * (a spread of its elements, and the embedding rows actually used) within 1e-3 relative error
 * of central finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { loadCheckpoint, locateModel } from '../../src/checkpoint/index.js';
import { GraphBuilder, type Value } from '../../src/graph/index.js';
import { crossEncoderLogits } from '../../src/models/index.js';
import { fixtureDir, loadExpected, type GoldenFixture } from '../helpers.js';
import { gradCheck } from '../graph/gradcheck.js';

async function checkModel(name: GoldenFixture): Promise<void> {
  const checkpoint = loadCheckpoint(locateModel(fixtureDir(name)));
  const g = new GraphBuilder();
  const logits = crossEncoderLogits(g, checkpoint.spec, (n) => checkpoint.weights.float32(n), { dtype: 'float64' });
  const weights = g.input('loss_weights', 'float64', ['batch', 1]);
  const loss = g.reduceSum(g.mul(logits, weights), [0, 1], false);
  const params = g.parameters();

  const batch = loadExpected(name).batches[0]!;
  const rows = batch.input_ids.slice(0, 2).map((r) => r.slice(0, 24));
  const masks = batch.attention_mask.slice(0, 2).map((r) => r.slice(0, 24));
  const types = (batch.token_type_ids ?? batch.input_ids.map((r) => r.map(() => 0))).slice(0, 2).map((r) => r.slice(0, 24));
  const tensor = (m: number[][]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(m.flat(), BigInt), [2, 24]);
  const hidden = checkpoint.spec.hiddenSize;
  const usedRows = [...new Set(rows.flat())].slice(0, 4).map((id) => id * hidden + 3);
  const wordEmbeddings = params.find((p: Value) => p.name!.endsWith('word_embeddings.weight'))!.name!;

  const report = await gradCheck(
    { g, loss, params, feeds: {
      input_ids: tensor(rows), attention_mask: tensor(masks), token_type_ids: tensor(types),
      loss_weights: new ort.Tensor('float64', Float64Array.from([1, -0.7]), [2, 1]),
    } },
    { eps: 1e-5, relTolerance: 1e-3, floor: 1e-6, samplesPerParam: 6, preferred: { [wordEmbeddings]: usedRows } },
  );
  assert.ok(report.checked >= params.length * 2, `checked only ${report.checked}`);
  assert.ok(report.worst.error < 1e-3, `${name}: worst ${JSON.stringify(report.worst)}`);
}

test('JinaBERT (ALiBi, GEGLU): every parameter gradient within 1e-3 of finite differences', () => checkModel('jinabert-tiny-golden'));
test('BERT (absolute positions, GELU MLP): every parameter gradient within 1e-3 of finite differences', () => checkModel('bert-minilm-golden'));
test('XLM-R (positions from the padding index, RoBERTa head): every parameter gradient within 1e-3 of finite differences', () => checkModel('xlmr-golden'));
test('DeBERTa-v3 (disentangled attention, relative rows, context pooler): every parameter gradient within 1e-3 of finite differences', () => checkModel('deberta-v2-golden'));
