/**
 * A student cut from the teacher (`init_from_teacher`): fewer layers, and optionally fewer
 * GEGLU feed-forward units. The check that the units are cut consistently (gate row, up row
 * and output column of the same unit) is exact: units whose output column is zero contribute
 * nothing, so a cut that drops exactly those must score every pair as the uncut model does.
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
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(FIXTURE)) if (f !== 'model.safetensors' && f !== 'expected.json') fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  const weights = readSafetensors(path.join(FIXTURE, 'model.safetensors'));
  const tensors = weights.names().map((name) => {
    const shape = [...weights.shape(name)!];
    const data = Float32Array.from(weights.float32(name));
    if (name.endsWith('mlp.wo.weight')) {
      for (let r = 0; r < shape[0]!; r++) for (const j of silent) data[r * shape[1]! + j] = 0;
    }
    return { name, dtype: 'F32' as const, shape, data };
  });
  // A classifier head where the fixture has none, so that the folder loads as a reranker.
  const head = (name: string, shape: number[], seed: number): { name: string; dtype: 'F32'; shape: number[]; data: Float32Array } => ({
    name, dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.1),
  });
  const prefixed = tensors.map((t) => ({ ...t, name: t.name.startsWith('bert.') ? t.name : `bert.${t.name}` }));
  const heads = [head('bert.pooler.dense.weight', [64, 64], 1), head('bert.pooler.dense.bias', [64], 2), head('classifier.weight', [1, 64], 3), head('classifier.bias', [1], 4)]
    .filter((h) => !prefixed.some((t) => t.name === h.name));
  writeSafetensors(path.join(dir, 'model.safetensors'), [...prefixed, ...heads], { format: 'pt' });
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['JinaBertForSequenceClassification'], num_labels: 1 }));
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
    assert.throws(() => cutTeacher(teacher, student({ hidden_size: 32 }), SHAPE, path.join(root, 'y')), (e: unknown) => e instanceof InputError && /hidden_size differ/.test(e.message));
  });
});
