import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../src/checkpoint/index.js';
import { InputError } from '../../src/errors.js';
import { parseTrainConfig, Trainer, TrainingError } from '../../src/train/index.js';
import { assertFailure, runCli } from '../cli/support.js';
import { fixtureDir, tempDir } from '../helpers.js';
import { writeJsonl } from './synthetic.js';
import { readLog, tinyConfig, trainingFolder, writeConfig } from './support.js';

test('teacher scores whose squares overflow float32 stop training at step 1, naming the largest teacher score and the gradient that overflowed', async () => {
  const dir = trainingFolder(10);
  writeJsonl(path.join(dir, 'huge.jsonl'), Array.from({ length: 8 }, (_, i) => ({ query: 'cover', document: `words ${i} cover`, teacher: 3e38 })));
  const config = parseTrainConfig(tinyConfig({ loss: { name: 'mse' }, data: { train: 'huge.jsonl' }, batch_size: 2 }), path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  const steps: number[] = [];
  try {
    await assert.rejects(trainer.run({ onStep: (r) => steps.push(r.step) }), (err: unknown) => {
      assert.ok(err instanceof TrainingError, `a TrainingError, got ${String(err)}`);
      assert.match(err.message, /^step 1: the loss is Infinity and the gradient norm (Infinity|NaN); the scores \(largest \|logit\| [\d.e+-]+\) and teacher \(largest \|value\| 3\.00e\+38\) are finite, but the gradient of \S+ has non-finite values/);
      assert.match(err.message, /lower learning_rate.*check the data for extreme teacher scores/);
      return true;
    });
  } finally {
    await trainer.close();
  }
  assert.deepEqual(steps, [], 'no step was reported');
});

test('an absurd learning rate makes `turborank train` exit 1 naming the step that went non-finite', async () => {
  const dir = trainingFolder();
  const output = path.join(dir, 'run');
  const r = await runCli(['train', '--config', writeConfig(dir, tinyConfig({ learning_rate: 1e6, warmup_steps: 0, steps: 50 }))]);
  assertFailure(r, 1, /^turborank: step (\d+): (the loss is (NaN|-?Infinity)|the AdamW update)/m,
    /the model's scores \(logits\) are non-finite for \d+ of 8 sequences|the gradient of \S+ has non-finite values|made the weight \S+ non-finite|the loss itself overflowed/, /--resume/);
  assert.doesNotMatch(r.stderr, /every gradient is finite/);
  const failed = Number(/step (\d+):/.exec(r.stderr)![1]);
  assert.ok(failed > 1 && failed < 50, `failed at step ${failed}`);
  assert.deepEqual(readLog(output).map((l) => l.step), Array.from({ length: failed - 1 }, (_, i) => i + 1), 'every good step was logged, the bad one not');
});

/** A copy of the golden JinaBERT fixture with some weights replaced. */
function goldenWith(changes: Record<string, (x: Float32Array) => void>): string {
  const dir = path.join(tempDir('turborank-nan-'), 'model');
  fs.cpSync(fixtureDir('jinabert-tiny-golden'), dir, { recursive: true });
  const file = SafetensorsFile.read(path.join(dir, 'model.safetensors'));
  const tensors = file.names().map((name) => {
    const data = file.float32(name).slice();
    changes[name]?.(data);
    return { name, dtype: 'F32' as const, shape: file.shape(name)!, data };
  });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}

async function failure(config: Record<string, unknown>, dir: string): Promise<{ message: string; steps: number[]; trainer: Trainer }> {
  const trainer = await Trainer.create(parseTrainConfig(config, path.join(dir, 'config.json')));
  const steps: number[] = [];
  let message = '';
  await assert.rejects(trainer.run({ onStep: (r) => steps.push(r.step) }), (err: unknown) => {
    assert.ok(err instanceof TrainingError, `a TrainingError, got ${String(err)}`);
    message = err.message;
    return true;
  });
  return { message, steps, trainer };
}

test('scores that overflow float32 with finite weights are named as the cause, not a gradient', async () => {
  const dir = trainingFolder(16);
  // The pooler outputs tanh(1) everywhere; 64 × 0.76 × 1e38 is beyond float32: every logit is +∞.
  const init = goldenWith({
    'bert.pooler.dense.weight': (x) => x.fill(0),
    'bert.pooler.dense.bias': (x) => x.fill(1),
    'classifier.weight': (x) => x.fill(1e38),
  });
  const { message, steps, trainer } = await failure(tinyConfig({ model: { init }, batch_size: 4 }), dir);
  await trainer.close();
  assert.match(message, /^step 1: the loss is (NaN|Infinity) and the gradient norm \S+; the model's scores \(logits\) are non-finite for 4 of 4 sequences$/m);
  assert.deepEqual(steps, []);
});

test('an update that would make a weight non-finite stops the run before it is applied, naming the weight', async () => {
  const dir = trainingFolder(16);
  // 1e39 is infinity in float32: the first update overflows every weight it touches.
  const { message, steps, trainer } = await failure(tinyConfig({ learning_rate: 1e39, warmup_steps: 0, decay: 'constant' }), dir);
  const weights = trainer.weights();
  await trainer.close();
  assert.match(message, /^step 1: the AdamW update \(learning rate 1e\+39, gradient norm [\d.]+\) made the weight bert\.\S+ non-finite; the update was not applied$/m);
  assert.deepEqual(steps, []);
  for (const [name, w] of weights) assert.ok(w.every(Number.isFinite), `${name} kept its finite values`);
  assert.ok(!fs.existsSync(path.join(dir, 'run', 'checkpoint-1')), 'nothing was saved');
});

test('a starting checkpoint holding NaN is refused before training, naming the weight', async () => {
  const dir = trainingFolder(16);
  const init = goldenWith({ 'bert.encoder.layer.1.mlp.wo.weight': (x) => { x[5] = NaN; } });
  await assert.rejects(Trainer.create(parseTrainConfig(tinyConfig({ model: { init } }), path.join(dir, 'config.json'))),
    (err: unknown) => err instanceof TrainingError && err.message.split('\n')[0] === `${init}: the weight bert.encoder.layer.1.mlp.wo.weight holds non-finite values (NaN or infinity)`);
});

test('a teacher score beyond float32 is refused when the data is read, naming the line', async () => {
  const dir = trainingFolder(16);
  writeJsonl(path.join(dir, 'big.jsonl'), [{ query: 'a', document: 'b', teacher: 1 }, { query: 'a', document: 'b', teacher: -1e39 }]);
  await assert.rejects(Trainer.create(parseTrainConfig(tinyConfig({ loss: { name: 'mse' }, data: { train: 'big.jsonl' } }), path.join(dir, 'config.json'))),
    (err: unknown) => err instanceof InputError && /big\.jsonl line 2: "teacher" is -1e\+39, beyond float32's range/.test(err.message));
});
