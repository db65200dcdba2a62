/**
 * The distillation recipe end to end at CI size (issue 5, point 7): a tiny `turborank data`
 * build from the tiny world test/corpus writes, then `turborank distill all` through the CLI
 * with tiny shapes and a few steps per stage: the teacher's MLM pre-training and fine-tuning,
 * its growing by stacking (3 → 6 layers) and further training, its listwise fine-tuning on
 * lists regrouped from the pairs, its training on BM25's margins (BM25 as a weak teacher), its self-distillation towards its fusion with BM25, labels with provenance, two students (one cut from the teacher, one narrower) with both
 * distillation losses; the students load with Reranker.load and score. Then labelling is
 * interrupted by hand (labels.jsonl cut mid-line) and resumes, a rerun skips every stage, and
 * `distill pack` writes float16 models that load and score.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readDataConfig } from '../../src/corpus/config.js';
import { runDataStep } from '../../src/corpus/pipeline.js';
import { readSafetensors } from '../../src/checkpoint/safetensors.js';
import { Reranker } from '../../src/rerank/index.js';
import { latestCheckpoint } from '../../src/train/index.js';
import { readDistillConfig } from '../../src/train/distill/config.js';
import { fusedScores } from '../../src/train/distill/fuse.js';
import { InputError } from '../../src/errors.js';
import { assertFailure, assertOk, runCli } from '../cli/support.js';
import { writeTinyWorld } from '../corpus/fixtures.js';

const SCHEDULE = { steps: 3, batch_size: 4, max_length: 48, learning_rate: 1e-3, dropout: { hidden: 0, attention: 0 }, threads: 1, checkpoint_every: 2, log_every: 1 };
const { steps: _steps, max_length: _maxLength, ...MATCH_SCHEDULE } = SCHEDULE;
const MATCHING = {
  min_dev_mrr: 0, // a few steps of a 3 x 32 model learn nothing; the guard is tested below
  train: MATCH_SCHEDULE,
  stages: [
    { query_words: 1, document_words: 4, max_length: 16, steps: 2, pairs: 16, dev_pairs: 8 },
    { query_words: 2, document_words: 6, planted: 1, max_length: 24, steps: 3, pairs: 16, dev_pairs: 8, learning_rate: 0.0007 },
  ],
};
const TEACHER = { hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 2, intermediate_size: 64 };

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function jsonl(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('turborank distill on a tiny data build', () => {
  let dir: string;
  let run: string;
  let config: string;
  let build: string;
  let firstRun: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    const world = writeTinyWorld();
    const data = readDataConfig(world.config);
    build = data.output;
    await runDataStep('all', data, { command: 'test', log: () => {} });
    dir = world.root;
    run = path.join(dir, 'run');
    config = path.join(dir, 'distill.json');
    fs.writeFileSync(config, JSON.stringify({
      run: 'run', data: 'build', tokenizer: 'build/vocab/tokenizer.json',
      teacher: { shape: TEACHER, tied_query_key_std: 0.1, min_dev_mrr: 0, matching: MATCHING, pretrain: SCHEDULE, finetune: { ...SCHEDULE, eval_every: 3 }, grow: { times: 2, train: { ...SCHEDULE, eval_every: 3 } }, listwise: { list_size: 3, train: { ...SCHEDULE, eval_every: 3 } }, weak: { pairs_per_query: 2, top: 2, seed: 5, train: SCHEDULE }, fuse: { pairs_per_query: 2, top: 2, seed: 7, train: SCHEDULE } },
      label: { max_length: 48, batch_size: 8, flush_every: 2, threads: 1 },
      students: {
        pairs_per_query: 2, list_size: 3, seed: 3,
        models: [
          { name: 'turbo', shape: { num_hidden_layers: 2 }, init_from_teacher: true, losses: ['margin-mse', 'listwise-kl'], train: SCHEDULE, by_loss: { 'listwise-kl': { batch_size: 2 } } },
          { name: 'tiny', shape: { num_hidden_layers: 1, hidden_size: 16, intermediate_size: 32 }, losses: ['margin-mse'], train: SCHEDULE },
        ],
      },
    }, null, 2));
    firstRun = await runCli(['distill', 'all', '--config', config], { timeoutMs: 150_000 });
  });

  test('every stage ran through the CLI and wrote its checkpoint', () => {
    assertOk(firstRun);
    for (const [folder, steps] of [['teacher-match-1', 2], ['teacher-match-2', 3], ['teacher-pretrain', 3], ['teacher', 3], ['teacher-grown', 3], ['teacher-listwise', 3], ['teacher-weak', 3], ['teacher-fused', 3], ['turbo-margin-mse', 3], ['turbo-listwise-kl', 3], ['tiny-margin-mse', 3]] as const) {
      const latest = JSON.parse(fs.readFileSync(path.join(run, folder, 'latest.json'), 'utf8')) as { step: number };
      assert.equal(latest.step, steps, folder);
      assert.ok(fs.existsSync(path.join(run, 'configs', `${folder}.json`)), `${folder}'s generated train config`);
    }
    // The chain: a new model (key weights tied to query weights) learns matching in two
    // stages, then MLM from the last matching checkpoint, then fine-tuning from the MLM one.
    const generated = (name: string): { model: { init?: string; tied_query_key_std?: number }; data: { train: string }; max_length: number; steps: number; learning_rate: number } =>
      JSON.parse(fs.readFileSync(path.join(run, 'configs', `${name}.json`), 'utf8')) as never;
    assert.equal(generated('teacher-match-1').model.tied_query_key_std, 0.1);
    assert.equal(generated('teacher-match-1').model.init, undefined);
    assert.deepEqual([generated('teacher-match-2').max_length, generated('teacher-match-2').steps], [24, 3], 'a stage sets its own length and steps');
    assert.deepEqual([generated('teacher-match-1').learning_rate, generated('teacher-match-2').learning_rate], [SCHEDULE.learning_rate, 0.0007], 'and may set its own rate');
    for (const [name, from] of [['teacher-match-2', 'teacher-match-1'], ['teacher-pretrain', 'teacher-match-2'], ['teacher', 'teacher-pretrain']] as const) {
      assert.equal(path.dirname(generated(name).model.init!), path.join(run, from), `${name} starts from ${from}`);
    }
    const stage2 = jsonl(generated('teacher-match-2').data.train);
    assert.equal(stage2.length, 16);
    assert.ok(stage2.every((p) => (p.query as string).split(' ').length === 2 && (p.document as string).split(' ').length === 6));
    const finetuneLog = jsonl(path.join(run, 'teacher', 'train_log.jsonl'));
    assert.ok(finetuneLog.at(-1)!.dev !== undefined, 'the teacher is evaluated on pairs/dev.jsonl');
    assert.ok(jsonl(path.join(run, 'teacher-grown', 'train_log.jsonl')).at(-1)!.dev !== undefined, 'so is the grown teacher');
    assert.equal(generated('teacher-grown').model.init, path.join(run, 'teacher-stack'));
    assert.equal(generated('teacher-grown').data.train, path.join(build, 'pairs', 'train.jsonl'));
    // Listwise fine-tuning: the grown teacher trained further on lists regrouped from the same
    // pairs, each a positive first and two of its query's negatives, the target on the positive.
    const listwiseTeacher = JSON.parse(fs.readFileSync(path.join(run, 'configs', 'teacher-listwise.json'), 'utf8')) as { model: { init: string }; loss: { name: string; list_size: number }; data: { train: string; dev: string } };
    assert.equal(path.dirname(listwiseTeacher.model.init), path.join(run, 'teacher-grown'));
    assert.deepEqual(listwiseTeacher.loss, { name: 'listwise-ce', list_size: 3 });
    for (const split of ['train', 'dev'] as const) {
      const pairs = jsonl(path.join(build, 'pairs', `${split}.jsonl`));
      const lists = jsonl(listwiseTeacher.data[split]);
      const negativesOf = (query: unknown): string[] => pairs.filter((p) => p.query === query && p.label === 0).map((p) => p.document as string);
      const expected = pairs.filter((p) => p.label === 1 && negativesOf(p.query).length >= 2);
      assert.ok(expected.length > 0, `${split}: some positives have two negatives`);
      assert.equal(lists.length, expected.length, `${split}: one list per positive with enough negatives`);
      for (const l of lists) {
        const docs = l.documents as string[];
        assert.deepEqual(l.teacher, [20, 0, 0]);
        assert.ok(pairs.some((p) => p.query === l.query && p.label === 1 && p.document === docs[0]), 'the positive first');
        assert.deepEqual(docs.slice(1), negativesOf(l.query).slice(0, 2), 'then the query\'s first two negatives');
      }
    }
    const listwiseDev = jsonl(path.join(run, 'teacher-listwise', 'train_log.jsonl')).at(-1)!.dev as { mrr?: number } | undefined;
    assert.ok(listwiseDev?.mrr !== undefined, 'the listwise teacher is evaluated (MRR) on the dev lists');
    const pretrain = JSON.parse(fs.readFileSync(path.join(run, 'configs', 'teacher-pretrain.json'), 'utf8')) as { loss: { name: string }; data: { train: string } };
    assert.equal(pretrain.loss.name, 'mlm');
    assert.equal(pretrain.data.train, path.join(build, 'corpus', 'pretrain.jsonl'));
    // BM25 as a weak teacher: the listwise teacher trained further on BM25's margins between each query's candidates.
    const weak = JSON.parse(fs.readFileSync(path.join(run, 'configs', 'teacher-weak.json'), 'utf8')) as { model: { init: string }; loss: { name: string }; data: { train: string } };
    assert.deepEqual([path.dirname(weak.model.init), weak.loss.name], [path.join(run, 'teacher-listwise'), 'margin-mse']);
    const weakPairs = jsonl(weak.data.train);
    const bm25 = new Map(jsonl(path.join(build, 'queries', 'queries.jsonl')).map((q) => [q.query as string, q.candidates as { bm25: number }[]]));
    assert.ok(weakPairs.length >= 5, `${weakPairs.length} weak pairs`);
    for (const w of weakPairs) {
      const scores = bm25.get(w.query as string)!.map((c) => c.bm25);
      assert.ok((w.teacher_positive as number) > (w.teacher_negative as number), JSON.stringify(w));
      assert.ok(scores.includes(w.teacher_positive as number) && scores.includes(w.teacher_negative as number), 'both targets are BM25 scores of the query\'s candidates');
      assert.ok(scores.filter((x) => x > (w.teacher_positive as number)).length < 2, 'the first of the pair is one of BM25\'s top 2');
    }
    // Fusion: the weak teacher labels every query (fuse-labels), and is trained further on the
    // margins of its logits fused with BM25's scores, put back on its own scale per query.
    const fused = JSON.parse(fs.readFileSync(path.join(run, 'configs', 'teacher-fused.json'), 'utf8')) as { model: { init: string }; loss: { name: string }; data: { train: string } };
    assert.deepEqual([path.dirname(fused.model.init), fused.loss.name], [path.join(run, 'teacher-weak'), 'margin-mse']);
    const fuseProvenance = JSON.parse(fs.readFileSync(path.join(run, 'fuse-labels', 'provenance.json'), 'utf8')) as { teacher: { checkpoint: string } };
    assert.equal(fuseProvenance.teacher.checkpoint, latestCheckpoint(path.join(run, 'teacher-weak')));
    const fuseLabels = jsonl(path.join(run, 'fuse-labels', 'labels.jsonl'));
    const queryById = new Map(jsonl(path.join(build, 'queries', 'queries.jsonl')).map((q) => [q.id as string, q]));
    const fusedByQuery = new Map(fuseLabels.map((l) => {
      const q = queryById.get(l.query_id as string)!;
      const bm25ById = new Map((q.candidates as { id: string; bm25: number }[]).map((c) => [c.id, c.bm25]));
      return [q.query as string, fusedScores(l.logits as number[], (l.doc_ids as string[]).map((id) => bm25ById.get(id)!), 0.5)];
    }));
    const fusedPairs = jsonl(fused.data.train);
    assert.ok(fusedPairs.length >= 5, `${fusedPairs.length} fused pairs`);
    for (const f of fusedPairs) {
      const scores = fusedByQuery.get(f.query as string)!;
      assert.ok((f.teacher_positive as number) > (f.teacher_negative as number), JSON.stringify(f));
      assert.ok(scores.includes(f.teacher_positive as number) && scores.includes(f.teacher_negative as number), 'both targets are fused scores of the query\'s candidates');
      assert.ok(scores.filter((x) => x > (f.teacher_positive as number)).length < 2, 'the first of the pair is one of the fusion\'s top 2');
    }
    const listwise = JSON.parse(fs.readFileSync(path.join(run, 'configs', 'turbo-listwise-kl.json'), 'utf8')) as { batch_size: number; loss: { name: string; list_size: number } };
    assert.deepEqual([listwise.batch_size, listwise.loss.name, listwise.loss.list_size], [2, 'listwise-kl', 3], 'by_loss overrides the student\'s schedule');
  });

  test('grow stacks the fine-tuned teacher: layers 3-5 start as copies of layers 0-2, the rest once', () => {
    const stacked = readSafetensors(path.join(run, 'teacher-stack', 'model.safetensors'));
    const teacher = readSafetensors(path.join(latestCheckpoint(path.join(run, 'teacher'))!, 'model.safetensors'));
    const config = JSON.parse(fs.readFileSync(path.join(run, 'teacher-stack', 'config.json'), 'utf8')) as { num_hidden_layers: number; hidden_size: number };
    assert.deepEqual([config.num_hidden_layers, config.hidden_size], [6, 32]);
    const layered = teacher.names().filter((n) => /\.layer\.\d+\./.test(n));
    assert.ok(layered.length > 0);
    assert.equal(stacked.names().length, teacher.names().length + layered.length);
    for (const name of teacher.names()) {
      assert.deepEqual(stacked.float32(name), teacher.float32(name), name);
      const m = /\.layer\.(\d+)\./.exec(name);
      if (m) assert.deepEqual(stacked.float32(name.replace(m[0], `.layer.${Number(m[1]) + 3}.`)), teacher.float32(name), `${name}, copied 3 layers up`);
    }
    // Training moved the grown teacher away from its stacked start.
    const grown = readSafetensors(path.join(latestCheckpoint(path.join(run, 'teacher-grown'))!, 'model.safetensors'));
    assert.equal(grown.names().length, stacked.names().length);
    assert.ok(grown.names().some((n) => !grown.float32(n).every((v, i) => v === stacked.float32(n)[i])));
  });

  test('labels cover every query, with the teacher and data they came from', () => {
    const queries = jsonl(path.join(build, 'queries', 'queries.jsonl'));
    const labels = jsonl(path.join(run, 'labels', 'labels.jsonl'));
    assert.ok(queries.length >= 5, `${queries.length} queries`);
    assert.deepEqual(labels.map((l) => l.query_id).sort(), queries.map((q) => q.id).sort());
    // Labelled a task at a time, in turn: the first labels already span the tasks.
    const sources = new Set(queries.map((q) => q.source));
    const sourceOf = new Map(queries.map((q) => [q.id, q.source]));
    assert.equal(new Set(labels.slice(0, sources.size).map((l) => sourceOf.get(l.query_id as string))).size, sources.size);
    const byId = new Map(queries.map((q) => [q.id as string, q]));
    for (const l of labels) {
      const candidates = (byId.get(l.query_id as string)!.candidates as { id: string }[]).map((c) => c.id);
      assert.deepEqual(l.doc_ids, candidates);
      assert.equal((l.logits as number[]).length, candidates.length);
      assert.ok((l.logits as number[]).every(Number.isFinite));
    }
    const provenance = JSON.parse(fs.readFileSync(path.join(run, 'labels', 'provenance.json'), 'utf8')) as { teacher: { checkpoint: string; model_sha256: string }; data: { manifest_sha256: string }; created: string; command: string };
    const teacher = latestCheckpoint(path.join(run, 'teacher-fused'))!;
    assert.equal(provenance.teacher.checkpoint, teacher, 'the teacher trained last (towards its fusion with BM25) labels');
    assert.equal(provenance.teacher.model_sha256, sha256(path.join(teacher, 'model.safetensors')));
    assert.equal(provenance.data.manifest_sha256, sha256(path.join(build, 'queries', 'manifest.json')));
    assert.match(provenance.command, /turborank distill all --config/);
    assert.ok(!Number.isNaN(Date.parse(provenance.created)));

    // The students' data carries the teacher's logits: the best candidate first in each list.
    const lists = jsonl(path.join(run, 'student-data', 'listwise.jsonl'));
    const full = labels.filter((l) => (l.doc_ids as string[]).length >= 3);
    assert.equal(lists.length, full.length, 'one list per query with 3 candidates');
    for (const [i, list] of lists.entries()) {
      const teacher = list.teacher as number[];
      assert.equal(teacher.length, 3);
      assert.equal(teacher[0], Math.max(...(full[i]!.logits as number[])));
      assert.deepEqual([...teacher].sort(), [...(full[i]!.logits as number[])].sort());
    }
    const pairs = jsonl(path.join(run, 'student-data', 'margin-mse.jsonl'));
    assert.ok(pairs.length > 0 && pairs.every((p) => (p.teacher_positive as number) >= (p.teacher_negative as number)));
  });

  test('the students load with Reranker.load and score; turbo starts from the teacher, tiny is narrower', async () => {
    for (const folder of ['turbo-margin-mse', 'turbo-listwise-kl', 'tiny-margin-mse']) {
      const reranker = await Reranker.load(latestCheckpoint(path.join(run, folder))!, { threads: 1 });
      try {
        const scores = await reranker.score([{ query: 'copy files', document: 'cp copies files and directories' }, { query: 'copy files', document: 'a dictionary of words' }]);
        assert.equal(scores.length, 2);
        assert.ok(Array.from(scores).every(Number.isFinite), folder);
        assert.equal(reranker.info.spec!.numLayers, folder.startsWith('turbo') ? 2 : 1, folder);
        assert.equal(reranker.info.spec!.hiddenSize, folder.startsWith('turbo') ? 32 : 16, folder);
      } finally {
        await reranker.close();
      }
    }
    // The turbo runs start from the (grown, listwise-trained, weakly supervised, then fused) teacher's embeddings and first two layers.
    const init = readSafetensors(path.join(run, 'turbo-init', 'model.safetensors'));
    const teacher = readSafetensors(path.join(latestCheckpoint(path.join(run, 'teacher-fused'))!, 'model.safetensors'));
    assert.ok(init.names().some((n) => /\.layer\.1\./.test(n)) && !init.names().some((n) => /\.layer\.2\./.test(n)), 'layers 0-1 kept, layers 2-5 dropped');
    for (const name of init.names()) assert.deepEqual(init.float32(name), teacher.float32(name), name);
  });

  test('labelling resumes after an interruption instead of starting over, and a rerun skips every stage', async () => {
    const file = path.join(run, 'labels', 'labels.jsonl');
    const full = fs.readFileSync(file, 'utf8');
    const lines = full.split('\n').filter((l) => l !== '');
    // As if killed while writing the third line.
    fs.writeFileSync(file, lines.slice(0, 2).map((l) => l + '\n').join('') + lines[2]!.slice(0, 20));
    const r = await runCli(['distill', 'label', '--config', config], { timeoutMs: 60_000 });
    assertOk(r);
    assert.match(r.stderr, new RegExp(`${lines.length} queries, 2 already labelled, ${lines.length - 2} to score`));
    assert.equal(fs.readFileSync(file, 'utf8'), full, 'the same labels, each query once');

    const again = await runCli(['distill', 'all', '--config', config], { timeoutMs: 60_000 });
    assertOk(again);
    assert.match(again.stderr, /teacher-match-1: done \(.* at step 2 of 2\)/);
    for (const stage of ['teacher-match-2', 'teacher-pretrain', 'teacher', 'teacher-grown', 'teacher-listwise', 'teacher-weak', 'teacher-fused', 'turbo-margin-mse', 'turbo-listwise-kl', 'tiny-margin-mse']) {
      assert.match(again.stderr, new RegExp(`${stage}: done \\(.* at step 3 of 3\\)`), stage);
    }
    assert.match(again.stderr, /0 to score/);

    // Labels from another teacher are never mixed in.
    const provenanceFile = path.join(run, 'labels', 'provenance.json');
    const provenance = fs.readFileSync(provenanceFile, 'utf8');
    fs.writeFileSync(provenanceFile, provenance.replace(/"model_sha256": "[0-9a-f]+"/, `"model_sha256": "${'0'.repeat(64)}"`));
    fs.writeFileSync(file, lines.slice(0, 2).map((l) => l + '\n').join(''));
    try {
      assertFailure(await runCli(['distill', 'label', '--config', config], { timeoutMs: 60_000 }), 1, /holds labels from another teacher/, /delete the labels folder/);
      assert.equal(fs.readFileSync(file, 'utf8').split('\n').length - 1, 2, 'left as it was');
    } finally {
      fs.writeFileSync(provenanceFile, provenance);
      fs.writeFileSync(file, full);
    }
  });

  test('pack writes float16 models that load and score like their checkpoints, and the labels gzipped', async () => {
    assertOk(await runCli(['distill', 'pack', '--config', config], { timeoutMs: 60_000 }));
    const pack = path.join(run, 'pack');
    assert.deepEqual(fs.readdirSync(pack).sort(), ['labels.jsonl.gz', 'manifest.json', 'provenance.json', 'teacher', 'tiny-margin-mse', 'turbo-listwise-kl', 'turbo-margin-mse']);
    assert.equal(zlib.gunzipSync(fs.readFileSync(path.join(pack, 'labels.jsonl.gz'))).toString('utf8'), fs.readFileSync(path.join(run, 'labels', 'labels.jsonl'), 'utf8'));
    const packed = path.join(pack, 'turbo-margin-mse', 'model.safetensors');
    const full = path.join(latestCheckpoint(path.join(run, 'turbo-margin-mse'))!, 'model.safetensors');
    assert.ok(readSafetensors(packed).tensors().every((t) => t.dtype === 'F16'));
    assert.ok(fs.statSync(packed).size < fs.statSync(full).size * 0.55);
    assert.equal((JSON.parse(fs.readFileSync(path.join(pack, 'teacher', 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers, 6, 'the grown teacher is packed');
    const pairs = [{ query: 'copy files', document: 'cp copies files and directories' }, { query: 'what is a shell', document: 'a command interpreter' }];
    const [a, b] = await Promise.all([Reranker.load(path.dirname(packed), { threads: 1 }), Reranker.load(path.dirname(full), { threads: 1 })]);
    try {
      const [sa, sb] = [await a.score(pairs), await b.score(pairs)];
      for (let i = 0; i < pairs.length; i++) assert.ok(Math.abs(sa[i]! - sb[i]!) < 1e-2, `${sa[i]} vs ${sb[i]}`);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('students --from-pack trains the students again from the pack alone, in a new run folder; a changed pack is refused', async () => {
    const pack = path.join(run, 'pack');
    const base = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
    const again = path.join(dir, 'from-pack.json');
    fs.writeFileSync(again, JSON.stringify({ ...base, run: 'run-from-pack' }));
    const run2 = path.join(dir, 'run-from-pack');
    assertOk(await runCli(['distill', 'students', '--config', again, '--from-pack', pack], { timeoutMs: 120_000 }));
    assert.equal(fs.readFileSync(path.join(run2, 'labels', 'labels.jsonl'), 'utf8'), fs.readFileSync(path.join(run, 'labels', 'labels.jsonl'), 'utf8'));
    assert.deepEqual(fs.readFileSync(path.join(run2, 'labels', 'provenance.json')), fs.readFileSync(path.join(pack, 'provenance.json')));
    for (const folder of ['turbo-margin-mse', 'turbo-listwise-kl', 'tiny-margin-mse']) {
      assert.equal((JSON.parse(fs.readFileSync(path.join(run2, folder, 'latest.json'), 'utf8')) as { step: number }).step, 3, folder);
    }
    // turbo was cut from the packed teacher: its starting embeddings are the pack's float16 values.
    const teacher = readSafetensors(path.join(pack, 'teacher', 'model.safetensors'));
    const init = readSafetensors(path.join(run2, 'turbo-init', 'model.safetensors'));
    const name = init.names().find((n) => n.endsWith('word_embeddings.weight'))!;
    assert.deepEqual(init.float32(name), teacher.float32(name));
    assert.equal(init.names().filter((n) => /\.layer\.2\./.test(n)).length, 0, 'two of the six layers');

    // Running it again finds the labels in place and every student finished.
    assertOk(await runCli(['distill', 'students', '--config', again, '--from-pack', pack], { timeoutMs: 60_000 }));
    // Refusals, each with what to do: the option on another stage; labels of another pack already there; a changed pack file.
    assertFailure(await runCli(['distill', 'label', '--config', again, '--from-pack', pack]), 2, /--from-pack is for the listwise, weak, fuse and students stages, not label/);
    // listwise --from-pack starts listwise fine-tuning from the packed teacher in a run that has none.
    const listwiseRun = path.join(dir, 'listwise-from-pack.json');
    fs.writeFileSync(listwiseRun, JSON.stringify({ ...base, run: 'run-listwise-from-pack' }));
    assertOk(await runCli(['distill', 'listwise', '--config', listwiseRun, '--from-pack', pack], { timeoutMs: 60_000 }));
    const listwiseInit = (JSON.parse(fs.readFileSync(path.join(dir, 'run-listwise-from-pack', 'configs', 'teacher-listwise.json'), 'utf8')) as { model: { init: string } }).model.init;
    assert.equal(listwiseInit, path.join(pack, 'teacher'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'run-listwise-from-pack', 'teacher-listwise', 'latest.json'), 'utf8')) as { step: number }).step, 3);
    // weak --from-pack starts BM25-margin training from the packed teacher in a run that has none.
    const weakRun = path.join(dir, 'weak-from-pack.json');
    fs.writeFileSync(weakRun, JSON.stringify({ ...base, run: 'run-weak-from-pack' }));
    assertOk(await runCli(['distill', 'weak', '--config', weakRun, '--from-pack', pack], { timeoutMs: 60_000 }));
    const weakConfig = (): { model: { init: string } } => JSON.parse(fs.readFileSync(path.join(dir, 'run-weak-from-pack', 'configs', 'teacher-weak.json'), 'utf8')) as never;
    assert.equal(weakConfig().model.init, path.join(pack, 'teacher'));
    // A relative --from-pack works too: the generated config (written again on a rerun) names the folder absolutely.
    assertOk(await runCli(['distill', 'weak', '--config', weakRun, '--from-pack', path.relative(dir, pack)], { cwd: dir, timeoutMs: 60_000 }));
    assert.equal(weakConfig().model.init, path.join(pack, 'teacher'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'run-weak-from-pack', 'teacher-weak', 'latest.json'), 'utf8')) as { step: number }).step, 3);
    // fuse --from-pack takes the pack's teacher and its labels for the teacher before fusion and its labels.
    const fuseRun = path.join(dir, 'fuse-from-pack.json');
    fs.writeFileSync(fuseRun, JSON.stringify({ ...base, run: 'run-fuse-from-pack' }));
    assertOk(await runCli(['distill', 'fuse', '--config', fuseRun, '--from-pack', pack], { timeoutMs: 60_000 }));
    const run3 = path.join(dir, 'run-fuse-from-pack');
    assert.equal(fs.readFileSync(path.join(run3, 'fuse-labels', 'labels.jsonl'), 'utf8'), fs.readFileSync(path.join(run, 'labels', 'labels.jsonl'), 'utf8'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(run3, 'configs', 'teacher-fused.json'), 'utf8')) as { model: { init: string } }).model.init, path.join(pack, 'teacher'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(run3, 'teacher-fused', 'latest.json'), 'utf8')) as { step: number }).step, 3);
    assert.ok(!fs.existsSync(path.join(run3, 'teacher-weak')) && !fs.existsSync(path.join(run3, 'labels')), 'nothing else ran');
    // On data rebuilt since (other query texts), the pack's teacher labels this data afresh for the fusion.
    const otherData = path.join(dir, 'build-other');
    fs.cpSync(path.join(dir, 'build'), otherData, { recursive: true });
    const otherQueries = path.join(otherData, 'queries', 'queries.jsonl');
    const lines = fs.readFileSync(otherQueries, 'utf8').split('\n');
    const first = JSON.parse(lines[0]!) as { id: string; query: string };
    lines[0] = JSON.stringify({ ...first, query: `${first.query} again` });
    fs.writeFileSync(otherQueries, lines.join('\n'));
    const relabelRun = path.join(dir, 'fuse-relabel.json');
    fs.writeFileSync(relabelRun, JSON.stringify({ ...base, run: 'run-fuse-relabel', data: 'build-other' }));
    const relabelled = await runCli(['distill', 'fuse', '--config', relabelRun, '--from-pack', pack], { timeoutMs: 60_000 });
    assert.equal(relabelled.code, 0, relabelled.stderr);
    assert.match(relabelled.stderr, /labels were made on other query sets than .*build-other.*queries\.jsonl; its teacher labels them again/);
    const run4 = path.join(dir, 'run-fuse-relabel');
    const provenance = JSON.parse(fs.readFileSync(path.join(run4, 'fuse-labels', 'provenance.json'), 'utf8')) as { teacher: { checkpoint: string }; data: { queries_sha256: string } };
    assert.deepEqual([provenance.teacher.checkpoint, provenance.data.queries_sha256], [path.join(pack, 'teacher'), sha256(otherQueries)]);
    const packLabels = fs.readFileSync(path.join(run, 'labels', 'labels.jsonl'), 'utf8').trim().split('\n');
    const newLabels = fs.readFileSync(path.join(run4, 'fuse-labels', 'labels.jsonl'), 'utf8').trim().split('\n');
    assert.equal(newLabels.length, packLabels.length, 'every query labelled again');
    // The same teacher (float16 in the pack) gives the unchanged queries the same scores.
    const logits = (all: string[]): Map<string, number[]> => new Map(all.map((l) => JSON.parse(l) as { query_id: string; logits: number[] }).map((l) => [l.query_id, l.logits]));
    const before = logits(packLabels);
    for (const [id, after] of logits(newLabels)) {
      if (id === first.id) continue;
      assert.ok(after.every((x, i) => Math.abs(x - before.get(id)![i]!) < 0.05), `${id}: ${String(after)} against ${String(before.get(id))}`);
    }
    assert.equal((JSON.parse(fs.readFileSync(path.join(run4, 'teacher-fused', 'latest.json'), 'utf8')) as { step: number }).step, 3);
    fs.appendFileSync(path.join(run2, 'labels', 'labels.jsonl'), '\n');
    assertFailure(await runCli(['distill', 'students', '--config', again, '--from-pack', pack]), 1, /holds other labels than/, /delete .*labels to take the pack's/);
    const deeper = path.join(dir, 'from-pack-deeper.json');
    const teacherBase = base.teacher as Record<string, unknown>;
    fs.writeFileSync(deeper, JSON.stringify({ ...base, run: 'run-deeper', teacher: { ...teacherBase, grow: { ...(teacherBase.grow as object), times: 3 } } }));
    assertFailure(await runCli(['distill', 'students', '--config', deeper, '--from-pack', pack]), 1, /teacher: num_hidden_layers 6, where .*from-pack-deeper\.json's teacher has 9/, /the distillation config the pack was made with/);
    const changed = path.join(dir, 'pack-changed');
    fs.cpSync(pack, changed, { recursive: true });
    fs.appendFileSync(path.join(changed, 'provenance.json'), ' ');
    assertFailure(await runCli(['distill', 'students', '--config', again, '--from-pack', changed]), 1, /provenance\.json: does not match the sha256/, /restore it/);
  });

  test('a matching stage that did not learn stops the recipe, with what to do', async () => {
    const base = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    const strict = path.join(dir, 'strict.json');
    fs.writeFileSync(strict, JSON.stringify({ ...base, teacher: { ...base.teacher, matching: { ...MATCHING, min_dev_mrr: 1 } } }));
    const r = await runCli(['distill', 'match', '--config', strict], { timeoutMs: 60_000 });
    assertFailure(r, 1, /teacher-match-1 ended at dev MRR 0\.\d{4} \(step 2\), below teacher\.matching\.min_dev_mrr 1: it did not learn to match words/, /another teacher\.matching\.seed/);
    assert.doesNotMatch(r.stderr, /teacher-match-2/, 'stage 2 does not start from it');
  });

  test('a fine-tuned, grown or listwise teacher that does not rank its dev pairs stops the recipe, with what to do', async () => {
    const base = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, Record<string, unknown>>;
    const strict = path.join(dir, 'strict-teacher.json');
    fs.writeFileSync(strict, JSON.stringify({ ...base, teacher: { ...base.teacher, min_dev_mrr: 1 } }));
    const r = await runCli(['distill', 'finetune', '--config', strict], { timeoutMs: 60_000 });
    assertFailure(r, 1, /teacher ended at dev MRR 0\.\d{4} \(step 3\), below teacher\.min_dev_mrr 1: its scores barely rank/, /run `turborank distill finetune` again with another teacher\.finetune\.seed/);
    const grown = await runCli(['distill', 'grow', '--config', strict], { timeoutMs: 60_000 });
    assertFailure(grown, 1, /teacher-grown ended at dev MRR 0\.\d{4} \(step 3\), below teacher\.min_dev_mrr 1/, /teacher\.grow\.train\.learning_rate/);
    const listwise = await runCli(['distill', 'listwise', '--config', strict], { timeoutMs: 60_000 });
    assertFailure(listwise, 1, /teacher-listwise ended at dev MRR 0\.\d{4} \(step 3\), below teacher\.min_dev_mrr 1/, /teacher\.listwise\.train\.learning_rate/);
    const passed = await runCli(['distill', 'finetune', '--config', config], { timeoutMs: 60_000 });
    assert.equal(passed.code, 0, passed.stderr);
    assert.match(passed.stderr, /teacher: dev MRR 0\.\d{4} at step 3/);
  });

  test('labelling, growing, listwise or weak training or fusion from a teacher short of its configured steps is refused', async () => {
    const base = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    const longer = path.join(dir, 'longer.json');
    fs.writeFileSync(longer, JSON.stringify({ ...base, teacher: { ...base.teacher, fuse: { ...base.teacher!.fuse, train: { ...SCHEDULE, steps: 5 } } } }));
    assertFailure(await runCli(['distill', 'label', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher-fused is at step 3 of 5/, /turborank distill fuse/);
    fs.writeFileSync(longer, JSON.stringify({ ...base, run: 'run-fuse-short', teacher: { ...base.teacher, weak: { ...base.teacher!.weak, train: { ...SCHEDULE, steps: 5 } } } }));
    fs.cpSync(path.join(run, 'teacher-weak'), path.join(dir, 'run-fuse-short', 'teacher-weak'), { recursive: true });
    assertFailure(await runCli(['distill', 'fuse', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher-weak is at step 3 of 5/, /turborank distill weak/);
    assert.ok(!fs.existsSync(path.join(dir, 'run-fuse-short', 'fuse-labels')) && !fs.existsSync(path.join(dir, 'run-fuse-short', 'teacher-fused')), 'nothing labelled or trained from it');
    const { weak: _weak, fuse: _fuse, listwise: _listwise, ...direct } = base.teacher!;
    fs.writeFileSync(longer, JSON.stringify({ ...base, teacher: { ...direct, grow: { times: 2, train: { ...SCHEDULE, steps: 5 } } } }));
    assertFailure(await runCli(['distill', 'label', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher-grown is at step 3 of 5/, /turborank distill grow/);
    const { listwise: _unlisted, ...withoutListwise } = base.teacher!;
    fs.writeFileSync(longer, JSON.stringify({ ...base, run: 'run-weak-short', teacher: { ...withoutListwise, grow: { times: 2, train: { ...SCHEDULE, steps: 5 } } } }));
    fs.cpSync(path.join(run, 'teacher-grown'), path.join(dir, 'run-weak-short', 'teacher-grown'), { recursive: true });
    assertFailure(await runCli(['distill', 'weak', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher-grown is at step 3 of 5/, /turborank distill grow/);
    assert.ok(!fs.existsSync(path.join(dir, 'run-weak-short', 'teacher-weak')), 'nothing trained from it');
    fs.writeFileSync(longer, JSON.stringify({ ...base, run: 'run-listwise-short', teacher: { ...base.teacher, grow: { times: 2, train: { ...SCHEDULE, steps: 5 } } } }));
    fs.cpSync(path.join(run, 'teacher-grown'), path.join(dir, 'run-listwise-short', 'teacher-grown'), { recursive: true });
    assertFailure(await runCli(['distill', 'listwise', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher-grown is at step 3 of 5/, /turborank distill grow/);
    assert.ok(!fs.existsSync(path.join(dir, 'run-listwise-short', 'teacher-listwise')), 'nothing trained from it');
    fs.writeFileSync(longer, JSON.stringify({ ...base, run: 'run-weak-after-listwise', teacher: { ...base.teacher, listwise: { list_size: 3, train: { ...SCHEDULE, steps: 5 } } } }));
    fs.cpSync(path.join(run, 'teacher-listwise'), path.join(dir, 'run-weak-after-listwise', 'teacher-listwise'), { recursive: true });
    assertFailure(await runCli(['distill', 'weak', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher-listwise is at step 3 of 5/, /turborank distill listwise/);
    assert.ok(!fs.existsSync(path.join(dir, 'run-weak-after-listwise', 'teacher-weak')), 'nothing trained from it');
    const { grow: _grow, ...ungrown } = direct;
    fs.writeFileSync(longer, JSON.stringify({ ...base, run: 'run-short', teacher: { ...ungrown, finetune: { ...base.teacher!.finetune, steps: 5 } } }));
    fs.cpSync(path.join(run, 'teacher'), path.join(dir, 'run-short', 'teacher'), { recursive: true });
    assertFailure(await runCli(['distill', 'label', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher is at step 3 of 5/, /turborank distill finetune/);
    fs.writeFileSync(longer, JSON.stringify({ ...base, run: 'run-short', teacher: { ...base.teacher, finetune: { ...base.teacher!.finetune, steps: 5 } } }));
    assertFailure(await runCli(['distill', 'grow', '--config', longer], { timeoutMs: 60_000 }), 2, /teacher is at step 3 of 5/, /turborank distill finetune/);
    assert.ok(!fs.existsSync(path.join(dir, 'run-short', 'teacher-stack')), 'nothing stacked from it');
  });

  test('a config with a recipe-owned key or a bad shape is refused by name', () => {
    const bad = path.join(dir, 'bad.json');
    const base = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, Record<string, unknown>>;
    fs.writeFileSync(bad, JSON.stringify({ ...base, teacher: { ...base.teacher, pretrain: { ...SCHEDULE, loss: { name: 'bce' } } } }));
    assert.throws(() => readDistillConfig(bad), (e: unknown) => e instanceof InputError && /teacher\.pretrain: model, data, loss and output are set by the recipe/.test(e.message));
    fs.writeFileSync(bad, JSON.stringify({ ...base, teacher: { ...base.teacher, shape: { ...TEACHER, hidden_size: 'big' } } }));
    assert.throws(() => readDistillConfig(bad), (e: unknown) => e instanceof InputError && /teacher\.shape\.hidden_size/.test(e.message));
    fs.writeFileSync(bad, JSON.stringify({ ...base, teacher: { ...base.teacher, matching: { ...MATCHING, train: { ...MATCHING.train, steps: 9 } } } }));
    assert.throws(() => readDistillConfig(bad), (e: unknown) => e instanceof InputError && /teacher\.matching\.train sets steps/.test(e.message) && /each of teacher\.matching\.stages/.test(e.message));
    fs.writeFileSync(bad, JSON.stringify({ ...base, teacher: { ...base.teacher, grow: { times: 1, train: SCHEDULE } } }));
    assert.throws(() => readDistillConfig(bad), (e: unknown) => e instanceof InputError && /teacher\.grow\.times/.test(e.message));
    fs.writeFileSync(bad, JSON.stringify({ ...base, teacher: { ...base.teacher, matching: { ...MATCHING, stages: [{ query_words: 1, document_words: 4, steps: 2 }] } } }));
    assert.throws(() => readDistillConfig(bad), (e: unknown) => e instanceof InputError && /teacher\.matching\.stages\.0\.max_length/.test(e.message));
  });
});
