/**
 * The float32 training graph that `turborank train` runs (model, head, loss, gradients from our
 * autodiff, parameters as inputs), checked against central finite differences of its own loss
 * output — the graph itself, not the float64 model graph of test/models/gradients.test.ts.
 * The attention weights matter most for bce: a model that never learns to compare query and
 * document tokens (docs/DISTILL.md) must not be a wrong gradient. For the masked-LM loss the
 * word embeddings matter most: they are used twice (the lookup and the tied output layer), so
 * their gradient is the sum of two paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { loadCheckpoint, locateModel } from '../../src/checkpoint/index.js';
import { buildTrainingGraph, GRADIENT_PREFIX, type LossConfig } from '../../src/train/training-graph.js';
import { initialWeight } from '../../src/train/init.js';
import { fixtureDir, loadExpected } from '../helpers.js';

const BATCH = 2;
const SEQ = 24;

/**
 * Checks the three largest gradient elements of every parameter whose name matches `pattern`
 * (float32 differences resolve large gradients, not tiny ones); all of them must agree.
 */
async function checkGradients(loss: LossConfig, labels: (rows: number[][]) => ort.Tensor, pattern: RegExp, minimum: number): Promise<void> {
  const checkpoint = loadCheckpoint(locateModel(fixtureDir('jinabert-tiny-golden')));
  const lookup = (name: string, shape: readonly number[]): Float32Array =>
    checkpoint.weights.has(name) ? checkpoint.weights.float32(name) : initialWeight(name, shape, 5);
  const graph = buildTrainingGraph(checkpoint.spec, lookup, loss);
  const session = await ort.InferenceSession.create(graph.onnx, { intraOpNumThreads: 1 });

  const batch = loadExpected('jinabert-tiny-golden').batches[0]!;
  const cut = (m: number[][]): number[][] => m.slice(0, BATCH).map((r) => r.slice(0, SEQ));
  const rows = cut(batch.input_ids);
  const tensor = (m: number[][]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(m.flat(), BigInt), [BATCH, SEQ]);
  const params = graph.parameters.map((p) => Float32Array.from(lookup(p.name, p.shape)));
  const run = async (values: readonly Float32Array[], outputs: string[]): Promise<ort.InferenceSession.OnnxValueMapType> => {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: tensor(rows),
      attention_mask: tensor(cut(batch.attention_mask)),
      token_type_ids: tensor(cut(batch.token_type_ids ?? batch.input_ids.map((r) => r.map(() => 0)))),
      labels: labels(rows),
    };
    graph.parameters.forEach((p, i) => { if (session.inputNames.includes(p.name)) feeds[p.name] = new ort.Tensor('float32', values[i]!, [...p.shape]); });
    return session.run(feeds, outputs);
  };
  const lossOf = async (values: readonly Float32Array[]): Promise<number> => Number((await run(values, ['loss'])).loss!.data[0]);

  const checked = graph.parameters.map((p, i) => ({ ...p, i })).filter((p) => pattern.test(p.name));
  assert.ok(checked.length >= minimum, `parameters to check: ${checked.map((p) => p.name).join(', ')}`);
  const grads = await run(params, checked.map((p) => GRADIENT_PREFIX + p.name));
  const eps = 1e-2;
  let compared = 0;
  for (const p of checked) {
    const grad = grads[GRADIENT_PREFIX + p.name]!.data as Float32Array;
    const order = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!)).slice(0, 3);
    for (const k of order) {
      const shifted = (delta: number): Float32Array[] => {
        const values = [...params];
        values[p.i] = Float32Array.from(params[p.i]!);
        values[p.i]![k]! += delta;
        return values;
      };
      const numeric = (await lossOf(shifted(eps)) - await lossOf(shifted(-eps))) / (2 * eps);
      const analytic = grad[k]!;
      assert.ok(Math.abs(analytic) > 1e-4, `${p.name}[${k}]: gradient ${analytic} too small to check`);
      assert.ok(Math.abs(numeric - analytic) <= 0.03 * Math.abs(analytic) + 2e-5, `${p.name}[${k}]: autodiff ${analytic}, finite differences ${numeric}`);
      compared++;
    }
  }
  assert.equal(compared, checked.length * 3);
}

test('float32 bce training graph: attention, pooler and classifier gradients match finite differences', async () => {
  await checkGradients({ name: 'bce' }, () => new ort.Tensor('float32', Float32Array.from([1, 0]), [BATCH]),
    /layer\.[01]\.attention\.self\.(query|key|value)\.weight$|pooler\.dense\.weight$|classifier\.weight$/, 8);
});

test('float32 masked-LM training graph: tied word embeddings, MLM head and attention gradients match finite differences', async () => {
  // every fifth position that is not padding (id 0) carries its own token as the label, the
  // rest −100; the input keeps the token: the gradient check needs labels, not the masking
  const labels = (rows: number[][]): ort.Tensor => new ort.Tensor('int64',
    BigInt64Array.from(rows.flatMap((r) => r.map((id, i) => (i % 5 === 2 && id !== 0 ? id : -100))), BigInt), [BATCH * SEQ]);
  await checkGradients({ name: 'mlm' }, labels,
    /embeddings\.word_embeddings\.weight$|cls\.predictions\.(transform\.dense\.weight|bias)$|layer\.[01]\.attention\.self\.(query|value)\.weight$/, 6);
});
