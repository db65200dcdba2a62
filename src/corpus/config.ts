/**
 * The data pipeline's config file (data/pipeline.json in this repository): which offline
 * sources to draw on, which evaluation sets must never leak into training, and the sizes of
 * what each step builds. Validated strictly, like the training config; relative paths are
 * taken from the config file's folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';

const licence = z.string().min(1);

const schema = z.object({
  seed: z.number().int().nonnegative().default(42),
  output: z.string().default('build'),
  debian: z.object({
    /** Fetch apt's index files (with the English long descriptions) into OUTPUT/sources/apt. */
    apt_lists: z.boolean().default(false),
    /** Or read these Translation-en / Packages files instead. */
    files: z.array(z.string()).default([]),
    licence: licence.optional(),
  }).strict().optional(),
  dictionaries: z.object({
    /** Debian packages in dictd format to download and unpack (dict-gcide, dict-wn, …). */
    packages: z.array(z.string()).default([]),
    /** Or dictd NAME.index files (with NAME.dict.dz or NAME.dict beside them). */
    files: z.array(z.string()).default([]),
    licence: licence.optional(),
    /**
     * Retrieval tasks' documents start with their headword ("sigmet: a weather advisory …"),
     * as a glossary page or web answer does. Without it, a definition rarely holds the word
     * asked about while BM25's negatives (other entries that use it) do, so "what is X" pairs
     * teach a reranker that containing X counts against a document.
     */
    headword_in_document: z.boolean().default(false),
  }).strict().optional(),
  man_pages: z.object({
    packages: z.array(z.string()).default([]),
    /** Folders holding man1 … man9 (e.g. /usr/share/man). */
    dirs: z.array(z.string()).default([]),
    licence: licence.optional(),
  }).strict().optional(),
  /** BEIR datasets whose TRAIN split may be trained on. */
  beir: z.array(z.object({
    dir: z.string(), split: z.string().default('train'), licence,
    /**
     * Also make relevance pairs from the corpus alone: each paper's title as a query, its
     * abstract (the title left out) as the positive. The corpus is shared with the test split,
     * but its test queries and qrels are not used.
     */
    title_pairs: z.boolean().default(false),
  }).strict()).default([]),
  /** LlamaIndex EmbeddingQAFinetuneDataset files that may be trained on. */
  rag: z.array(z.object({ file: z.string(), licence })).default([]),
  /** Evaluation data: never trained on; the overlap check compares against it. */
  evaluation: z.object({
    beir: z.array(z.object({ dir: z.string(), split: z.string().default('test') })).default([]),
    trec_dl: z.array(z.string()).default([]),
    rag: z.array(z.string()).default([]),
  }).strict(),
  corpus: z.object({
    max_megabytes: z.number().positive().default(60),
    chunk_chars: z.number().int().min(100).default(1200),
  }).strict().default({ max_megabytes: 60, chunk_chars: 1200 }),
  vocab: z.object({
    size: z.number().int().min(100).max(30000).default(30000),
  }).strict().default({ size: 30000 }),
  /** Documents indexed per task at most (a seeded sample keeping the sampled queries' positives). */
  pool_documents: z.number().int().min(2).default(30000),
  pairs: z.object({
    queries_per_source: z.number().int().positive().default(5000),
    negatives: z.number().int().min(1).default(3),
    /** Hard negatives are drawn from the BM25 ranks 1..depth that are not positives. */
    negative_depth: z.number().int().min(2).default(30),
    /** Easy negatives per query besides the hard ones: documents drawn at random from the task's pool. */
    random_negatives: z.number().int().min(0).default(0),
    /** Per-task caps on queries that replace queries_per_source, e.g. {"dict:gcide": 1500}. */
    queries_per_task: z.record(z.string(), z.number().int().positive()).default({}),
    dev_fraction: z.number().min(0).max(0.5).default(0.02),
    document_chars: z.number().int().min(50).default(2000),
  }).strict().default({ queries_per_source: 5000, negatives: 3, negative_depth: 30, random_negatives: 0, queries_per_task: {}, dev_fraction: 0.02, document_chars: 2000 }),
  queries: z.object({
    per_source: z.number().int().positive().default(3000),
    candidates: z.number().int().min(2).default(30),
    document_chars: z.number().int().min(50).default(2000),
  }).strict().default({ per_source: 3000, candidates: 30, document_chars: 2000 }),
}).strict();

export type DataConfigFile = z.infer<typeof schema>;

export interface DataConfig extends DataConfigFile {
  /** The config file, absolute. */
  readonly configPath: string;
  /** The output folder, absolute (the config's `output`, or --out). */
  readonly output: string;
}

export function readDataConfig(file: string, outOverride?: string): DataConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`,
      'pass the data pipeline config with --config (this repository\'s is data/pipeline.json; see docs/DATA.md)');
  }
  return parseDataConfig(raw, file, outOverride);
}

export function parseDataConfig(raw: unknown, file: string, outOverride?: string): DataConfig {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
    throw new InputError(`${file}: invalid data config:\n${problems}`, 'fix the fields named above (docs/DATA.md lists every option)');
  }
  const c = parsed.data;
  const base = path.dirname(path.resolve(file));
  const r = (p: string): string => path.resolve(base, p);
  return {
    ...c,
    configPath: path.resolve(file),
    output: outOverride !== undefined ? path.resolve(outOverride) : r(c.output),
    debian: c.debian && { ...c.debian, files: c.debian.files.map(r) },
    dictionaries: c.dictionaries && { ...c.dictionaries, files: c.dictionaries.files.map(r) },
    man_pages: c.man_pages && { ...c.man_pages, dirs: c.man_pages.dirs.map(r) },
    beir: c.beir.map((b) => ({ ...b, dir: r(b.dir) })),
    rag: c.rag.map((x) => ({ ...x, file: r(x.file) })),
    evaluation: {
      beir: c.evaluation.beir.map((b) => ({ ...b, dir: r(b.dir) })),
      trec_dl: c.evaluation.trec_dl.map(r),
      rag: c.evaluation.rag.map(r),
    },
  };
}
