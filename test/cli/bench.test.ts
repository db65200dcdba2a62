/** `turborank bench`: a tiny run that checks the command still works, not how fast it is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOk, parseJson, runCli } from './support.js';
import { REFERENCE_SHAPES, forwardFlops } from '../../src/bench/random-model.js';

interface BenchJson {
  model: string;
  tokens: number;
  pairs: number;
  batchSize: number;
  threads: number;
  docsPerSecond: number;
  docsPer50ms: number;
  gflopsPerSecond: number;
  matmul: { shape: string; gflopsPerSecond: number }[];
}

test('bench --shape tiny --json reports positive throughput', async () => {
  const r = await runCli(['bench', '--shape', 'tiny', '--tokens', '16', '--pairs', '4', '--batch-size', '2', '--threads', '1', '--json'], { timeoutMs: 30_000 });
  assertOk(r);
  const report = parseJson<BenchJson>(r);
  assert.equal(report.tokens, 16);
  assert.equal(report.pairs, 4);
  assert.equal(report.batchSize, 2);
  assert.equal(report.threads, 1);
  assert.ok(report.docsPerSecond > 0 && Number.isFinite(report.docsPerSecond), `docsPerSecond ${report.docsPerSecond}`);
  assert.ok(report.gflopsPerSecond > 0 && Number.isFinite(report.gflopsPerSecond), `gflopsPerSecond ${report.gflopsPerSecond}`);
  assert.ok(Math.abs(report.docsPer50ms - report.docsPerSecond / 20) < 1e-9 * report.docsPerSecond + 1e-9);
  assert.equal(report.matmul.length, 2);
  for (const m of report.matmul) assert.ok(m.gflopsPerSecond > 0, JSON.stringify(m));
});

test('bench --precision int8 runs the quantized graph and says so', async () => {
  const r = await runCli(['bench', '--shape', 'tiny', '--tokens', '16', '--pairs', '2', '--batch-size', '2', '--threads', '1', '--precision', 'int8', '--json'], { timeoutMs: 30_000 });
  assertOk(r);
  const report = parseJson<BenchJson & { precision: string }>(r);
  assert.equal(report.precision, 'int8');
  assert.ok(report.docsPerSecond > 0 && Number.isFinite(report.docsPerSecond), `docsPerSecond ${report.docsPerSecond}`);
  const bad = await runCli(['bench', '--shape', 'tiny', '--precision', 'int4']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--precision must be one of fp32, int8, got 'int4'/);
});

test('bench --last-layer runs each form of the last layer and counts its FLOPs; an unknown form is refused', async () => {
  const spec = REFERENCE_SHAPES.tiny;
  const expected = { 'every-row': 'tokens', 'first-token': 'first', 'first-token-folded': 'first-folded' } as const;
  for (const lastLayer of [undefined, 'every-row', 'first-token'] as const) {
    const args = ['bench', '--shape', 'tiny', '--tokens', '16', '--pairs', '2', '--batch-size', '2', '--threads', '1', '--json', ...(lastLayer ? ['--last-layer', lastLayer] : [])];
    const r = await runCli(args, { timeoutMs: 30_000 });
    assertOk(r);
    const report = parseJson<BenchJson & { lastLayer: string }>(r);
    const form = lastLayer ?? 'first-token-folded'; // what rerank runs
    assert.equal(report.lastLayer, form);
    const flops = forwardFlops(spec, 16, expected[form]);
    assert.ok(Math.abs(report.gflopsPerSecond / report.docsPerSecond - flops / 1e9) < 1e-9 * flops, `${form}: ${report.gflopsPerSecond} GFLOP/s at ${report.docsPerSecond} documents/s`);
  }
  assert.ok(forwardFlops(spec, 256, 'first-folded') < forwardFlops(spec, 256, 'first') && forwardFlops(spec, 256, 'first') < forwardFlops(spec, 256, 'tokens'));
  const bad = await runCli(['bench', '--shape', 'tiny', '--last-layer', 'none']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--last-layer must be one of every-row, first-token, first-token-folded, got 'none'/);
});
