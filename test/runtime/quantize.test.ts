/**
 * int8 inference (runtime/quantize.ts): per-output-column weight scales, the same mechanism on
 * every architecture, and int8 scores that stay close to fp32 on the golden fixtures and rank
 * them the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCheckpoint, locateModel } from '../../src/checkpoint/index.js';
import { GraphBuilder, toOnnx } from '../../src/graph/index.js';
import { buildCrossEncoder, computesFirstTokenOnly } from '../../src/models/index.js';
import { Reranker } from '../../src/rerank/index.js';
import { CrossEncoderSession, quantizeColumns, quantizeGraph } from '../../src/runtime/index.js';
import { InputError } from '../../src/errors.js';
import ort from 'onnxruntime-node';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, tempDir } from '../helpers.js';
import fs from 'node:fs';
import path from 'node:path';

/** Columns of very different magnitude: one shared scale (per tensor, or per row) would flatten the small one to zero. */
function unevenColumns(rows: number): Float32Array {
  const w = new Float32Array(rows * 3);
  for (let k = 0; k < rows; k++) {
    w[k * 3] = Math.sin(k + 1) * 1e-3;
    w[k * 3 + 1] = Math.cos(3 * k) * 1;
    w[k * 3 + 2] = ((k % 7) - 3) * 50;
  }
  return w;
}

test('quantizeColumns: one scale per output column, so every column keeps 8 bits of its own range', () => {
  const rows = 40;
  const data = unevenColumns(rows);
  const { q, scale } = quantizeColumns({ rows, cols: 3, data });
  assert.equal(scale.length, 3);
  for (let n = 0; n < 3; n++) {
    let max = 0;
    for (let k = 0; k < rows; k++) max = Math.max(max, Math.abs(data[k * 3 + n]!));
    assert.ok(Math.abs(scale[n]! - max / 127) < 1e-6 * max, `column ${n}: scale ${scale[n]} for max ${max}`);
    for (let k = 0; k < rows; k++) {
      const code = q[k * 3 + n]!;
      assert.ok(code >= -127 && code <= 127);
      // Round-to-nearest: off by at most half a step.
      assert.ok(Math.abs(code * scale[n]! - data[k * 3 + n]!) <= scale[n]! / 2 + 1e-9, `column ${n} row ${k}`);
    }
  }
});

test('a quantized MatMul run by ONNX Runtime scales each output column by its own scale', async () => {
  const rows = 40;
  const w = unevenColumns(rows);
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['batch*seq', rows]);
  g.output('y', g.matmul(x, g.constant('w', 'float32', [rows, 3], w)));
  const graph = g.build();
  const quantized = quantizeGraph(graph);
  assert.equal(quantized.matmuls, 1);
  assert.ok(!quantized.graph.initializers.some((i) => i.value.name === 'w'), 'the float weight is dropped');
  const input = Float32Array.from({ length: 5 * rows }, (_, i) => Math.sin(0.37 * i));
  for (const kernel of ['standard', 'contrib'] as const) {
    const run = async (bytes: Uint8Array): Promise<Float32Array> => {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const out = await session.run({ x: new ort.Tensor('float32', input, [5, rows]) });
      await session.release();
      return out.y!.data as Float32Array;
    };
    const want = await run(toOnnx(graph));
    const got = await run(toOnnx(quantizeGraph(graph, { kernel }).graph));
    for (let r = 0; r < 5; r++) {
      for (let n = 0; n < 3; n++) {
        // Rounding each weight and activation by at most half a step (under 0.4% of its range)
        // moves the product by under 1% of Σ|x||w|; a scale on the wrong axis leaves column 0,
        // a thousandth of the others, entirely wrong.
        let magnitude = 0;
        for (let k = 0; k < rows; k++) magnitude += Math.abs(input[r * rows + k]! * w[k * 3 + n]!);
        const err = Math.abs(got[r * 3 + n]! - want[r * 3 + n]!);
        assert.ok(err < 0.01 * magnitude, `${kernel}, row ${r}, column ${n}: error ${err} for Σ|x||w| = ${magnitude}`);
      }
    }
  }
});

test('every per-token weight product is quantized, in every architecture; pooler, classifier and constants stay float', () => {
  // Projections per layer: Q, K, V, attention output, and the feed-forward's (GEGLU: gate, up, out).
  const perLayer: Record<string, number> = { 'jinabert-tiny-golden': 7, 'jinabert-bpe-golden': 7, 'bert-minilm-golden': 6, 'xlmr-golden': 6, 'deberta-v2-golden': 6 };
  for (const name of GOLDEN_FIXTURES) {
    const checkpoint = loadCheckpoint(locateModel(fixtureDir(name)));
    const graph = buildCrossEncoder(checkpoint.spec, (n) => checkpoint.weights.float32(n));
    const q = quantizeGraph(graph);
    // Where the last layer computes [CLS] alone (folded: no per-token product at all), its products stay float.
    const spec = checkpoint.spec;
    const expected = perLayer[name]! * (computesFirstTokenOnly(spec) ? spec.numLayers - 1 : spec.numLayers);
    assert.equal(q.matmuls, expected, name);
    const floatMatMuls = q.graph.nodes.filter((n) => n.op === 'MatMul').length;
    assert.ok(floatMatMuls > 0, `${name}: attention products and the head stay float`);
    assert.ok(q.int8Bytes < q.floatBytes / 3.5, `${name}: ${q.int8Bytes} int8 bytes for ${q.floatBytes} float bytes`);
  }
});

/** Kendall's tau over pairs of cases whose fp32 logits differ. */
function kendallTau(a: Float32Array, b: Float32Array): number {
  let concordant = 0;
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      if (a[i] === a[j]) continue;
      total++;
      if (Math.sign(a[i]! - a[j]!) === Math.sign(b[i]! - b[j]!)) concordant++;
    }
  }
  return (2 * concordant - total) / total;
}

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: int8 logits stay within 10% of the fp32 logits' spread and rank the cases the same way`, async () => {
    const expected = loadExpected(name);
    const pairs = expected.cases.map((c) => ({ query: c.query, document: c.document }));
    const maxLength = expected.tokenizer.max_length;
    const fp32 = await Reranker.load(fixtureDir(name), { threads: 1, maxLength });
    const int8 = await Reranker.load(fixtureDir(name), { threads: 1, maxLength, precision: 'int8' });
    assert.equal(int8.info.precision, 'int8');
    const a = await fp32.score(pairs);
    const b = await int8.score(pairs);
    await fp32.close();
    await int8.close();
    // fp32 itself matches the reference to 1e-4 (golden tests); int8 differs by rounding noise.
    // These random-weight fixtures are sensitive (weight rounding alone moves their logits by
    // 2-4% of the spread; measured with weights and activations: 2.8-4.7%), so the bound is
    // 10%: a wrong scale or axis moves logits by the whole spread.
    const spread = Math.max(...a) - Math.min(...a);
    const err = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    assert.ok(err < 0.1 * spread, `max |int8 − fp32| = ${err}, spread ${spread}`);
    assert.ok(err > 0, 'int8 must actually change the arithmetic');
    const tau = kendallTau(a, b);
    assert.ok(tau >= 0.9, `Kendall tau ${tau}`);
  });
}

test('int8 needs a checkpoint: an ONNX file is refused with a message saying what to load', async () => {
  // The fixture is a checkpoint; write it out as an ONNX file to load it that way.
  const checkpoint = loadCheckpoint(locateModel(fixtureDir('jinabert-tiny-golden')));
  const dir = tempDir();
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, toOnnx(buildCrossEncoder(checkpoint.spec, (n) => checkpoint.weights.float32(n))));
  await assert.rejects(CrossEncoderSession.fromFile(file, { precision: 'int8' }), (err: unknown) => err instanceof InputError && /needs a checkpoint/.test(err.message));
});
