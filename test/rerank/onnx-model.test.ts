/**
 * Models shipped as ONNX exports (Jina's onnx/model.onnx: input_ids + attention_mask only,
 * first output the logits). We make such a file from a fixture with our own graph writer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, locateModel } from '../../src/checkpoint/index.js';
import { GraphBuilder, toOnnx } from '../../src/graph/index.js';
import { buildCrossEncoder } from '../../src/models/index.js';
import { Reranker } from '../../src/rerank/index.js';
import { fixtureDir, loadExpected, tempDir } from '../helpers.js';

function jinaStyleExport(): string {
  const source = fixtureDir('jinabert-bpe-golden');
  const checkpoint = loadCheckpoint(locateModel(source));
  const graph = buildCrossEncoder(checkpoint.spec, (n) => checkpoint.weights.float32(n), { tokenTypeInput: false });
  const repo = path.join(tempDir(), 'jina-reranker-like');
  fs.mkdirSync(path.join(repo, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'onnx', 'model.onnx'), toOnnx(graph));
  for (const f of ['config.json', 'tokenizer.json']) fs.copyFileSync(path.join(source, f), path.join(repo, f));
  return repo;
}

test('an ONNX export without token_type_ids scores like the checkpoint (repo folder and .onnx path)', async () => {
  const repo = jinaStyleExport();
  const expected = loadExpected('jinabert-bpe-golden');
  for (const where of [repo, path.join(repo, 'onnx', 'model.onnx')]) {
    const reranker = await Reranker.load(where, { threads: 1, maxLength: 64 });
    assert.equal(reranker.info.format, 'onnx');
    const logits = await reranker.score(expected.cases.map((c) => ({ query: c.query, document: c.document })));
    expected.cases.forEach((c, i) => assert.ok(Math.abs(logits[i]! - c.logit) < 1e-4, `${c.id}: ${logits[i]} vs ${c.logit}`));
    await reranker.close();
  }
});

test('a corrupt ONNX file is refused with its path and a hint', async () => {
  const repo = jinaStyleExport();
  const file = path.join(repo, 'onnx', 'model.onnx');
  fs.writeFileSync(file, Buffer.from('this is not a protobuf model'));
  await assert.rejects(Reranker.load(repo), (err: Error) => err.message.includes(file) && /cannot load this model/.test(err.message));
});

test('an ONNX graph with inputs we do not feed is refused, naming them', async () => {
  const repo = jinaStyleExport();
  const g = new GraphBuilder();
  const x = g.input('pixel_values', 'float32', ['batch', 4]);
  g.output('logits', g.relu(x));
  fs.writeFileSync(path.join(repo, 'onnx', 'model.onnx'), toOnnx(g.build()));
  await assert.rejects(Reranker.load(repo), /takes inputs \[pixel_values\]/);
});

test("an ONNX export's token limit comes from config.json: RoBERTa-style models reserve pad_token_id + 1 positions", async () => {
  const repo = jinaStyleExport();
  const config = { model_type: 'xlm-roberta', position_embedding_type: 'absolute', max_position_embeddings: 66, pad_token_id: 1 };
  fs.writeFileSync(path.join(repo, 'config.json'), JSON.stringify(config));
  const reranker = await Reranker.load(repo, { threads: 1 });
  assert.equal(reranker.info.modelMaxLength, 64);
  assert.equal(reranker.info.maxLength, 64);
  await assert.rejects(reranker.score([{ query: 'q', document: 'd' }], { maxLength: 65 }), /at most 64 tokens/);
  await reranker.close();
  fs.rmSync(path.join(repo, 'config.json'));
  const noConfig = await Reranker.load(repo, { threads: 1 });
  assert.equal(noConfig.info.modelMaxLength, 8192);
  await noConfig.close();
});
