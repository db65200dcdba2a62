/**
 * `turborank distill <stage> --config FILE`: the distillation recipe of issue 5 as resumable
 * stages over `turborank data`'s build: MLM pre-training of the teacher, its fine-tuning as a
 * cross-encoder, labelling BM25 candidate lists with it, and training the students on the
 * labels. Each training stage is a generated `turborank train` config (kept in RUN/configs/)
 * run by the train command itself, resumed from its latest checkpoint and skipped once done.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TurborankError, UsageError } from '../errors.js';
import { latestCheckpoint, parseTrainConfig } from '../train/index.js';
import { distillPaths, finalTeacher, listwiseTeacher, readDistillConfig, relevanceTeacher, teacherBeforeFusion, type DistillConfig, type FinalTeacher } from '../train/distill/config.js';
import { fusionMarginPairs } from '../train/distill/fuse.js';
import { stackTeacher } from '../train/distill/grow.js';
import { LABELS_FILE, labelQueries } from '../train/distill/label.js';
import { relevanceLists, type RelevanceLists } from '../train/distill/lists.js';
import { matchingPairs, matchingWords } from '../train/distill/matching.js';
import { sha256File } from '../checkpoint/files.js';
import { packLabelsMatchQueries, packRun, packedTeacher, unpackTeacherAndLabels } from '../train/distill/pack.js';
import { buildStudentData, cutTeacher } from '../train/distill/students.js';
import { bm25MarginPairs, type MarginPairs } from '../train/distill/weak.js';
import { stringOption } from './main.js';
import { runTrain } from './train-command.js';

export const DISTILL_STAGES = ['match', 'pretrain', 'finetune', 'grow', 'listwise', 'weak', 'fuse', 'label', 'students', 'all', 'pack'] as const;
type Stage = (typeof DISTILL_STAGES)[number];

export const DISTILL_HELP = {
  text: `Usage: turborank distill <stage> --config FILE [options]

Runs the distillation recipe on the data \`turborank data\` built (docs/DISTILL.md):

Stages:
  match      the teacher's word-matching curriculum, when teacher.matching is set: synthetic
             bce stages (RUN/matching-data/stage-N), the first from a new model, each next
             one from the previous checkpoint (RUN/teacher-match-N)
  pretrain   the teacher's masked-LM pre-training on corpus/pretrain.jsonl, from the last
             matching checkpoint or a new model (RUN/teacher-pretrain)
  finetune   the teacher as a JinaBERT cross-encoder on pairs/train.jsonl, bce, dev on
             pairs/dev.jsonl, from the MLM checkpoint (RUN/teacher); stops when its last
             dev MRR is below teacher.min_dev_mrr (a collapsed fine-tuning)
  grow       when teacher.grow is set: the fine-tuned teacher's layers stacked times over
             (RUN/teacher-stack), trained further on the same pairs (RUN/teacher-grown);
             the grown teacher is then the one that labels and that students are cut from
  listwise   when teacher.listwise is set: that teacher trained further with listwise-ce on
             lists of a positive and list_size - 1 of its query's negatives regrouped from
             pairs/train.jsonl (RUN/listwise-data, RUN/teacher-listwise; localized
             contrastive estimation), dev on the same lists of pairs/dev.jsonl; stops when
             its last dev MRR is below teacher.min_dev_mrr; with --from-pack DIR, starting
             from a pack's teacher instead of the run's
  weak       when teacher.weak is set: that teacher trained further with margin-mse to match
             BM25's score margins between the candidates of queries/queries.jsonl (BM25 as
             a weak teacher: RUN/weak-data, RUN/teacher-weak), which then labels and is cut;
             with --from-pack DIR, starting from a pack's teacher instead of the run's
  fuse       when teacher.fuse is set: the teacher so far labels the query sets
             (RUN/fuse-labels), its logits and BM25's scores are fused per query
             (z-scores), and it is trained further with margin-mse on the fused scores
             (RUN/fuse-data, RUN/teacher-fused), which then labels and is cut;
             with --from-pack DIR, from a pack's teacher and its labels instead (the
             teacher labels afresh when the data's query sets have changed since)
  label      the teacher scores the BM25 candidates of queries/queries.jsonl
             (RUN/labels/labels.jsonl with provenance.json)
  students   each student trained on the labels with margin-mse and/or listwise-kl
             (RUN/<name>-<loss>), optionally starting from the teacher's first layers;
             with --from-pack DIR, from a pack's teacher and labels instead of the run's
             (e.g. data/distill-pack: the students again without the teacher's stages)
  all        the stages above in order
  pack       RUN/pack/: the finished teacher and students in float16 and the labels gzipped,
             small enough to commit between sessions (not part of all)

Every stage can be stopped (Ctrl-C) and run again: training resumes from its latest
checkpoint, labelling skips the queries already labelled, finished stages are skipped.

Options:
  -c, --config FILE     the distillation config (JSON; e.g. data/distill.json)
      --from-pack DIR   listwise, weak: start from the teacher of \`distill pack\`'s output DIR;
                        fuse and students: its teacher and labels
      --quiet           no progress on stderr
  -h, --help            this help`,
  options: {
    config: { type: 'string', short: 'c' },
    'from-pack': { type: 'string' },
    quiet: { type: 'boolean' },
  },
} as const;

export async function runDistill(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  const [stage, ...extra] = positionals;
  if (stage === undefined) throw new UsageError('which stage?', `turborank distill <${DISTILL_STAGES.join('|')}> --config FILE`);
  if (!(DISTILL_STAGES as readonly string[]).includes(stage)) throw new UsageError(`unknown distill stage '${stage}'`, `stages: ${DISTILL_STAGES.join(', ')}`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'give one stage; `turborank distill all` runs them all');
  const configFile = stringOption(values, 'config');
  if (configFile === undefined) throw new UsageError('distill needs --config FILE', 'see docs/DISTILL.md, e.g. --config data/distill.json');
  const config = readDistillConfig(configFile);
  const quiet = values.quiet === true;
  const log = (line: string): void => { if (!quiet) process.stderr.write(`turborank distill: ${line}\n`); };
  const command = `turborank distill ${stage} --config ${configFile}`;
  const fromPack = stringOption(values, 'from-pack');
  if (fromPack !== undefined && stage !== 'students' && stage !== 'listwise' && stage !== 'weak' && stage !== 'fuse') throw new UsageError(`--from-pack is for the listwise, weak, fuse and students stages, not ${stage}`, `run \`turborank distill students --config ${configFile} --from-pack ${fromPack}\``);
  const stages: Stage[] = stage === 'all' ? ['match', 'pretrain', 'finetune', 'grow', 'listwise', 'weak', 'fuse', 'label', 'students'] : [stage as Stage];
  for (const s of stages) await runStage(s, config, { command, log, quiet, ...(fromPack !== undefined ? { fromPack } : {}) });
}

interface StageOptions {
  readonly command: string;
  readonly log: (line: string) => void;
  readonly quiet: boolean;
  /** weak: a `distill pack` folder whose teacher stands in for the run's relevance teacher; fuse: whose teacher and labels stand in for the teacher before fusion and its labels; students: for the final teacher and its labels. */
  readonly fromPack?: string;
}

async function runStage(stage: Stage, c: DistillConfig, o: StageOptions): Promise<void> {
  const p = distillPaths(c);
  switch (stage) {
    case 'pretrain': {
      requireFile(p.corpus, 'turborank data corpus');
      const stages = c.teacher.matching?.stages ?? [];
      const matched = stages.length > 0 ? p.matching(stages.length) : undefined;
      if (matched !== undefined && latestCheckpoint(p.pretrain) === undefined) {
        requireFinished(matched, stages.at(-1)!, 'match', `teacher.matching.stages[${stages.length - 1}].steps`);
      }
      return train('teacher-pretrain', c, {
        ...c.teacher.pretrain,
        model: matched !== undefined ? { init: latestCheckpoint(matched)! } : newTeacher(c),
        data: { train: p.corpus }, loss: { name: 'mlm' }, output: p.pretrain,
      }, o);
    }
    case 'match': {
      const matching = c.teacher.matching;
      if (matching === undefined) {
        o.log('match: no teacher.matching in the config; nothing to do');
        return;
      }
      const words = matchingWords(c.tokenizer);
      for (const [i, { learning_rate: stageRate, ...stage }] of matching.stages.entries()) {
        const n = i + 1;
        const previous = n > 1 ? p.matching(n - 1) : undefined;
        const data = p.matchingData(n);
        const batch = typeof matching.train.batch_size === 'number' ? matching.train.batch_size : 16;
        const files = await writeOnce(data, {
          'train.jsonl': async () => matchingPairs(words, stage, stage.pairs ?? Math.max(2000, stage.steps * batch), matching.seed * 1009 + n, false),
          'dev.jsonl': async () => matchingPairs(words, stage, stage.dev_pairs, matching.seed * 1009 + 500 + n),
        }, JSON.stringify({ stage, seed: matching.seed, batch, tokenizer: sha256File(c.tokenizer) }));
        await train(`teacher-match-${n}`, c, {
          eval_every: stage.steps, ...matching.train, steps: stage.steps, max_length: stage.max_length,
          ...(stageRate !== undefined ? { learning_rate: stageRate } : {}),
          model: previous !== undefined ? { init: latestCheckpoint(previous)! } : newTeacher(c),
          data: { train: files['train.jsonl']!, dev: files['dev.jsonl']! }, loss: { name: 'bce' }, output: p.matching(n),
        }, o);
        requireLearnt(p.matching(n), { minMrr: matching.min_dev_mrr, key: 'teacher.matching.min_dev_mrr', what: 'it did not learn to match words',
          advice: `delete ${p.matching(n)} and run \`turborank distill match\` again with another teacher.matching.seed, a lower learning rate (teacher.matching.stages[${i}].learning_rate) or more steps for stage ${n}`,
          missing: 'set eval_every in teacher.matching.train (at most the stage\'s steps)' }, o);
      }
      return;
    }
    case 'finetune': {
      requireFile(p.pairsTrain, 'turborank data pairs');
      const init = latestCheckpoint(p.pretrain);
      // Fine-tuning from a half pre-trained encoder would quietly give a weaker teacher.
      if (latestCheckpoint(p.finetune) === undefined) requireFinished(p.pretrain, c.teacher.pretrain, 'pretrain', 'teacher.pretrain.steps');
      await train('teacher', c, {
        ...c.teacher.finetune,
        model: init !== undefined ? { init } : newTeacher(c),
        data: relevancePairs(p), loss: { name: 'bce' }, output: p.finetune,
      }, o);
      return requireRanking(c, p.finetune, 'finetune', 'teacher.finetune', o);
    }
    case 'grow': {
      const grow = c.teacher.grow;
      if (grow === undefined) {
        o.log('grow: no teacher.grow in the config; nothing to do');
        return;
      }
      requireFile(p.pairsTrain, 'turborank data pairs');
      if (latestCheckpoint(p.grown) === undefined) {
        requireFinished(p.finetune, c.teacher.finetune, 'finetune', 'teacher.finetune.steps');
        const layers = stackTeacher(latestCheckpoint(p.finetune)!, grow.times, p.stacked);
        o.log(`grow: ${c.teacher.shape.num_hidden_layers} layers stacked to ${layers} → ${p.stacked}`);
      }
      await train('teacher-grown', c, {
        ...grow.train,
        model: { init: p.stacked },
        data: relevancePairs(p), loss: { name: 'bce' }, output: p.grown,
      }, o);
      return requireRanking(c, p.grown, 'grow', 'teacher.grow.train', o);
    }
    case 'listwise': {
      const listwise = c.teacher.listwise;
      if (listwise === undefined) {
        o.log('listwise: no teacher.listwise in the config; nothing to do');
        return;
      }
      requireFile(p.pairsTrain, 'turborank data pairs');
      const start = startingTeacher('listwise', c, relevanceTeacher(c), p.listwise, o);
      const dev = fs.existsSync(p.pairsDev);
      const made: Record<string, RelevanceLists> = {};
      const files = await writeOnce(p.listwiseData, {
        'train.jsonl': async () => (made.train = await relevanceLists(p.pairsTrain, listwise.list_size)).jsonl,
        ...(dev ? { 'dev.jsonl': async () => (made.dev = await relevanceLists(p.pairsDev, listwise.list_size)).jsonl } : {}),
      }, JSON.stringify({ list_size: listwise.list_size, train: sha256File(p.pairsTrain), dev: dev ? sha256File(p.pairsDev) : null }));
      for (const [name, m] of Object.entries(made)) {
        o.log(`listwise: ${m.lists} ${name} lists of ${listwise.list_size} from ${m.queries} queries${m.skipped > 0 ? ` (${m.skipped} positives left out: fewer than ${listwise.list_size - 1} negatives)` : ''} → ${files[`${name}.jsonl`]!}`);
      }
      await train('teacher-listwise', c, {
        ...listwise.train,
        model: { init: start }, data: { train: files['train.jsonl']!, ...(dev ? { dev: files['dev.jsonl']! } : {}) },
        loss: { name: 'listwise-ce', list_size: listwise.list_size }, output: p.listwise,
      }, o);
      return requireRanking(c, p.listwise, 'listwise', 'teacher.listwise.train', o);
    }
    case 'weak': {
      const weak = c.teacher.weak;
      if (weak === undefined) {
        o.log('weak: no teacher.weak in the config; nothing to do');
        return;
      }
      requireFile(p.queries, 'turborank data queries');
      const start = startingTeacher('weak', c, listwiseTeacher(c), p.weak, o);
      return trainOnMargins('weak', 'teacher-weak', c, {
        data: p.weakData, output: p.weak, init: start, schedule: weak.train, what: 'BM25\'s margins',
        settings: { pairs_per_query: weak.pairs_per_query, top: weak.top, seed: weak.seed, queries: sha256File(p.queries) },
        make: () => bm25MarginPairs(p.queries, p.documents, { pairsPerQuery: weak.pairs_per_query, top: weak.top, seed: weak.seed }),
      }, o);
    }
    case 'fuse': {
      const fuse = c.teacher.fuse;
      if (fuse === undefined) {
        o.log('fuse: no teacher.fuse in the config; nothing to do');
        return;
      }
      requireFile(p.queries, 'turborank data queries');
      const before = teacherBeforeFusion(c);
      let start: string;
      if (o.fromPack !== undefined && packLabelsMatchQueries(o.fromPack, p.queries)) {
        start = unpackTeacherAndLabels(c, o.fromPack, before.shape, o.log, 'fuse', p.fuseLabels);
      } else if (o.fromPack !== undefined) {
        // The pack's labels are of other query sets (data rebuilt with another pipeline config):
        // its teacher labels this data, as the teacher so far would without --from-pack.
        start = packedTeacher(c, o.fromPack, before.shape).dir;
        o.log(`fuse: ${o.fromPack}'s labels were made on other query sets than ${p.queries}; its teacher labels them again`);
        await labelQueries(c, { command: o.command, log: o.log, teacher: before, model: start, out: p.fuseLabels, name: 'fuse' });
      } else {
        if (latestCheckpoint(p.fused) === undefined) requireFinished(before.folder, before.settings, before.stage, `${before.key}.steps`);
        await labelQueries(c, { command: o.command, log: o.log, teacher: before, out: p.fuseLabels, name: 'fuse' });
        start = latestCheckpoint(before.folder)!;
      }
      const labels = path.join(p.fuseLabels, LABELS_FILE);
      return trainOnMargins('fuse', 'teacher-fused', c, {
        data: p.fuseData, output: p.fused, init: start, schedule: fuse.train, what: 'the fused scores\' margins',
        settings: { bm25_weight: fuse.bm25_weight, pairs_per_query: fuse.pairs_per_query, top: fuse.top, seed: fuse.seed, labels: sha256File(labels), queries: sha256File(p.queries) },
        make: () => fusionMarginPairs(labels, p.queries, p.documents, { bm25Weight: fuse.bm25_weight, pairsPerQuery: fuse.pairs_per_query, top: fuse.top, seed: fuse.seed }),
      }, o);
    }
    case 'label': {
      const teacher = finalTeacher(c);
      requireFinished(teacher.folder, teacher.settings, teacher.stage, `${teacher.key}.steps`);
      const report = await labelQueries(c, { command: o.command, log: o.log });
      o.log(`label: ${report.scored} queries scored, ${report.already} already labelled, ${report.total} in all`);
      return;
    }
    case 'students': {
      const final = finalTeacher(c);
      const teacher = o.fromPack !== undefined ? unpackTeacherAndLabels(c, o.fromPack, final.shape, o.log) : latestCheckpoint(final.folder);
      const data = await buildStudentData(c, o.log);
      for (const student of c.students.models) {
        for (const loss of student.losses) {
          const output = p.student(student.name, loss);
          let model: Record<string, unknown> = { shape: { architecture: 'jinabert', ...final.shape, ...student.shape }, tokenizer: c.tokenizer };
          if (student.init_from_teacher) {
            const dir = path.join(c.run, `${student.name}-init`);
            if (latestCheckpoint(output) === undefined) {
              if (teacher === undefined) throw new UsageError(`no teacher checkpoint in ${final.folder}`, `run \`turborank distill ${final.stage}\` first`);
              cutTeacher(teacher, student, final.shape, dir);
            }
            model = { init: dir };
          }
          const lossConfig = loss === 'margin-mse' ? { name: 'margin-mse' } : { name: 'listwise-kl', list_size: data.listSize, temperature: c.students.temperature };
          await train(`${student.name}-${loss}`, c, { ...student.train, ...student.by_loss[loss], model, data: { train: loss === 'margin-mse' ? data.marginMse : data.listwise }, loss: lossConfig, output }, o);
        }
      }
      return;
    }
    case 'pack': {
      const files = packRun(c, o.log);
      if (files.length === 0) throw new UsageError(`nothing to pack in ${c.run}`, 'run `turborank distill finetune` (or label, students) first');
      o.log(`pack: ${files.length} files, ${files.reduce((n, f) => n + f.bytes, 0)} bytes → ${path.join(c.run, 'pack')}`);
      return;
    }
    case 'all':
      throw new UsageError('all is not a single stage');
  }
}

/**
 * The weak and fuse stages: Margin-MSE pairs made once into `data` (again only when their
 * settings change), then the teacher trained on them from `init` into `output`.
 */
async function trainOnMargins(stage: 'weak' | 'fuse', name: string, c: DistillConfig, t: {
  data: string; output: string; init: string; schedule: Record<string, unknown>; what: string;
  settings: Record<string, unknown>; make: () => Promise<MarginPairs>;
}, o: StageOptions): Promise<void> {
  let made: MarginPairs | undefined;
  const files = await writeOnce(t.data, { 'train.jsonl': async () => (made = await t.make()).jsonl }, JSON.stringify(t.settings));
  if (made) o.log(`${stage}: ${made.pairs} pairs with ${t.what} from ${made.queries} queries → ${files['train.jsonl']}`);
  return train(name, c, { ...t.schedule, model: { init: t.init }, data: { train: files['train.jsonl']! }, loss: { name: 'margin-mse' }, output: t.output }, o);
}

/** The teacher's relevance pairs: training, and dev when the data build has it. */
function relevancePairs(p: ReturnType<typeof distillPaths>): { train: string; dev?: string } {
  return { train: p.pairsTrain, ...(fs.existsSync(p.pairsDev) ? { dev: p.pairsDev } : {}) };
}

/** A new teacher's model settings (its shape, tokenizer and initialisation). */
function newTeacher(c: DistillConfig): Record<string, unknown> {
  return {
    shape: { architecture: 'jinabert', ...c.teacher.shape }, tokenizer: c.tokenizer,
    ...(c.teacher.tied_query_key_std !== undefined ? { tied_query_key_std: c.teacher.tied_query_key_std } : {}),
  };
}

/**
 * Writes generated files into `folder` unless they are there from the same settings (a stage
 * resumed on other data would mix the two); returns their paths.
 */
async function writeOnce(folder: string, makers: Record<string, () => Promise<string>>, settings: string): Promise<Record<string, string>> {
  const paths = Object.fromEntries(Object.keys(makers).map((name) => [name, path.join(folder, name)]));
  if (!upToDate(folder, paths, settings)) {
    fs.mkdirSync(folder, { recursive: true });
    fs.rmSync(path.join(folder, 'settings.json'), { force: true });
    for (const [name, make] of Object.entries(makers)) fs.writeFileSync(paths[name]!, await make());
    fs.writeFileSync(path.join(folder, 'settings.json'), settings);
  }
  return paths;
}

/** Whether `folder` holds every file, made with these settings (settings.json is written last). */
function upToDate(folder: string, paths: Record<string, string>, settings: string): boolean {
  const settingsFile = path.join(folder, 'settings.json');
  return fs.existsSync(settingsFile) && fs.readFileSync(settingsFile, 'utf8') === settings && Object.values(paths).every((f) => fs.existsSync(f));
}


/**
 * Writes the stage's training config to RUN/configs/NAME.json (what was run, and what
 * `turborank train --config` can run by hand) and runs it: resumed when the folder holds a
 * checkpoint, skipped when that checkpoint is at the configured step count.
 */
async function train(name: string, c: DistillConfig, raw: Record<string, unknown>, o: StageOptions): Promise<void> {
  const file = path.join(c.run, 'configs', `${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const config = parseTrainConfig(raw, `${c.configPath} (stage ${name})`);
  fs.writeFileSync(file, JSON.stringify(raw, null, 2) + '\n');
  const latest = latestCheckpoint(config.output);
  const step = stepOf(config.output) ?? 0;
  if (step >= config.steps) {
    o.log(`${name}: done (${path.relative(process.cwd(), latest!)} is at step ${step} of ${config.steps})`);
    return;
  }
  o.log(`${name}: ${latest ? `resuming at step ${step}` : 'starting'} → ${config.output} (config ${file})`);
  await runTrain({ config: file, resume: latest !== undefined, quiet: o.quiet }, []);
}

/** What requireLearnt checks a stage's last dev MRR against, and what it says when it fails. */
interface LearntCheck {
  readonly minMrr: number;
  /** The config key of minMrr, for the message. */
  readonly key: string;
  /** What a low MRR means for this stage. */
  readonly what: string;
  readonly advice: string;
  /** What to do when the stage has no dev evaluation. */
  readonly missing: string;
}

/**
 * Refuses to go on from a training stage that did not learn to rank its dev pairs: training
 * here can take off and then fall back to a constant output (docs/DISTILL.md), and every later
 * stage would start from that.
 */
function requireLearnt(folder: string, check: LearntCheck, o: StageOptions): void {
  const name = path.basename(folder);
  const log = path.join(folder, 'train_log.jsonl');
  const dev = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"dev"'))
    .map((l) => (JSON.parse(l) as { step: number; dev: { mrr?: number } })).at(-1);
  if (dev === undefined) throw new TurborankError(`${log}: no dev evaluation`, check.missing);
  const mrr = dev.dev.mrr ?? 0;
  if (mrr < check.minMrr) {
    throw new TurborankError(
      `${name} ended at dev MRR ${mrr.toFixed(4)} (step ${dev.step}), below ${check.key} ${check.minMrr}: ${check.what}`,
      check.advice,
    );
  }
  o.log(`${name}: dev MRR ${mrr.toFixed(4)} at step ${dev.step}`);
}

/**
 * Where a stage that trains the teacher further starts: with --from-pack, the pack's teacher
 * (standing in for `before`); else `before`'s latest checkpoint, which must have reached its
 * configured steps unless the stage's own folder already holds a checkpoint to resume.
 */
function startingTeacher(stage: 'listwise' | 'weak', c: DistillConfig, before: FinalTeacher, own: string, o: StageOptions): string {
  if (o.fromPack !== undefined) {
    const packed = packedTeacher(c, o.fromPack, before.shape);
    o.log(`${stage}: starting from ${packed.dir} (float16 of ${packed.from})`);
    return packed.dir;
  }
  if (latestCheckpoint(own) === undefined) requireFinished(before.folder, before.settings, before.stage, `${before.key}.steps`);
  return latestCheckpoint(before.folder) ?? before.folder;
}

/** requireLearnt for the fine-tuned, grown or listwise teacher, when the data has dev pairs to rank (the listwise stage's dev lists are made from them). */
function requireRanking(c: DistillConfig, folder: string, stage: 'finetune' | 'grow' | 'listwise', settings: string, o: StageOptions): void {
  const p = distillPaths(c);
  if (!fs.existsSync(p.pairsDev)) {
    o.log(`${stage}: no ${p.pairsDev}, so teacher.min_dev_mrr is not checked`);
    return;
  }
  requireLearnt(folder, {
    minMrr: c.teacher.min_dev_mrr, key: 'teacher.min_dev_mrr', what: 'its scores barely rank (fine-tuning can collapse to near-constant scores; docs/DISTILL.md, "Known problem")',
    advice: `delete ${folder} and run \`turborank distill ${stage}\` again with another ${settings}.seed or a lower ${settings}.learning_rate`,
    missing: `set ${settings}.eval_every (at most its steps), so that the teacher is checked on ${p.pairsDev}`,
  }, o);
}

/** Refuses to go on from a training stage that has not reached its configured steps. */
function requireFinished(folder: string, settings: Record<string, unknown>, stage: string, key: string): void {
  const step = stepOf(folder);
  const steps = typeof settings.steps === 'number' ? settings.steps : 0;
  if (step === undefined) throw new UsageError(`no checkpoint in ${folder}`, `run \`turborank distill ${stage}\` first`);
  if (step < steps) {
    throw new UsageError(`${path.basename(folder)} is at step ${step} of ${steps}`, `run \`turborank distill ${stage}\` to finish it (it resumes), or lower ${key} to ${step}`);
  }
}

/** The step of the run's latest complete checkpoint, if any. */
function stepOf(folder: string): number | undefined {
  if (latestCheckpoint(folder) === undefined) return undefined;
  return (JSON.parse(fs.readFileSync(path.join(folder, 'latest.json'), 'utf8')) as { step: number }).step;
}

function requireFile(file: string, step: string): void {
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`, `build it first: ${step} (see docs/DATA.md), or fix "data" in the config`);
}

