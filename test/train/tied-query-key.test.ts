/**
 * `model.tied_query_key_std`: a new model's key weights start as a copy of its query weights
 * (docs/DISTILL.md: with dropout off, what let a model here learn word matching at all).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initialWeight } from '../../src/train/init.js';
import { parseTrainConfig } from '../../src/train/index.js';

const std = (w: Float32Array): number => Math.sqrt(w.reduce((a, x) => a + x * x, 0) / w.length);
const layer = (n: number, part: string): string => `bert.encoder.layer.${n}.attention.self.${part}.weight`;

test('tied query/key initialisation: equal query and key per layer at the given std, the rest as BERT', () => {
  const shape = [64, 64];
  const q0 = initialWeight(layer(0, 'query'), shape, 42, { tiedQueryKeyStd: 0.1 });
  const k0 = initialWeight(layer(0, 'key'), shape, 42, { tiedQueryKeyStd: 0.1 });
  assert.deepEqual(k0, q0);
  assert.ok(Math.abs(std(q0) - 0.1) < 0.01, `std ${std(q0)}`);
  const q1 = initialWeight(layer(1, 'query'), shape, 42, { tiedQueryKeyStd: 0.1 });
  assert.notDeepEqual(q1, q0, 'each layer its own draw');
  const v0 = initialWeight(layer(0, 'value'), shape, 42, { tiedQueryKeyStd: 0.1 });
  assert.ok(Math.abs(std(v0) - 0.02) < 0.002, `value std ${std(v0)}`);
  assert.deepEqual(v0, initialWeight(layer(0, 'value'), shape, 42));
  assert.notDeepEqual(initialWeight(layer(0, 'key'), shape, 42), initialWeight(layer(0, 'query'), shape, 42), 'untied by default');
  assert.ok(initialWeight(layer(0, 'query').replace('.weight', '.bias'), [64], 42, { tiedQueryKeyStd: 0.1 }).every((x) => x === 0));
});

test('tied_query_key_std is for new models: refused with "init", named in the message', () => {
  const base = { data: { train: 't.jsonl' }, loss: { name: 'bce' }, steps: 10, output: 'run' };
  const config = parseTrainConfig({ ...base, model: { shape: { hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 }, tokenizer: 'tok.json', tied_query_key_std: 0.1 } }, path.join('/tmp', 'c.json'));
  assert.equal(config.model.tied_query_key_std, 0.1);
  assert.throws(() => parseTrainConfig({ ...base, model: { init: 'ckpt', tied_query_key_std: 0.1 } }, path.join('/tmp', 'c.json')), /tied_query_key_std" initialises a new model/);
  assert.throws(() => parseTrainConfig({ ...base, model: { init: 'ckpt', tied_query_key_std: -1 } }, path.join('/tmp', 'c.json')), /tied_query_key_std/);
});
