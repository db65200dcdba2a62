import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assertFailure, assertOk, runCli as runCliWithin } from '../cli/support.js';

/** Several training CLIs run at once here: on a busy 2-core machine each can take well over 20 s to start. */
const runCli = (args: readonly string[]): ReturnType<typeof runCliWithin> => runCliWithin(args, { timeoutMs: 90_000 });
import { readLog, tinyConfig, trainingFolder, writeConfig } from './support.js';

const DROPOUT_ON = { hidden: 0.1, attention: 0.1 };

test('two processes training the same config (dropout on) log identical losses; dropout changes them', async () => {
  const dir = trainingFolder();
  const config = (output: string, dropout: object): string =>
    writeConfig(dir, tinyConfig({ output, dropout, threads: 2, data: { train: 'train.jsonl', dev: 'dev.jsonl' }, eval_every: 10 }), `${output}.json`);
  const [a, b, plain] = await Promise.all([
    runCli(['train', '--config', config('a', DROPOUT_ON), '--json']),
    runCli(['train', '--config', config('b', DROPOUT_ON)]),
    runCli(['train', '--config', config('plain', { hidden: 0, attention: 0 })]),
  ]);
  for (const r of [a, b, plain]) assertOk(r);
  const [logA, logB, logPlain] = ['a', 'b', 'plain'].map((o) => readLog(path.join(dir, o)));

  assert.deepEqual(logA!.map((l) => l.step), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(logB!.map((l) => l.loss), logA!.map((l) => l.loss), 'same seed, same data, same losses');
  assert.deepEqual(logB!.map((l) => l.grad_norm), logA!.map((l) => l.grad_norm));
  assert.notDeepEqual(logPlain!.map((l) => l.loss), logA!.map((l) => l.loss), 'dropout is on in the first two runs');

  // Every line carries the step's numbers; evaluations and checkpoints are on their steps.
  for (const line of logA!) {
    for (const key of ['loss', 'learning_rate', 'grad_norm', 'tokens_per_second', 'elapsed_seconds'] as const) {
      assert.ok(Number.isFinite(line[key]), `step ${line.step}: ${key} is ${line[key]}`);
    }
    assert.equal(line.checkpoint !== undefined, line.step % 10 === 0, `step ${line.step}: checkpoint ${line.checkpoint}`);
    assert.equal(line.dev !== undefined, line.step % 10 === 0, `step ${line.step}: dev ${JSON.stringify(line.dev)}`);
  }
  assert.equal(logA![19]!.checkpoint, path.join(dir, 'a', 'checkpoint-20'));
  assert.equal(logA![0]!.learning_rate, 3e-3 / 2, 'warm-up: step 1 of 2');
  assert.equal(logA![19]!.learning_rate, 0, 'linear decay ends at 0');
  assert.equal(logA![9]!.dev!.examples, 40);

  const summary = JSON.parse(a.stdout) as Record<string, unknown>;
  assert.equal(summary.status, 'completed');
  assert.equal(summary.first_step, 1);
  assert.equal(summary.last_step, 20);
  assert.equal(summary.final_loss, logA![19]!.loss);
  assert.equal(summary.checkpoint, path.join(dir, 'a', 'checkpoint-20'));
  assert.match(b.stdout, /^trained steps 1–20 of 20 in .*final loss \d\.\d{4}; \d+ tokens\/s; dev loss .*checkpoint .*checkpoint-20; log .*train_log\.jsonl\n$/);
  // Not a terminal: a plain progress line every log_every steps on stderr, nothing else.
  assert.match(b.stderr, /^step 1\/20 {2}loss \d\.\d{4} {2}lr 1\.500e-3 {2}grad_norm \S+ {2}\d+ tokens\/s {2}ETA \S+\nstep 5\/20 /);

  // The same config again, without --resume, would overwrite the run: refused.
  assertFailure(await runCli(['train', '--config', path.join(dir, 'a.json')]), 2, /already holds a training run \(latest: checkpoint-20\)/, /--resume/);
});

test('--quiet prints nothing on stderr and still writes the log', async () => {
  const dir = trainingFolder();
  const r = await runCli(['train', '--config', writeConfig(dir, tinyConfig({ steps: 6, checkpoint_every: 3 })), '--quiet']);
  assertOk(r);
  assert.equal(r.stderr, '');
  assert.equal(readLog(path.join(dir, 'run')).length, 6);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'run')).sort(), ['checkpoint-3', 'checkpoint-6', 'latest.json', 'train_log.jsonl']);
});

test('a bad config is refused with the field named, before anything is written', async () => {
  const dir = trainingFolder(10);
  const { steps: _steps, ...withoutSteps } = tinyConfig();
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['unknown-key', tinyConfig({ learnig_rate: 1e-3 }), /learnig_rate/],
    ['missing-field', withoutSteps, /steps: .*(expected number|Required|received undefined)/i],
    ['wrong-type', tinyConfig({ batch_size: '16' }), /batch_size: .*expected number/i],
    ['bad-loss', tinyConfig({ loss: { name: 'hinge' } }), /loss/],
    ['no-model', tinyConfig({ model: { shape: { hidden_size: 16 } } }), /model\.shape\.num_hidden_layers/],
  ];
  const results = await Promise.all(cases.map(([name, config]) => runCli(['train', '--config', writeConfig(dir, { ...config, output: name }, `${name}.json`)])));
  results.forEach((r, i) => {
    const [name, , field] = cases[i]!;
    assertFailure(r, 1, /invalid training config/, field);
    assert.ok(!fs.existsSync(path.join(dir, name)), `${name}: no output folder was made`);
  });
  assertFailure(await runCli(['train']), 2, /--config FILE/);
  assertFailure(await runCli(['train', 'config.json']), 2, /--config/);
  assertFailure(await runCli(['train', '--config', path.join(dir, 'missing.json')]), 1, /missing\.json: no such file/);
  fs.writeFileSync(path.join(dir, 'broken.json'), '{"steps": 3,');
  assertFailure(await runCli(['train', '--config', path.join(dir, 'broken.json')]), 1, /broken\.json: not valid JSON/);
  assertFailure(await runCli(['train', '--config', writeConfig(dir, tinyConfig({ output: 'never' }), 'r.json'), '--resume']), 1, /--resume: no checkpoint in .*never/);
});
