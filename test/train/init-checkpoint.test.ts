import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { Reranker } from '../../src/rerank/index.js';
import { parseTrainConfig, Trainer } from '../../src/train/index.js';
import { fixtureDir } from '../helpers.js';
import { tinyConfig, trainingFolder } from './support.js';

const GOLDEN = fixtureDir('jinabert-tiny-golden');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

function tensorShapes(dir: string): [string, readonly number[]][] {
  const file = SafetensorsFile.read(path.join(dir, 'model.safetensors'));
  return file.names().sort().map((n) => [n, file.shape(n)!]);
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** What transformers needs to load the checkpoint as the model it was trained from. */
function assertLikeGolden(checkpoint: string): void {
  assert.deepEqual(tensorShapes(checkpoint), tensorShapes(GOLDEN), `${checkpoint}: the original tensor names and shapes`);
  const original = readJson(path.join(GOLDEN, 'config.json'));
  const written = readJson(path.join(checkpoint, 'config.json'));
  assert.deepEqual(written.auto_map, original.auto_map, 'auto_map, which makes transformers load JinaBERT (ALiBi) rather than BERT');
  for (const key of ['position_embedding_type', 'feed_forward_type', 'emb_pooler', 'attn_implementation', 'hidden_size', 'num_hidden_layers', 'vocab_size', 'max_position_embeddings', 'hidden_dropout_prob']) {
    assert.deepEqual(written[key], original[key], `config.json ${key}`);
  }
  assert.equal(written.num_labels, 1);
  for (const name of TOKENIZER_FILES) {
    assert.ok(fs.existsSync(path.join(checkpoint, name)), `${checkpoint} has ${name}`);
    assert.ok(fs.readFileSync(path.join(checkpoint, name)).equals(fs.readFileSync(path.join(GOLDEN, name))), `${name} is the original's`);
  }
}

test('a checkpoint trained from a Hugging Face folder keeps its tensor names, auto_map and tokenizer files, also after --resume', async () => {
  const dir = trainingFolder(40);
  const fields = { model: { init: GOLDEN }, steps: 2, checkpoint_every: 1, keep_checkpoints: 1 };
  const first = await Trainer.create(parseTrainConfig(tinyConfig(fields), path.join(dir, 'config.json')));
  await first.run();
  await first.close();
  const output = path.join(dir, 'run');
  assertLikeGolden(path.join(output, 'checkpoint-2'));
  assert.ok(!fs.existsSync(path.join(output, 'checkpoint-1')), 'the older checkpoint was pruned');

  // Resumed from checkpoint-2 (which pruning then removes), the files still come through.
  const resumed = await Trainer.create(parseTrainConfig(tinyConfig({ ...fields, steps: 4 }), path.join(dir, 'config.json')), { resume: true });
  await resumed.run();
  await resumed.close();
  assertLikeGolden(path.join(output, 'checkpoint-4'));
  assert.ok(!fs.existsSync(path.join(output, 'checkpoint-2')));

  const reranker = await Reranker.load(path.join(output, 'checkpoint-4'), { threads: 1 });
  const [score] = await reranker.score([{ query: 'cover', document: 'some words cover here' }]);
  await reranker.close();
  assert.ok(Number.isFinite(score), 'the checkpoint loads and scores');
});

test('a model trained from a shape has the tokenizer files of the tokenizer it names', async () => {
  const dir = trainingFolder(40);
  const trainer = await Trainer.create(parseTrainConfig(tinyConfig({ steps: 1, checkpoint_every: 1 }), path.join(dir, 'config.json')));
  await trainer.run();
  await trainer.close();
  const checkpoint = path.join(dir, 'run', 'checkpoint-1');
  for (const name of TOKENIZER_FILES) assert.ok(fs.existsSync(path.join(checkpoint, name)), `${name} copied from the tokenizer's folder`);
  const config = readJson(path.join(checkpoint, 'config.json'));
  assert.equal(config.auto_map, undefined, 'no original config, no auto_map');
  assert.equal(config.position_embedding_type, 'alibi');
});
