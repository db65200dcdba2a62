/**
 * The committed recipes (data/distill.json, the session-sized one that made the teacher of
 * data/distill-pack; data/distill-grow.json, the same with the teacher grown to 12 layers;
 * data/distill-weak.json, the same with the teacher trained on BM25's margins;
 * data/distill-fuse.json, the same with the teacher trained towards its fusion with BM25 (the
 * recipe of the models shipped now); data/distill-listwise.json, the same with the teacher
 * trained further with listwise cross-entropy before the fusion; data/distill-c100.json, that
 * one fused on 100 candidates per query; and
 * data/distill-large.json, the multi-session plan) are only run for hours, so a
 * mistake in a stage's settings would show late: each stage's settings are validated here as
 * the training config the recipe generates, and each student's shape against the teacher it is
 * cut from.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseTrainConfig } from '../../src/train/index.js';
import { finalTeacher, readDistillConfig } from '../../src/train/distill/config.js';
import { repoRoot } from '../helpers.js';

for (const name of ['distill.json', 'distill-grow.json', 'distill-weak.json', 'distill-fuse.json', 'distill-listwise.json', 'distill-c100.json', 'distill-large.json']) {
  describe(`data/${name}`, () => {
    const file = path.join(repoRoot, 'data', name);
    const c = readDistillConfig(file);

    test('its tokenizer is the committed vocabulary', () => {
      assert.ok(fs.existsSync(c.tokenizer), c.tokenizer);
    });

    test('every training stage\'s settings make a valid training config', () => {
      const stages: [string, Record<string, unknown>, Record<string, unknown>][] = [
        ...(c.teacher.matching?.stages ?? []).map((s, i): [string, Record<string, unknown>, Record<string, unknown>] => [`match-${i + 1}`, { ...c.teacher.matching!.train, steps: s.steps, max_length: s.max_length, ...(s.learning_rate !== undefined ? { learning_rate: s.learning_rate } : {}) }, { name: 'bce' }]),
        ['pretrain', c.teacher.pretrain, { name: 'mlm' }],
        ['finetune', c.teacher.finetune, { name: 'bce' }],
        ...(c.teacher.grow ? [['grow', c.teacher.grow.train, { name: 'bce' }] as [string, Record<string, unknown>, Record<string, unknown>]] : []),
        ...(c.teacher.listwise ? [['listwise', c.teacher.listwise.train, { name: 'listwise-ce', list_size: c.teacher.listwise.list_size }] as [string, Record<string, unknown>, Record<string, unknown>]] : []),
        ...(c.teacher.weak ? [['weak', c.teacher.weak.train, { name: 'margin-mse' }] as [string, Record<string, unknown>, Record<string, unknown>]] : []),
        ...(c.teacher.fuse ? [['fuse', c.teacher.fuse.train, { name: 'margin-mse' }] as [string, Record<string, unknown>, Record<string, unknown>]] : []),
        ...c.students.models.flatMap((m) => m.losses.map((loss): [string, Record<string, unknown>, Record<string, unknown>] => [
          `${m.name}-${loss}`, { ...m.train, ...m.by_loss[loss] }, loss === 'margin-mse' ? { name: loss } : { name: loss, list_size: c.students.list_size },
        ])),
      ];
      assert.ok(stages.length >= 5);
      for (const [stage, settings, loss] of stages) {
        const parsed = parseTrainConfig({ ...settings, model: { init: 'checkpoint' }, data: { train: 'train.jsonl' }, loss, output: 'out' }, `${name} (${stage})`);
        assert.ok(parsed.steps > 0, stage);
      }
    });

    test('each student is smaller than the teacher it learns from, and can be cut from it', () => {
      const teacher = finalTeacher(c).shape;
      for (const m of c.students.models) {
        const shape = { ...teacher, ...m.shape };
        assert.ok(shape.num_hidden_layers < teacher.num_hidden_layers, `${m.name}: ${shape.num_hidden_layers} of ${teacher.num_hidden_layers} layers`);
        if (m.init_from_teacher) {
          // A narrower student keeps the teacher's head size (narrow.ts cuts whole heads).
          assert.ok(shape.hidden_size <= teacher.hidden_size, m.name);
          assert.equal(shape.hidden_size / shape.num_attention_heads, teacher.hidden_size / teacher.num_attention_heads, m.name);
          assert.ok(shape.intermediate_size <= teacher.intermediate_size, m.name);
        }
      }
    });
  });
}
