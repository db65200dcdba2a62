import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseTrainConfig, Trainer, TrainingError } from '../../src/train/index.js';
import { assertFailure, runCli } from '../cli/support.js';
import { writeJsonl } from './synthetic.js';
import { readLog, tinyConfig, trainingFolder, writeConfig } from './support.js';

test('teacher scores too large for float32 stop training at step 1, naming the gradient that overflowed', async () => {
  const dir = trainingFolder(10);
  writeJsonl(path.join(dir, 'huge.jsonl'), Array.from({ length: 8 }, (_, i) => ({ query: 'cover', document: `words ${i} cover`, teacher: 3e38 })));
  const config = parseTrainConfig(tinyConfig({ loss: { name: 'mse' }, data: { train: 'huge.jsonl' }, batch_size: 2 }), path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  const steps: number[] = [];
  try {
    await assert.rejects(trainer.run({ onStep: (r) => steps.push(r.step) }), (err: unknown) => {
      assert.ok(err instanceof TrainingError, `a TrainingError, got ${String(err)}`);
      assert.match(err.message, /^step 1: the loss is Infinity and the gradient norm (Infinity|NaN); the gradient of \S+ has non-finite values/);
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
  assertFailure(r, 1, /^turborank: step (\d+): the loss is (NaN|-?Infinity)/m, /the gradient of \S+ has non-finite values|every gradient is finite/, /--resume/);
  const failed = Number(/step (\d+):/.exec(r.stderr)![1]);
  assert.ok(failed > 1 && failed < 50, `failed at step ${failed}`);
  assert.deepEqual(readLog(output).map((l) => l.step), Array.from({ length: failed - 1 }, (_, i) => i + 1), 'every good step was logged, the bad one not');
});
