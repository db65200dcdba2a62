import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { parseTrainConfig, Trainer } from '../../src/train/index.js';
import { tinyConfig, trainingFolder } from './support.js';

const BETA1 = 0.9;

/** One step of a run; returns the reported gradient norm and AdamW's first moments after it (m = (1 − β₁)·scale·g). */
async function oneStep(maxGradNorm: number): Promise<{ gradNorm: number; m: Map<string, Float32Array> }> {
  const dir = trainingFolder(64);
  const config = parseTrainConfig(tinyConfig({ steps: 1, checkpoint_every: 1, gradient_accumulation: 2, max_grad_norm: maxGradNorm }), path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  let gradNorm = NaN;
  await trainer.run({ onStep: (r) => { gradNorm = r.gradNorm; } });
  await trainer.close();
  const optimizer = SafetensorsFile.read(path.join(dir, 'run', 'checkpoint-1', 'optimizer.safetensors'));
  const m = new Map(optimizer.names().filter((n) => n.startsWith('m.')).map((n) => [n.slice(2), optimizer.float32(n)] as const));
  return { gradNorm, m };
}

test('gradients are clipped by their global norm: every gradient scaled by one factor, max_grad_norm / ‖g‖', async () => {
  const free = await oneStep(1e9);
  const clipped = await oneStep(1e-3);
  const small = await oneStep(free.gradNorm * 2);
  assert.equal(clipped.gradNorm, free.gradNorm, 'the same data and weights give the same gradient (the norm is logged before clipping)');

  // Unclipped, m / (1 − β₁) is the gradient (averaged over the 2 micro-batches): its global norm is the one reported.
  let squares = 0;
  for (const m of free.m.values()) for (const x of m) squares += (x / (1 - BETA1)) ** 2;
  assert.ok(Math.abs(Math.sqrt(squares) - free.gradNorm) < 1e-4 * free.gradNorm, `‖g‖ = ${Math.sqrt(squares)}, reported ${free.gradNorm}`);

  const factor = 1e-3 / free.gradNorm;
  assert.ok(factor < 0.1, `the test clips hard (factor ${factor})`);
  let clippedSquares = 0;
  for (const [name, m] of free.m) {
    const c = clipped.m.get(name)!;
    for (let i = 0; i < m.length; i++) {
      assert.ok(Math.abs(c[i]! - m[i]! * factor) <= 1e-5 * Math.abs(m[i]! * factor) + 1e-12, `${name}[${i}]: clipped ${c[i]}, expected ${m[i]! * factor}`);
      clippedSquares += (c[i]! / (1 - BETA1)) ** 2;
    }
    // Below the threshold nothing is scaled.
    assert.deepEqual(small.m.get(name), m, `${name}: a norm under max_grad_norm is left alone`);
  }
  assert.ok(Math.abs(Math.sqrt(clippedSquares) - 1e-3) < 1e-7, `the clipped gradient's norm is max_grad_norm: ${Math.sqrt(clippedSquares)}`);
});
