/**
 * Every VJP rule against central finite differences. float64 where ONNX Runtime has float64
 * kernels (all but Erf); loss = Σ op(x)·R with a fixed random R, so every output element matters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, type Value } from '../../src/graph/index.js';
import { gradCheck, randomArray } from './gradcheck.js';

type Build = (g: GraphBuilder, p: (name: string, shape: number[], transform?: (v: number) => number) => Value) => Value;

async function checkOp(name: string, build: Build, dtype: 'float32' | 'float64' = 'float64', tolerance = 1e-6, eps = 1e-6): Promise<void> {
  const g = new GraphBuilder();
  const params: Value[] = [];
  let seed = 11;
  const p = (pname: string, shape: number[], transform: (v: number) => number = (v) => v): Value => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = randomArray(n, seed++, dtype).map(transform);
    const v = g.parameter(pname, shape, data);
    params.push(v);
    return v;
  };
  const y = build(g, p);
  const weights = g.constant('R', dtype, y.shape, randomArray(y.shape.reduce<number>((a, b) => a * (b as number), 1), 999, dtype));
  const loss = g.reduceSum(g.mul(y, weights), y.shape.map((_, i) => i), false);
  const report = await gradCheck({ g, loss, params }, { eps, relTolerance: tolerance, floor: 1e-3, samplesPerParam: 64 });
  assert.ok(report.worst.error < tolerance, `${name}: worst ${JSON.stringify(report.worst)}`);
  assert.ok(report.checked > 0);
}

const away = (v: number): number => (v >= 0 ? v + 0.5 : v - 0.5); // keep kinks (Abs, Relu) out of reach of ±eps
const positive = (v: number): number => Math.abs(v) + 0.5;

const cases: [string, Build][] = [
  ['Add with broadcasting', (g, p) => g.add(p('a', [2, 3]), p('b', [3]))],
  ['Sub with broadcasting', (g, p) => g.sub(p('a', [2, 3]), p('b', [2, 1]))],
  ['Mul with broadcasting', (g, p) => g.mul(p('a', [1, 3]), p('b', [4, 2, 3]))],
  ['Div', (g, p) => g.div(p('a', [2, 3]), p('b', [2, 3], positive))],
  ['Pow', (g, p) => g.pow(p('a', [2, 3], positive), p('b', [2, 3]))],
  ['Neg', (g, p) => g.neg(p('x', [5]))],
  ['Abs', (g, p) => g.abs(p('x', [6], away))],
  ['Sqrt', (g, p) => g.sqrt(p('x', [6], positive))],
  ['Tanh', (g, p) => g.tanh(p('x', [6]))],
  ['Sigmoid', (g, p) => g.sigmoid(p('x', [6]))],
  ['Relu', (g, p) => g.relu(p('x', [6], away))],
  ['Exp', (g, p) => g.exp(p('x', [6]))],
  ['Log', (g, p) => g.log(p('x', [6], positive))],
  ['MatMul, batched × 2-D', (g, p) => g.matmul(p('a', [2, 3, 4]), p('b', [4, 5]))],
  ['MatMul, batched × batched', (g, p) => g.matmul(p('a', [2, 2, 3, 4]), p('b', [2, 1, 4, 3]))],
  ['Softmax', (g, p) => g.softmax(p('x', [3, 5]), -1)],
  ['LogSoftmax', (g, p) => g.logSoftmax(p('x', [3, 5]), -1)],
  ['LayerNormalization', (g, p) => g.layerNorm(p('x', [2, 3, 6]), p('scale', [6]), p('bias', [6]), 1e-5)],
  ['Gather rows (embedding, repeated ids)', (g, p) => g.gather(p('table', [5, 3]), g.constant('ids', 'int64', [2, 3], BigInt64Array.from([0n, 2n, 2n, 4n, 0n, 1n])))],
  ['Gather one index on axis 1 ([CLS])', (g, p) => g.gather(p('x', [2, 4, 3]), g.scalar(0, 'int64'), 1)],
  ['Gather an index tensor on axis 2 (DeBERTa relative terms, repeated ids)', (g, p) =>
    g.gather(p('x', [2, 3, 5]), g.constant('ids', 'int64', [2, 2], BigInt64Array.from([4n, 0n, 4n, 2n])), 2)],
  ['CumSum', (g, p) => g.cumsum(p('x', [3, 4]), 1)],
  ['CumSum, reversed', (g, p) => g.cumsum(p('x', [3, 4]), 0, true)],
  ['Transpose', (g, p) => g.transpose(p('x', [2, 3, 4]), [2, 0, 1])],
  ['Reshape', (g, p) => g.reshape(p('x', [2, 3, 4]), [6, -1])],
  ['Reshape to a run-time shape', (g, p) => {
    const x = p('x', [6, 4]);
    return g.reshapeTo(x, g.int64s([2, 3, 4]), [2, 3, 4]);
  }],
  ['Unsqueeze', (g, p) => g.unsqueeze(p('x', [3, 2]), [0, 2])],
  ['Expand', (g, p) => g.expand(p('x', [3, 1]), g.int64s([2, 3, 4]), [2, 3, 4])],
  ['Split, both halves used', (g, p) => {
    const [a, b] = g.split(p('x', [4, 6]), [2, 4], 1) as [Value, Value];
    return g.matmul(g.transpose(a, [1, 0]), b);
  }],
  ['Split, one half used', (g, p) => g.split(p('x', [6, 2]), [2, 4], 0)[1]!],
  ['ReduceSum, keepdims', (g, p) => g.reduceSum(p('x', [2, 3, 4]), [1], true)],
  ['ReduceSum, dropping axes', (g, p) => g.reduceSum(p('x', [2, 3, 4]), [0, 2], false)],
  ['ReduceMean', (g, p) => g.reduceMean(p('x', [2, 3, 4]), [-1], false)],
  ['Where', (g, p) => {
    const a = p('a', [2, 3]);
    const b = p('b', [3]);
    return g.where(g.greater(a, g.scalar(0, 'float64')), a, b);
  }],
  ['a value used twice (gradients accumulate)', (g, p) => {
    const x = p('x', [3, 3]);
    return g.mul(g.tanh(x), g.matmul(x, x));
  }],
];

for (const [name, build] of cases) {
  test(`VJP of ${name} matches finite differences (float64, 1e-6)`, () => checkOp(name, build));
}

test('VJP of Erf matches finite differences (float32: ORT has no float64 Erf)', async () => {
  // In float32, eps = 1e-2 keeps the rounding noise of the loss (~1e-7·|loss|/eps) near 1e-5,
  // and the truncation error of the central difference, eps²·|erf'''|/6 ≤ 2e-5, below that.
  await checkOp('Erf', (g, p) => g.erf(p('x', [8])), 'float32', 2e-3, 1e-2);
});

test('backward refuses an op with no rule on the path and a loss that ignores the parameters', () => {
  const g = new GraphBuilder();
  const x = g.parameter('x', [3], Float64Array.from([1, 2, 3]));
  const y = g.parameter('y', [3], Float64Array.from([1, 2, 3]));
  const flag = g.cast(g.equal(x, y), 'float64');
  assert.throws(() => gradCheckSync(g, g.reduceSum(flag, [0], false), [x]), /Equal is not differentiable|not depend/);
  const g2 = new GraphBuilder();
  const a = g2.parameter('a', [2], Float64Array.from([1, 2]));
  const c = g2.constant('c', 'float64', [2], Float64Array.from([1, 2]));
  assert.throws(() => gradCheckSync(g2, g2.reduceSum(c, [0], false), [a]), /does not depend/);
});

import { backward, toOnnx } from '../../src/graph/index.js';
import ort from 'onnxruntime-node';

test('Dropout: output and gradient are x·mask/(1−p) and R·mask/(1−p); same seed, same masks', async () => {
  const build = (): { g: GraphBuilder; x: Value; y: Value } => {
    const g = new GraphBuilder();
    const x = g.parameter('x', [64, 32], randomArray(2048, 5, 'float32'));
    const y = g.dropout(x, 0.25, 42);
    const r = g.constant('R', 'float32', [64, 32], randomArray(2048, 6, 'float32'));
    const loss = g.reduceSum(g.mul(y, r), [0, 1], false);
    const grad = backward(g, loss, [x]).get(x.id)!;
    g.output('y', g.add(y, g.scalar(0)));
    g.output('grad', grad);
    return { g, x, y };
  };
  const run = async (): Promise<{ y: Float32Array; grad: Float32Array }> => {
    const { g } = build();
    const session = await ort.InferenceSession.create(toOnnx(g.build()));
    const out = await session.run({});
    await session.release();
    return { y: out.y!.data as Float32Array, grad: out.grad!.data as Float32Array };
  };
  const first = await run();
  const second = await run();
  assert.deepEqual(second.y, first.y, 'a fresh session with the same seed draws the same mask');
  const x = randomArray(2048, 5, 'float32');
  const r = randomArray(2048, 6, 'float32');
  let dropped = 0;
  for (let i = 0; i < 2048; i++) {
    const kept = first.y[i] !== 0;
    if (!kept) dropped++;
    assert.ok(Math.abs(first.y[i]! - (kept ? x[i]! / 0.75 : 0)) < 1e-6, `y[${i}]`);
    assert.ok(Math.abs(first.grad[i]! - (kept ? r[i]! / 0.75 : 0)) < 1e-6, `grad[${i}]`);
  }
  assert.ok(dropped > 2048 * 0.2 && dropped < 2048 * 0.3, `dropped ${dropped} of 2048 at p = 0.25`);
});
function gradCheckSync(g: GraphBuilder, loss: Value, wrt: Value[]): void {
  backward(g, loss, wrt);
}

test('generated value names never collide with user names such as an input called "v6"', async () => {
  const g = new GraphBuilder();
  const inputs = Array.from({ length: 12 }, (_, i) => g.input(`v${i}`, 'float32', [2]));
  let acc = inputs[0]!;
  for (const x of inputs.slice(1)) acc = g.add(acc, x);
  g.output('sum', acc);
  const session = await ort.InferenceSession.create(toOnnx(g.build()));
  const feeds = Object.fromEntries(inputs.map((_, i) => [`v${i}`, new ort.Tensor('float32', Float32Array.from([i, 1]), [2])]));
  const out = await session.run(feeds);
  assert.deepEqual(Array.from(out.sum!.data as Float32Array), [66, 12]);
});
