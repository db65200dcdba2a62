import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, decays, learningRate } from '../../src/train/optimizer.js';

const PARAMETERS = [
  { name: 'bert.encoder.layer.0.attention.self.query.weight', shape: [2, 3] },
  { name: 'bert.encoder.layer.0.attention.self.query.bias', shape: [3] },
  { name: 'bert.encoder.layer.0.attention.output.LayerNorm.weight', shape: [3] },
];
const OPTIONS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

interface State { p: number[][]; m: number[][]; v: number[][] }

/** AdamW by the book, in float64: g ← g·scale; moments; bias-corrected step; decoupled decay λ·p. */
function reference(s: State, grads: number[][], lr: number, t: number, scale: number, weightDecay: number): State {
  const next: State = { p: [], m: [], v: [] };
  s.p.forEach((p, i) => {
    const lambda = decays(PARAMETERS[i]!.name) ? weightDecay : 0;
    const m = p.map((_, j) => OPTIONS.beta1 * s.m[i]![j]! + (1 - OPTIONS.beta1) * grads[i]![j]! * scale);
    const v = p.map((_, j) => OPTIONS.beta2 * s.v[i]![j]! + (1 - OPTIONS.beta2) * (grads[i]![j]! * scale) ** 2);
    const mHat = m.map((x) => x / (1 - OPTIONS.beta1 ** t));
    const vHat = v.map((x) => x / (1 - OPTIONS.beta2 ** t));
    next.p.push(p.map((x, j) => x - lr * (mHat[j]! / (Math.sqrt(vHat[j]!) + OPTIONS.epsilon) + lambda * x)));
    next.m.push(m);
    next.v.push(v);
  });
  return next;
}

const f32 = (xs: number[][]): Float32Array[] => xs.map((x) => Float32Array.from(x));
const asF32 = (xs: number[][]): number[][] => xs.map((x) => Array.from(Float32Array.from(x)));

function assertAllClose(actual: readonly Float32Array[], expected: number[][], tolerance: number, what: string): void {
  expected.forEach((row, i) => row.forEach((e, j) => {
    const a = actual[i]![j]!;
    assert.ok(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)), `${what} ${PARAMETERS[i]!.name}[${j}]: ONNX ${a}, reference ${e}`);
  }));
}

test('one ONNX AdamW step matches AdamW by the book (bias correction, gradient scale, decoupled decay)', async () => {
  const p = asF32([[0.5, -1.25, 2, 0.1, -0.3, 0.75], [0.2, -0.1, 0.05], [1, 0.9, 1.1]]);
  // Element [0][3] has no gradient: with decay, its update must be exactly lr·λ·p (decoupled),
  // not Adam-normalised as an L2 term in the gradient would be.
  const g = asF32([[0.3, -0.02, 1.5, 0, 4, -0.7], [0.01, -0.5, 0.25], [-0.2, 0.4, 0]]);
  const zero = p.map((row) => row.map(() => 0));
  const laterM = asF32([[0.01, 0.02, -0.1, 0, 0.3, -0.05], [0.001, -0.04, 0.02], [-0.01, 0.03, 0]]);
  const laterV = asF32([[1e-4, 2e-4, 2e-3, 0, 0.02, 5e-4], [1e-6, 3e-4, 6e-5], [4e-5, 1.5e-4, 0]]);
  for (const weightDecay of [0, 0.1]) {
    const adamw = await AdamW.create(PARAMETERS, { ...OPTIONS, weightDecay }, 1);
    try {
      for (const { t, m, v } of [{ t: 1, m: zero, v: zero }, { t: 3, m: laterM, v: laterV }]) {
        const lr = 0.01;
        const scale = 0.5;
        const out = await adamw.step(f32(p), f32(g), f32(m), f32(v), { learningRate: lr, step: t, gradientScale: scale });
        const want = reference({ p, m, v }, g, lr, t, scale, weightDecay);
        const what = `λ=${weightDecay} t=${t}`;
        // Compare updates, not parameters: float32 parameters near 1 hold only ~7 digits.
        const updates = (params: readonly ArrayLike<number>[]): number[][] => params.map((row, i) => Array.from(row, (x, j) => x - p[i]![j]!));
        assertAllClose(updates(out.params).map((r) => Float32Array.from(r)), updates(want.p), 2e-5, `${what} update`);
        assertAllClose(out.m, want.m, 1e-6, `${what} m`);
        assertAllClose(out.v, want.v, 1e-6, `${what} v`);
        assert.ok(Math.abs(out.params[0]![3]! - p[0]![3]! * (1 - lr * weightDecay)) < 1e-7, `${what}: zero gradient, decay only`);
      }
      // Biases and LayerNorm scales are never decayed.
      const noGrad = p.map((row) => row.map(() => 0));
      const out = await adamw.step(f32(p), f32(noGrad), f32(zero), f32(zero), { learningRate: 0.01, step: 1, gradientScale: 1 });
      assert.deepEqual(Array.from(out.params[1]!), p[1]);
      assert.deepEqual(Array.from(out.params[2]!), p[2]);
    } finally {
      await adamw.close();
    }
  }
});

test('the learning rate warms up linearly, then decays linearly or by a cosine to 0 at the last step', () => {
  const peak = 1e-3;
  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-15, `${what}: ${a}, expected ${b}`);
  for (const decay of ['linear', 'cosine', 'constant'] as const) {
    close(learningRate(1, peak, 10, 110, decay), 1e-4, `${decay} warm-up step 1`);
    close(learningRate(5, peak, 10, 110, decay), 5e-4, `${decay} warm-up step 5`);
    close(learningRate(10, peak, 10, 110, decay), peak, `${decay} end of warm-up`);
  }
  close(learningRate(11, peak, 10, 110, 'linear'), peak * 0.99, 'linear, first step after warm-up');
  close(learningRate(60, peak, 10, 110, 'linear'), peak * 0.5, 'linear, halfway');
  close(learningRate(110, peak, 10, 110, 'linear'), 0, 'linear, last step');
  close(learningRate(35, peak, 10, 110, 'cosine'), peak * 0.5 * (1 + Math.cos(Math.PI / 4)), 'cosine, a quarter through');
  close(learningRate(60, peak, 10, 110, 'cosine'), peak * 0.5, 'cosine, halfway');
  close(learningRate(110, peak, 10, 110, 'cosine'), 0, 'cosine, last step');
  close(learningRate(80, peak, 10, 110, 'constant'), peak, 'constant');
  close(learningRate(1, peak, 0, 100, 'linear'), peak * 0.99, 'no warm-up: decay from step 1');
});
