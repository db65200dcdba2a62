import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { GraphBuilder, toOnnx, type Value } from '../../src/graph/index.js';
import { binaryCrossEntropy, listwise, marginMse, maskedLanguageModel, teacherMse } from '../../src/train/losses.js';

const VOCAB = 5;

type Feed = { name: string; dims: number[] } & ({ data: Float32Array; dtype: 'float32' } | { data: BigInt64Array; dtype: 'int64' });

/** Builds `loss(logits, target)` as an ONNX graph, runs it on ORT, returns the scalar. */
async function runLoss(logits: Feed, target: Feed, loss: (g: GraphBuilder, logits: Value, target: Value) => Value): Promise<number> {
  const g = new GraphBuilder();
  // Symbolic dims, as in the training graph, so reshapes and broadcasts are checked at run time
  // (but the vocabulary, which the MLM head knows statically).
  const symbolic = (f: Feed): (string | number)[] => f.dims.map((d, i) => (f.dims.length === 2 && f.name === 'logits' && i === 1 && d === VOCAB ? d : `${f.name}_${i}`));
  const l = g.input(logits.name, logits.dtype, symbolic(logits));
  const t = g.input(target.name, target.dtype, symbolic(target));
  g.output('loss', loss(g, l, t));
  const session = await ort.InferenceSession.create(toOnnx(g.build()));
  const tensor = (f: Feed): ort.Tensor => (f.dtype === 'int64' ? new ort.Tensor('int64', f.data, f.dims) : new ort.Tensor('float32', f.data, f.dims));
  const out = await session.run({ [logits.name]: tensor(logits), [target.name]: tensor(target) });
  await session.release();
  assert.deepEqual(out.loss!.dims, [], 'the loss is a scalar');
  return Number((out.loss!.data as Float32Array)[0]);
}

const f32 = (name: string, values: readonly number[], dims: number[]): Feed => ({ name, dtype: 'float32', data: Float32Array.from(values), dims });
/** The float32 values the graph sees, for the reference computed in float64. */
const asF32 = (values: readonly number[]): number[] => Array.from(Float32Array.from(values));

function assertClose(actual: number, expected: number, what: string): void {
  const tolerance = 2e-6 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: graph ${actual}, by hand ${expected}`);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
function logSoftmax(xs: readonly number[]): number[] {
  const max = Math.max(...xs);
  const logSum = Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
  return xs.map((x) => x - logSum);
}

test('pointwise BCE is −y·log σ(s) − (1−y)·log(1−σ(s)), finite for large |s|', async () => {
  const s = asF32([2.5, -1.2, 0, 30, -40, 0.3]);
  const y = [1, 0, 1, 0, 1, 0.5];
  // 1 − σ(s) written as σ(−s), so the reference itself does not lose digits at s = 30.
  const expected = mean(s.map((si, i) => -y[i]! * Math.log(sigmoid(si)) - (1 - y[i]!) * Math.log(sigmoid(-si))));
  const actual = await runLoss(f32('logits', s, [6, 1]), f32('labels', y, [6]), binaryCrossEntropy);
  assertClose(actual, expected, 'bce');
  assert.ok(expected > 11, 'the large logits dominate: a clipped implementation would be far off');
});

test('MSE on teacher logits is mean((s − t)²)', async () => {
  const s = asF32([0.5, -2, 3.25]);
  const t = asF32([1.5, -2.5, 0]);
  const expected = mean(s.map((si, i) => (si - t[i]!) ** 2));
  assertClose(await runLoss(f32('logits', s, [3, 1]), f32('teacher', t, [3]), teacherMse), expected, 'mse');
});

test('Margin-MSE regresses s⁺ − s⁻ of consecutive (positive, negative) rows onto the teacher margin', async () => {
  const s = asF32([2, -1, 0.5, 0.25, -3, 1]);
  const margins = asF32([2.5, 1, -1]);
  const expected = mean(margins.map((m, q) => (s[2 * q]! - s[2 * q + 1]! - m) ** 2));
  assertClose(await runLoss(f32('logits', s, [6, 1]), f32('teacher_margin', margins, [3]), marginMse), expected, 'margin-mse');
});

test('listwise KL and CE with a temperature: τ²·mean over queries of Σ p_teacher·(log p_teacher − log p_student)', async () => {
  const s = asF32([1, 0, -1, 2, 2.5, -0.5]);
  const t = asF32([3, 1, -2, 0, 1, 4]);
  for (const temperature of [1, 2.5]) {
    const kl: number[] = [];
    const ce: number[] = [];
    for (let q = 0; q < 2; q++) {
      const student = logSoftmax(s.slice(3 * q, 3 * q + 3).map((x) => x / temperature));
      const teacher = logSoftmax(t.slice(3 * q, 3 * q + 3).map((x) => x / temperature));
      kl.push(teacher.reduce((sum, lt, i) => sum + Math.exp(lt) * (lt - student[i]!), 0));
      ce.push(teacher.reduce((sum, lt, i) => sum - Math.exp(lt) * student[i]!, 0));
    }
    const scale = temperature * temperature;
    for (const [kind, expected] of [['kl', scale * mean(kl)], ['ce', scale * mean(ce)]] as const) {
      const actual = await runLoss(f32('logits', s, [6, 1]), f32('teacher', t, [2, 3]), (g, l, tt) => listwise(g, l, tt, 3, temperature, kind));
      assertClose(actual, expected, `listwise-${kind} τ=${temperature}`);
    }
  }
});

test('MLM loss is the mean −log softmax(logits)[label] over positions whose label is not −100', async () => {
  const vocab = VOCAB;
  const rows = [[1, 2, 0.5, -1, 0], [9, 9, 9, 9, 9], [0.2, -0.3, 4, 1, 1], [-2, 0, 0, 3, 0.7]].map(asF32);
  const labels = [2, -100, 0, 4];
  const picked = labels.flatMap((label, i) => (label < 0 ? [] : [-logSoftmax(rows[i]!)[label]!]));
  const feedLabels: Feed = { name: 'labels', dtype: 'int64', data: BigInt64Array.from(labels, BigInt), dims: [4] };
  const mlm = (g: GraphBuilder, l: Value, t: Value): Value => maskedLanguageModel(g, l, t, vocab);
  assertClose(await runLoss(f32('logits', rows.flat(), [4, vocab]), feedLabels, mlm), mean(picked), 'mlm');

  // No masked position at all: zero, not 0/0.
  const none: Feed = { ...feedLabels, data: BigInt64Array.from([-100n, -100n, -100n, -100n]) };
  assert.equal(await runLoss(f32('logits', rows.flat(), [4, vocab]), none, mlm), 0);
});
