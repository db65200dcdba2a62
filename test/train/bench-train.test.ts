import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFailure, assertOk, parseJson, runCli } from '../cli/support.js';

interface BenchTrainJson {
  model: string;
  tokens: number;
  batchSize: number;
  steps: number;
  parameters: number;
  secondsPerStep: number;
  forwardBackwardSeconds: number;
  optimizerSeconds: number;
  tokensPerSecond: number;
  gflopsPerSecond: number;
  matmul: { shape: string; gflopsPerSecond: number }[];
  fractionOfMatmul: number;
  peakRssMiB: number;
}

test('`bench train` times training steps of a real shape and reports them against the matmul rate', async () => {
  const r = await runCli(['bench', 'train', '--shape', 'tiny', '--tokens', '16', '--batch-size', '2', '--warmup', '1', '--steps', '1', '--threads', '1', '--json'], { timeoutMs: 60_000 });
  assertOk(r);
  const report = parseJson<BenchTrainJson>(r);
  assert.match(report.model, /tiny/);
  assert.equal(report.tokens, 16);
  assert.equal(report.batchSize, 2);
  assert.equal(report.steps, 1);
  assert.ok(report.parameters > 30e6 && report.parameters < 35e6, `jina tiny has ~33M parameters, got ${report.parameters}`);
  assert.ok(report.forwardBackwardSeconds > 0 && report.optimizerSeconds > 0);
  assert.ok(report.secondsPerStep >= report.forwardBackwardSeconds + report.optimizerSeconds - 1e-3);
  assert.ok(Math.abs(report.tokensPerSecond - 32 / report.secondsPerStep) < 1e-6 * report.tokensPerSecond);
  assert.deepEqual(report.matmul.map((m) => m.shape), ['32x384x1536', '32x384x384']);
  const best = Math.max(...report.matmul.map((m) => m.gflopsPerSecond));
  assert.ok(Math.abs(report.fractionOfMatmul - report.gflopsPerSecond / best) < 1e-9);
  assert.ok(report.peakRssMiB > 0);
});

test('`bench train` refuses options that belong to `bench` alone', async () => {
  assertFailure(await runCli(['bench', 'train', '--pairs', '4']), 2, /bench train does not take --pairs/);
  assertFailure(await runCli(['bench', '--steps', '4']), 2, /--steps is for `bench train`/);
  assertFailure(await runCli(['bench', 'train', '--shape', 'huge']), 2, /--shape must be one of/);
  assertFailure(await runCli(['bench', 'fly']), 2, /bench takes no FILE/);
});
