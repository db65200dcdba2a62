/**
 * A student cut from the teacher (`init_from_teacher`): fewer layers, and optionally fewer
 * GEGLU feed-forward units or a narrower width. The check that the units are cut consistently
 * (gate row, up row and output column of the same unit) is exact: units whose output column is
 * zero contribute nothing, so a cut that drops exactly those must score every pair as the uncut
 * model does. A narrower width changes what LayerNorm averages over, so no cut preserves the
 * function; its checks are on where each kept weight lands.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/checkpoint/safetensors.js';
import { Reranker } from '../../src/rerank/reranker.js';
import { cutTeacher } from '../../src/train/distill/students.js';
import type { ModelShape, StudentConfig } from '../../src/train/distill/config.js';
import { InputError } from '../../src/errors.js';
import { fixtureDir, tempDir } from '../helpers.js';

const FIXTURE = fixtureDir('jinabert-tiny-golden');
const SHAPE: ModelShape = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128 };
const PAIRS = [
  { query: 'what is a cross-encoder', document: 'A cross-encoder reads the query and the document together.' },
  { query: 'alibi attention', document: 'Linear biases replace position embeddings in the attention scores.' },
  { query: 'fast rerankers', document: 'Small models trade a little accuracy for speed.' },
];

function student(shape: Partial<ModelShape>): StudentConfig {
  return { name: 'cut', shape, init_from_teacher: true, losses: ['margin-mse'], train: {}, by_loss: {} };
}

/** The fixture as a sequence classifier whose units `silent` (in every layer) have a zero output column. */
function teacherWithSilentUnits(dir: string, silent: ReadonlySet<number>): string {
  return teacherFromFixture(dir, (name, shape, data) => {
    if (name.endsWith('mlp.wo.weight')) {
      for (let r = 0; r < shape[0]!; r++) for (const j of silent) data[r * shape[1]! + j] = 0;
    }
  });
}

/** The fixture as a sequence classifier (a head added), each tensor first passed to `edit`. */
function teacherFromFixture(dir: string, edit: (name: string, shape: number[], data: Float32Array) => void, config: Record<string, unknown> = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(FIXTURE)) if (f !== 'model.safetensors' && f !== 'expected.json') fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  const weights = readSafetensors(path.join(FIXTURE, 'model.safetensors'));
  const tensors = weights.names().map((name) => {
    const shape = [...weights.shape(name)!];
    return { name, dtype: 'F32' as const, shape, data: Float32Array.from(weights.float32(name)) };
  });
  // A classifier head where the fixture has none, so that the folder loads as a reranker.
  const head = (name: string, shape: number[], seed: number): { name: string; dtype: 'F32'; shape: number[]; data: Float32Array } => ({
    name, dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.1),
  });
  const prefixed = tensors.map((t) => ({ ...t, name: t.name.startsWith('bert.') || t.name.startsWith('classifier.') ? t.name : `bert.${t.name}` }));
  const heads = [head('bert.pooler.dense.weight', [64, 64], 1), head('bert.pooler.dense.bias', [64], 2), head('classifier.weight', [1, 64], 3), head('classifier.bias', [1], 4)]
    .filter((h) => !prefixed.some((t) => t.name === h.name));
  const all = [...prefixed, ...heads];
  for (const t of all) edit(t.name, t.shape, t.data);
  writeSafetensors(path.join(dir, 'model.safetensors'), all, { format: 'pt' });
  const fixtureConfig = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...fixtureConfig, architectures: ['JinaBertForSequenceClassification'], num_labels: 1, ...config }));
  return dir;
}

async function logits(dir: string): Promise<number[]> {
  const reranker = await Reranker.load(dir, { threads: 1 });
  try {
    return [...(await reranker.score(PAIRS, { maxLength: 64 }))];
  } finally {
    await reranker.close();
  }
}

describe('cutTeacher: a student from the teacher\'s first layers and strongest feed-forward units', () => {
  const root = tempDir('turborank-cut-');
  // Units 0, 5, 6, … (every unit ≡ 0 or 1 mod 3, beyond the first 10): silent in both layers.
  const silent = new Set(Array.from({ length: 128 }, (_, j) => j).filter((j) => j >= 10 && j % 3 !== 2));
  const teacher = teacherWithSilentUnits(path.join(root, 'teacher'), silent);
  const kept = 128 - silent.size;

  test('dropping only units that contribute nothing leaves every logit as it was', async () => {
    const dir = cutTeacher(teacher, student({ intermediate_size: kept }), SHAPE, path.join(root, 'pruned'));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { intermediate_size: number; num_hidden_layers: number };
    assert.deepEqual([config.intermediate_size, config.num_hidden_layers], [kept, 2]);
    const cut = readSafetensors(path.join(dir, 'model.safetensors'));
    assert.deepEqual(cut.shape('bert.encoder.layer.1.mlp.gated_layers.weight'), [2 * kept, 64]);
    assert.deepEqual(cut.shape('bert.encoder.layer.1.mlp.wo.weight'), [64, kept]);
    const [before, after] = [await logits(teacher), await logits(dir)];
    for (let i = 0; i < PAIRS.length; i++) assert.ok(Math.abs(before[i]! - after[i]!) < 1e-5, `pair ${i}: ${before[i]} vs ${after[i]}`);
  });

  test('one unit fewer than that changes the scores (the check can fail)', async () => {
    const dir = cutTeacher(teacher, student({ intermediate_size: kept - 1 }), SHAPE, path.join(root, 'pruned-more'));
    const [before, after] = [await logits(teacher), await logits(dir)];
    assert.ok(before.some((b, i) => Math.abs(b - after[i]!) > 1e-4));
  });

  test('fewer layers keep the first ones; a wider student or another hidden size is refused', () => {
    const dir = cutTeacher(teacher, student({ num_hidden_layers: 1 }), SHAPE, path.join(root, 'one-layer'));
    const cut = readSafetensors(path.join(dir, 'model.safetensors'));
    assert.ok(cut.names().some((n) => n.includes('layer.0.')) && !cut.names().some((n) => n.includes('layer.1.')));
    assert.throws(() => cutTeacher(teacher, student({ intermediate_size: 256 }), SHAPE, path.join(root, 'x')), (e: unknown) => e instanceof InputError && /at most the teacher's feed-forward units/.test(e.hint ?? ''));
    assert.throws(() => cutTeacher(teacher, student({ hidden_size: 32 }), SHAPE, path.join(root, 'y')), (e: unknown) => e instanceof InputError && /keeps the teacher's head size 16/.test(e.message) && /2 heads? for|num_attention_heads/.test(e.hint ?? ''));
    assert.throws(() => cutTeacher(teacher, student({ hidden_size: 80, num_attention_heads: 5 }), SHAPE, path.join(root, 'z')), (e: unknown) => e instanceof InputError && /wider than the teacher's 64/.test(e.message));
  });
});

describe('cutTeacher: a narrower student (fewer heads, fewer residual dimensions)', () => {
  const root = tempDir('turborank-narrow-');
  // Residual dimensions 3, 7, 11, …: γ = 0 in every LayerNorm, so no layer reads them (score 0).
  const unread = new Set(Array.from({ length: 16 }, (_, i) => 4 * i + 3));
  // Pooler units the classifier ignores.
  const ignored = new Set(Array.from({ length: 16 }, (_, i) => 4 * i));
  const teacher = teacherFromFixture(path.join(root, 'teacher'), (name, shape, data) => {
    if (/(LayerNorm|layernorm)\.weight$/.test(name)) for (const d of unread) data[d] = 0;
    if (name === 'classifier.weight') for (const j of ignored) data[j] = 0;
  });
  const original = readSafetensors(path.join(teacher, 'model.safetensors'));
  const keptResidual = Array.from({ length: 64 }, (_, d) => d).filter((d) => !unread.has(d));
  const keptPooler = Array.from({ length: 64 }, (_, d) => d).filter((d) => !ignored.has(d));

  test('3 of 4 heads keep their ALiBi slopes; the unread dimensions and the ignored pooler units go', async () => {
    const dir = cutTeacher(teacher, student({ hidden_size: 48, num_attention_heads: 3 }), SHAPE, path.join(root, 'three-heads'));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as ModelShape;
    assert.deepEqual([config.hidden_size, config.num_attention_heads, config.num_hidden_layers, config.intermediate_size], [48, 3, 2, 128]);
    const cut = readSafetensors(path.join(dir, 'model.safetensors'));
    // alibiSlopes(3) = [1/16, 1/256, 1/4]: the teacher's heads 1, 3 and 0 (its slopes 1/4, 1/16, 1/64, 1/256).
    const headOrder = [1, 3, 0];
    for (const layer of [0, 1]) {
      const name = `bert.encoder.layer.${layer}.attention.self.key.weight`;
      const [from, to] = [original.float32(name), cut.float32(name)];
      assert.deepEqual(cut.shape(name), [48, 48]);
      headOrder.forEach((h, i) => {
        for (let k = 0; k < 16; k++) {
          keptResidual.forEach((d, j) => assert.equal(to[(i * 16 + k) * 48 + j], from[(h * 16 + k) * 64 + d], `${name} head ${h} row ${k} dim ${d}`));
        }
      });
      const out = `bert.encoder.layer.${layer}.attention.output.dense.weight`;
      const [oFrom, oTo] = [original.float32(out), cut.float32(out)];
      keptResidual.forEach((d, i) => headOrder.forEach((h, j) => assert.equal(oTo[i * 48 + j * 16 + 5], oFrom[d * 64 + h * 16 + 5], `${out} dim ${d} head ${h}`)));
      const wo = `bert.encoder.layer.${layer}.mlp.wo.weight`;
      assert.deepEqual(cut.shape(wo), [48, 128]);
      assert.deepEqual([...cut.float32(wo).subarray(0, 128)], [...original.float32(wo).subarray(keptResidual[0]! * 128, keptResidual[0]! * 128 + 128)]);
    }
    const words = cut.float32('bert.embeddings.word_embeddings.weight');
    assert.deepEqual([...words.subarray(48 * 7, 48 * 8)], keptResidual.map((d) => original.float32('bert.embeddings.word_embeddings.weight')[64 * 7 + d]));
    assert.deepEqual([...cut.float32('classifier.weight')], keptPooler.map((j) => original.float32('classifier.weight')[j]));
    const pooler = cut.float32('bert.pooler.dense.weight');
    assert.equal(pooler[2 * 48 + 4], original.float32('bert.pooler.dense.weight')[keptPooler[2]! * 64 + keptResidual[4]!]);
    // The cut checkpoint is a working reranker of its new shape.
    const scores = await logits(dir);
    assert.equal(scores.length, PAIRS.length);
    assert.ok(scores.every(Number.isFinite));
  });

  test('2 heads keep slopes 1/16 and 1/256 (the teacher\'s heads 1 and 3), and fewer feed-forward units cut on top', () => {
    const dir = cutTeacher(teacher, student({ hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, num_hidden_layers: 1 }), SHAPE, path.join(root, 'two-heads'));
    const cut = readSafetensors(path.join(dir, 'model.safetensors'));
    assert.deepEqual(cut.shape('bert.encoder.layer.0.mlp.gated_layers.weight'), [128, 32]);
    assert.deepEqual(cut.shape('bert.encoder.layer.0.mlp.wo.weight'), [32, 64]);
    assert.ok(!cut.names().some((n) => n.includes('layer.1.')));
    const value = 'bert.encoder.layer.0.attention.self.value.bias';
    assert.deepEqual([...cut.float32(value)], [...original.float32(value).subarray(16, 32), ...original.float32(value).subarray(48, 64)]);
  });

  test('with absolute positions the heads whose values and outputs weigh most are kept', () => {
    const silentHead = 2;
    const absolute = teacherFromFixture(path.join(root, 'absolute'), (name, shape, data) => {
      if (name.endsWith('attention.self.value.weight')) data.fill(0, silentHead * 16 * shape[1]!, (silentHead + 1) * 16 * shape[1]!);
    }, { position_embedding_type: 'absolute' });
    const dir = cutTeacher(absolute, student({ hidden_size: 48, num_attention_heads: 3 }), SHAPE, path.join(root, 'absolute-cut'));
    const [from, to] = [readSafetensors(path.join(absolute, 'model.safetensors')), readSafetensors(path.join(dir, 'model.safetensors'))];
    const bias = 'bert.encoder.layer.0.attention.self.query.bias';
    assert.deepEqual([...to.float32(bias)], [0, 1, 3].flatMap((h) => [...from.float32(bias).subarray(h * 16, h * 16 + 16)]));
  });
});
