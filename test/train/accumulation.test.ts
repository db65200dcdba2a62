import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseTrainConfig, Trainer, type StepReport } from '../../src/train/index.js';
import { tinyConfig, trainingFolder } from './support.js';

/** Runs one step; returns its report and the change of every parameter. */
async function firstStep(dir: string, fields: Record<string, unknown>): Promise<{ report: StepReport; update: Map<string, Float32Array> }> {
  const config = parseTrainConfig(tinyConfig({
    steps: 1, warmup_steps: 0, decay: 'constant', learning_rate: 1e-3, weight_decay: 0, max_grad_norm: 1e6, ...fields,
  }), path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  const before = new Map([...trainer.weights()].map(([name, w]) => [name, w.slice()]));
  let report: StepReport | undefined;
  await trainer.run({ onStep: (r) => { report = r; } });
  const update = new Map([...trainer.weights()].map(([name, w]) => [name, w.map((x, i) => x - before.get(name)![i]!)]));
  await trainer.close();
  return { report: report!, update };
}

test('gradient accumulation 2 × batch 8 makes the same first update as batch 16 (no dropout)', async () => {
  const dir = trainingFolder();
  const whole = await firstStep(dir, { batch_size: 16, output: 'whole' });
  const accumulated = await firstStep(dir, { batch_size: 8, gradient_accumulation: 2, output: 'accumulated' });

  // The same 16 examples in the same order; only padding and float32 summation order differ,
  // which move the loss and gradient norm by float32 rounding (~1e-7 relative), no more.
  assert.ok(Math.abs(whole.report.loss - accumulated.report.loss) < 1e-6, `loss ${whole.report.loss} vs ${accumulated.report.loss}`);
  assert.ok(Math.abs(whole.report.gradNorm / accumulated.report.gradNorm - 1) < 1e-5, `gradient norm ${whole.report.gradNorm} vs ${accumulated.report.gradNorm}`);
  assert.equal(whole.report.tokensPerSecond > 0 && accumulated.report.tokensPerSecond > 0, true);

  // Adam's first update does not depend on the gradient's scale, so the norm above is what
  // catches a wrong 1/accumulation factor; the updates check the direction, element by element.
  // Adam's first update is lr·g/(|g| + ε): ±lr wherever |g| ≫ ε, whatever the gradient's size.
  // So the two updates agree to float32 rounding except where a gradient is within rounding of
  // zero (|g| ≲ 1e-9 here), where its sign, and so the update's, is noise. Such elements are
  // rare; the test allows 0.1% of them and requires every other element to agree to 1e-3·lr.
  const lr = 1e-3;
  let elements = 0;
  let differing = 0;
  let moved = 0;
  for (const [name, a] of whole.update) {
    const b = accumulated.update.get(name)!;
    for (let i = 0; i < a.length; i++) {
      elements++;
      if (Math.abs(a[i]!) > lr / 2) moved++;
      if (Math.abs(a[i]! - b[i]!) > 1e-3 * lr) differing++;
    }
  }
  // (Most embedding rows belong to tokens not in the batch and rightly stay put.)
  assert.ok(moved > 2000, `the step moved only ${moved} of ${elements} parameters`);
  assert.ok(differing <= elements / 1000, `${differing} of ${elements} parameters updated differently`);
});
