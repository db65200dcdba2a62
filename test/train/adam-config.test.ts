/**
 * `adam` in the training config (beta1, beta2, epsilon) reaches the AdamW graph: after one step
 * from zero moments, m = (1 − β₁)·g and v = (1 − β₂)·g², so two runs on the same data and
 * weights with different betas have moments in the ratio of their (1 − β).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { parseTrainConfig, Trainer } from '../../src/train/index.js';
import { tinyConfig, trainingFolder } from './support.js';

async function moments(adam: Record<string, number> | undefined): Promise<{ m: Map<string, Float32Array>; v: Map<string, Float32Array> }> {
  const dir = trainingFolder(64);
  const config = parseTrainConfig(tinyConfig({ steps: 1, checkpoint_every: 1, ...(adam ? { adam } : {}) }), path.join(dir, 'config.json'));
  const trainer = await Trainer.create(config);
  await trainer.run({});
  await trainer.close();
  const optimizer = SafetensorsFile.read(path.join(dir, 'run', 'checkpoint-1', 'optimizer.safetensors'));
  const pick = (prefix: string): Map<string, Float32Array> =>
    new Map(optimizer.names().filter((n) => n.startsWith(prefix)).map((n) => [n.slice(prefix.length), optimizer.float32(n)] as const));
  return { m: pick('m.'), v: pick('v.') };
}

test('adam.beta1 and adam.beta2 set the optimizer\'s moment decay (defaults 0.9 and 0.999)', async () => {
  const standard = await moments(undefined);
  const custom = await moments({ beta1: 0.5, beta2: 0.9 });
  let checked = 0;
  for (const [name, m] of standard.m) {
    const mc = custom.m.get(name)!;
    const v = standard.v.get(name)!;
    const vc = custom.v.get(name)!;
    for (let i = 0; i < m.length; i++) {
      if (Math.abs(m[i]!) < 1e-12) continue;
      assert.ok(Math.abs(mc[i]! / m[i]! - 0.5 / 0.1) < 1e-3, `${name}[${i}]: m ratio ${mc[i]! / m[i]!}, expected 5`);
      assert.ok(Math.abs(vc[i]! / v[i]! - 0.1 / 0.001) < 1e-1, `${name}[${i}]: v ratio ${vc[i]! / v[i]!}, expected 100`);
      checked++;
    }
  }
  assert.ok(checked > 100, `compared ${checked} moments`);
});

test('adam settings out of range or unknown are refused with the field named', () => {
  const dir = trainingFolder(8);
  assert.throws(() => parseTrainConfig(tinyConfig({ steps: 1, adam: { beta2: 1 } }), path.join(dir, 'config.json')), /adam\.beta2/);
  assert.throws(() => parseTrainConfig(tinyConfig({ steps: 1, adam: { eps: 1e-6 } }), path.join(dir, 'config.json')), /adam/);
  const parsed = parseTrainConfig(tinyConfig({ steps: 1, adam: { beta2: 0.98 } }), path.join(dir, 'config.json'));
  assert.deepEqual(parsed.adam, { beta1: 0.9, beta2: 0.98, epsilon: 1e-8 });
});
