/**
 * The distillation recipe's config (`turborank distill <stage> --config FILE`): where the data
 * build and the run folder are, the teacher's shape, and per stage the `turborank train`
 * settings. Each training stage's settings are a training config without model, data, loss
 * and output (the recipe fills those in), validated by the training config's own schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';

const shapeSchema = z.object({
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
}).strict();

/** `turborank train` keys the recipe does not set itself (validated when the stage runs). */
const trainSettings = z.record(z.string(), z.unknown()).refine(
  (o) => !['model', 'data', 'loss', 'output'].some((k) => k in o),
  { message: 'model, data, loss and output are set by the recipe; give only schedule settings (steps, batch_size, learning_rate, …)' },
);

export const STUDENT_LOSSES = ['margin-mse', 'listwise-kl'] as const;
export type StudentLoss = (typeof STUDENT_LOSSES)[number];

const studentSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  /** Overrides of the teacher's shape (num_hidden_layers at least; a narrower hidden_size if it serves). */
  shape: shapeSchema.partial(),
  /** Start from the teacher's embeddings, first layers and head; a narrower hidden_size (fewer heads of the teacher's head size) and a smaller intermediate_size are cut from its strongest parts (narrow.ts, cutTeacher). */
  init_from_teacher: z.boolean().default(false),
  losses: z.array(z.enum(STUDENT_LOSSES)).min(1).default(['margin-mse']),
  train: trainSettings,
  /** Per-loss changes to `train` (a listwise example is list_size sequences, a Margin-MSE one 2). */
  by_loss: z.object({ 'margin-mse': trainSettings.optional(), 'listwise-kl': trainSettings.optional() }).strict().default({}),
}).strict();

/** One stage of the teacher's word-matching curriculum (src/train/distill/matching.ts). */
const matchingStageSchema = z.object({
  query_words: z.number().int().positive(),
  document_words: z.number().int().positive(),
  /** How many of its query's words a positive document holds (at distinct places). */
  planted: z.number().int().positive().default(1),
  max_length: z.number().int().min(8),
  steps: z.number().int().positive(),
  /** Training pairs written for the stage (half positives); by default enough for every step's batch. */
  pairs: z.number().int().positive().optional(),
  dev_pairs: z.number().int().positive().default(400),
  /**
   * This stage's rate instead of `teacher.matching.train`'s: a 256-wide teacher takes off at
   * 5e-4 on the first stage and holds on longer documents only at a lower rate (docs/DISTILL.md).
   */
  learning_rate: z.number().positive().optional(),
}).strict();

const schema = z.object({
  /** The run folder: every stage writes under it. */
  run: z.string(),
  /** The `turborank data` build folder (corpus/, pairs/, queries/). */
  data: z.string(),
  /** The WordPiece vocabulary (tokenizer.json) the teacher is built on. */
  tokenizer: z.string(),
  teacher: z.object({
    shape: shapeSchema,
    /**
     * The new teacher's key weights start as a copy of its query weights, N(0, std²)
     * (docs/DISTILL.md: what, with dropout off, lets a model here learn word matching).
     */
    tied_query_key_std: z.number().positive().optional(),
    pretrain: trainSettings,
    /**
     * The word-matching curriculum before the MLM pre-training: synthetic bce stages
     * (src/train/distill/matching.ts), each from the previous one's checkpoint, with `train`'s
     * schedule (steps, max_length and the pairs come from the stage).
     */
    matching: z.object({
      seed: z.number().int().nonnegative().default(42),
      /**
       * A stage whose last dev MRR (its positive against its negative, per query; 0.75 is
       * chance) is below this did not learn: the recipe stops there rather than go on from it.
       */
      min_dev_mrr: z.number().min(0).max(1).default(0.9),
      train: trainSettings,
      stages: z.array(matchingStageSchema).min(1),
    }).strict().optional(),
    finetune: trainSettings,
    /**
     * The fine-tuned (and the grown) teacher's last dev MRR on pairs/dev.jsonl (chance about
     * 0.46 with one positive and four negatives) must reach this, or the recipe stops there:
     * fine-tuning here can collapse to near-constant scores (docs/DISTILL.md, "Known problem"),
     * and labels and students made from such a teacher would be silently worthless.
     */
    min_dev_mrr: z.number().min(0).max(1).default(0.7),
    /**
     * Growing the fine-tuned teacher deeper (progressive stacking, Gong et al. 2019): its layers
     * copied on top of themselves `times` over (6 → 12 for 2), then trained further on the same
     * pairs with `train`'s schedule. The grown model is then the teacher that labels and that
     * the students are cut from.
     */
    grow: z.object({
      times: z.number().int().min(2).default(2),
      train: trainSettings,
    }).strict().optional(),
    /**
     * Listwise fine-tuning of the relevance teacher (localized contrastive estimation, Gao et
     * al. 2021; src/train/distill/lists.ts): pairs/train.jsonl regrouped into lists of one
     * positive and `list_size` − 1 of its query's negatives, trained further with listwise
     * cross-entropy towards the positive (`train`'s schedule; a list is `list_size`
     * sequences). Needs data whose pairs carry at least `list_size` − 1 negatives per query
     * (`pairs.negatives` + `pairs.random_negatives` in the pipeline config). The result is the
     * teacher that `weak` and `fuse` start from, or that labels when neither is set.
     */
    listwise: z.object({
      list_size: z.number().int().min(2).default(8),
      train: trainSettings,
    }).strict().optional(),
    /**
     * BM25 as a weak teacher (src/train/distill/weak.ts): the fine-tuned (grown, listwise) teacher
     * trained further with Margin-MSE to match BM25's score margins between the candidates of
     * queries.jsonl: for each query, `pairs_per_query` pairs of one of BM25's `top` candidates
     * and one ranked below it. The result is then the teacher that labels and that the students
     * are cut from.
     */
    weak: z.object({
      pairs_per_query: z.number().int().positive().default(2),
      top: z.number().int().positive().default(3),
      seed: z.number().int().nonnegative().default(42),
      train: trainSettings,
    }).strict().optional(),
    /**
     * Self-distillation towards the fusion of the teacher and BM25 (src/train/distill/fuse.ts):
     * the teacher so far labels the query sets (RUN/fuse-labels, as the label stage would);
     * each labelled query's teacher logits and BM25 scores are fused as per-query z-scores,
     * `bm25_weight` on BM25's; the teacher is trained further with Margin-MSE on the fused
     * scores (`pairs_per_query` pairs of one of the fused `top` candidates and one below it).
     * The result is then the teacher that labels and that the students are cut from.
     */
    fuse: z.object({
      bm25_weight: z.number().min(0).max(1).default(0.5),
      pairs_per_query: z.number().int().positive().default(4),
      top: z.number().int().positive().default(3),
      seed: z.number().int().nonnegative().default(42),
      train: trainSettings,
    }).strict().optional(),
  }).strict(),
  label: z.object({
    max_length: z.number().int().min(8).default(256),
    batch_size: z.number().int().positive().default(32),
    /** Label only the first N queries of queries.jsonl (all by default). */
    max_queries: z.number().int().positive().optional(),
    /** Queries scored between two flushes of labels.jsonl (what an interruption can lose). */
    flush_every: z.number().int().positive().default(64),
    threads: z.number().int().positive().optional(),
  }).strict().default({ max_length: 256, batch_size: 32, flush_every: 64 }),
  students: z.object({
    /** Margin-MSE pairs per labelled query: the teacher's best candidate against another. */
    pairs_per_query: z.number().int().positive().default(4),
    /** Listwise: the teacher's best candidate and list_size − 1 others (queries with fewer candidates are left out). */
    list_size: z.number().int().min(2).default(8),
    temperature: z.number().positive().default(1),
    seed: z.number().int().nonnegative().default(42),
    models: z.array(studentSchema).min(1),
  }).strict(),
}).strict();

export type DistillConfigFile = z.infer<typeof schema>;
export type StudentConfig = z.infer<typeof studentSchema>;
export type ModelShape = z.infer<typeof shapeSchema>;
export type MatchingStageConfig = z.infer<typeof matchingStageSchema>;

export interface DistillConfig extends DistillConfigFile {
  readonly configPath: string;
}

export function readDistillConfig(file: string): DistillConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`, 'pass the distillation config with --config (see docs/DISTILL.md)');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
    throw new InputError(`${file}: invalid distillation config:\n${problems}`, 'fix the fields named above (see docs/DISTILL.md)');
  }
  const c = parsed.data;
  const names = c.students.models.map((m) => m.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new InputError(`${file}: two students are named '${twice}'`, 'give each student its own name (it names its run folder)');
  const fixed = Object.keys(c.teacher.matching?.train ?? {}).filter((k) => k === 'steps' || k === 'max_length');
  if (fixed.length) throw new InputError(`${file}: teacher.matching.train sets ${fixed.join(' and ')}`, 'give steps and max_length in each of teacher.matching.stages');
  const base = path.dirname(path.resolve(file));
  return {
    ...c,
    run: path.resolve(base, c.run),
    data: path.resolve(base, c.data),
    tokenizer: path.resolve(base, c.tokenizer),
    configPath: path.resolve(file),
  };
}

/**
 * A teacher of the recipe: where its checkpoints are, its shape, and the stage that trains it
 * with its settings and their place in the config (for messages).
 */
export interface FinalTeacher {
  readonly folder: string;
  readonly shape: ModelShape;
  readonly stage: 'finetune' | 'grow' | 'listwise' | 'weak' | 'fuse';
  readonly settings: Record<string, unknown>;
  readonly key: string;
}

/** The teacher trained on relevance pairs: the fine-tuned one, or the grown one when teacher.grow is set. */
export function relevanceTeacher(c: DistillConfig): FinalTeacher {
  const p = distillPaths(c);
  const grow = c.teacher.grow;
  if (grow === undefined) return { folder: p.finetune, shape: c.teacher.shape, stage: 'finetune', settings: c.teacher.finetune, key: 'teacher.finetune' };
  return {
    folder: p.grown, shape: { ...c.teacher.shape, num_hidden_layers: c.teacher.shape.num_hidden_layers * grow.times },
    stage: 'grow', settings: grow.train, key: 'teacher.grow.train',
  };
}

/** relevanceTeacher, trained further with listwise cross-entropy on the same pairs when teacher.listwise is set. */
export function listwiseTeacher(c: DistillConfig): FinalTeacher {
  const listwise = c.teacher.listwise;
  const before = relevanceTeacher(c);
  if (listwise === undefined) return before;
  return { folder: distillPaths(c).listwise, shape: before.shape, stage: 'listwise', settings: listwise.train, key: 'teacher.listwise.train' };
}

/** The teacher the fusion stage starts from: listwiseTeacher, trained further on BM25's margins when teacher.weak is set. */
export function teacherBeforeFusion(c: DistillConfig): FinalTeacher {
  const weak = c.teacher.weak;
  const before = listwiseTeacher(c);
  if (weak === undefined) return before;
  return { folder: distillPaths(c).weak, shape: before.shape, stage: 'weak', settings: weak.train, key: 'teacher.weak.train' };
}

/** The teacher that labels and that students are cut from: teacherBeforeFusion, trained towards its fusion with BM25 when teacher.fuse is set. */
export function finalTeacher(c: DistillConfig): FinalTeacher {
  const fuse = c.teacher.fuse;
  const before = teacherBeforeFusion(c);
  if (fuse === undefined) return before;
  return { folder: distillPaths(c).fused, shape: before.shape, stage: 'fuse', settings: fuse.train, key: 'teacher.fuse.train' };
}

/** Where each stage reads and writes. */
export function distillPaths(c: DistillConfig): {
  pretrain: string; matchingData(stage: number): string; matching(stage: number): string; finetune: string; stacked: string; grown: string;
  listwiseData: string; listwise: string;
  weakData: string; weak: string; fuseLabels: string; fuseData: string; fused: string; labels: string; studentData: string; student(name: string, loss: StudentLoss): string;
  corpus: string; pairsTrain: string; pairsDev: string; queries: string; documents: string; queriesManifest: string;
} {
  return {
    pretrain: path.join(c.run, 'teacher-pretrain'),
    matchingData: (stage) => path.join(c.run, 'matching-data', `stage-${stage}`),
    matching: (stage) => path.join(c.run, `teacher-match-${stage}`),
    finetune: path.join(c.run, 'teacher'),
    stacked: path.join(c.run, 'teacher-stack'),
    grown: path.join(c.run, 'teacher-grown'),
    listwiseData: path.join(c.run, 'listwise-data'),
    listwise: path.join(c.run, 'teacher-listwise'),
    weakData: path.join(c.run, 'weak-data'),
    weak: path.join(c.run, 'teacher-weak'),
    fuseLabels: path.join(c.run, 'fuse-labels'),
    fuseData: path.join(c.run, 'fuse-data'),
    fused: path.join(c.run, 'teacher-fused'),
    labels: path.join(c.run, 'labels'),
    studentData: path.join(c.run, 'student-data'),
    student: (name, loss) => path.join(c.run, `${name}-${loss}`),
    corpus: path.join(c.data, 'corpus', 'pretrain.jsonl'),
    pairsTrain: path.join(c.data, 'pairs', 'train.jsonl'),
    pairsDev: path.join(c.data, 'pairs', 'dev.jsonl'),
    queries: path.join(c.data, 'queries', 'queries.jsonl'),
    documents: path.join(c.data, 'queries', 'documents.jsonl'),
    queriesManifest: path.join(c.data, 'queries', 'manifest.json'),
  };
}
