/**
 * The labelling stage: the teacher scores each query's BM25 candidate list (queries/*.jsonl of
 * the data build), taking the tasks in turn. Labels are JSON Lines `{query_id, doc_ids, logits}` (logits rounded to 1e-4,
 * far below what distillation can use) beside `provenance.json` (teacher checkpoint and its
 * sha256, the data manifest's sha256, date, command). Resumable: lines are appended and
 * fsynced every `flush_every` queries; a rerun keeps the complete lines, cuts a partial one,
 * and scores only the queries not yet labelled.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { InputError, TurborankError } from '../../errors.js';
import { sha256File } from '../../checkpoint/files.js';
import { Reranker } from '../../rerank/index.js';
import { latestCheckpoint } from '../checkpoints.js';
import { distillPaths, finalTeacher, type DistillConfig, type FinalTeacher } from './config.js';

export const LABELS_FILE = 'labels.jsonl';
export const PROVENANCE_FILE = 'provenance.json';

export interface LabelLine {
  readonly query_id: string;
  readonly doc_ids: readonly string[];
  readonly logits: readonly number[];
}

export interface LabelProvenance {
  readonly format: 'turborank-labels/1';
  readonly teacher: { readonly checkpoint: string; readonly model_sha256: string };
  readonly data: { readonly queries: string; readonly manifest_sha256: string; readonly queries_sha256: string };
  readonly max_length: number;
  readonly created: string;
  readonly command: string;
  readonly config: string;
}

export interface LabelReport {
  readonly labels: string;
  readonly already: number;
  readonly scored: number;
  readonly total: number;
  readonly seconds: number;
}

interface QueryLine {
  readonly id: string;
  readonly query: string;
  readonly candidates: readonly { readonly id: string }[];
}

export interface LabelOptions {
  readonly command: string;
  readonly log: (line: string) => void;
  /** The teacher that labels (finalTeacher by default). */
  readonly teacher?: FinalTeacher;
  /** A model folder that labels instead of the teacher's latest checkpoint (a pack's teacher). */
  readonly model?: string;
  /** The labels folder (RUN/labels by default). */
  readonly out?: string;
  /** What the log lines start with (default 'label'). */
  readonly name?: string;
}

export async function labelQueries(c: DistillConfig, options: LabelOptions): Promise<LabelReport> {
  const started = Date.now();
  const p = distillPaths(c);
  const final = options.teacher ?? finalTeacher(c);
  const out = options.out ?? p.labels;
  const name = options.name ?? 'label';
  const teacher = options.model ?? latestCheckpoint(final.folder);
  if (teacher === undefined) throw new TurborankError(`no teacher checkpoint in ${final.folder}`, `run \`turborank distill ${final.stage}\` first`);
  for (const f of [p.queries, p.documents, p.queriesManifest]) {
    if (!fs.existsSync(f)) throw new InputError(`${f}: no such file`, 'build the query sets first: turborank data queries (see docs/DATA.md)');
  }
  fs.mkdirSync(out, { recursive: true });
  const provenance: LabelProvenance = {
    format: 'turborank-labels/1',
    teacher: { checkpoint: teacher, model_sha256: sha256File(path.join(teacher, 'model.safetensors')) },
    data: { queries: p.queries, manifest_sha256: sha256File(p.queriesManifest), queries_sha256: sha256File(p.queries) },
    max_length: c.label.max_length,
    created: new Date().toISOString(),
    command: options.command,
    config: c.configPath,
  };
  const labelsFile = path.join(out, LABELS_FILE);
  const provenanceFile = path.join(out, PROVENANCE_FILE);
  const done = resumeState(labelsFile, provenanceFile, provenance);
  const resumed = done.size > 0 && fs.existsSync(provenanceFile);
  fs.writeFileSync(provenanceFile, JSON.stringify(resumed ? { ...readProvenance(provenanceFile), resumed: provenance.created } : provenance, null, 2) + '\n');

  const queries = await readQueries(p.queries, c.label.max_queries);
  const todo = queries.filter((q) => !done.has(q.id));
  options.log(`${name}: ${queries.length} queries, ${queries.length - todo.length} already labelled, ${todo.length} to score with ${teacher}`);
  if (todo.length > 0) {
    const needed = new Set(todo.flatMap((q) => q.candidates.map((d) => d.id)));
    const documents = await readDocuments(p.documents, needed);
    const reranker = await Reranker.load(teacher, { maxLength: c.label.max_length, ...(c.label.threads ? { threads: c.label.threads } : {}) });
    const fd = fs.openSync(labelsFile, 'a');
    try {
      let pending: string[] = [];
      const flush = (): void => {
        if (pending.length === 0) return;
        fs.writeSync(fd, pending.join(''));
        fs.fsyncSync(fd);
        pending = [];
      };
      for (const [i, q] of todo.entries()) {
        const pairs = q.candidates.map((d) => {
          const document = documents.get(d.id);
          if (document === undefined) throw new InputError(`${p.queries}: query ${q.id} names candidate ${d.id}, which is not in ${p.documents}`, 'rebuild the query sets (turborank data queries)');
          return { query: q.query, document };
        });
        const logits = await reranker.score(pairs, { batchSize: c.label.batch_size });
        const line: LabelLine = { query_id: q.id, doc_ids: q.candidates.map((d) => d.id), logits: Array.from(logits, (x) => Math.round(x * 1e4) / 1e4) };
        pending.push(JSON.stringify(line) + '\n');
        if (pending.length >= c.label.flush_every) {
          flush();
          options.log(`${name}: ${queries.length - todo.length + i + 1}/${queries.length} queries`);
        }
      }
      flush();
    } finally {
      fs.closeSync(fd);
      await reranker.close();
    }
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  options.log(`${name}: done in ${seconds} s → ${labelsFile}`);
  return { labels: labelsFile, already: queries.length - todo.length, scored: todo.length, total: queries.length, seconds };
}

/**
 * The ids already labelled, after cutting a line an interruption left half written. Labels
 * from another teacher or other query sets are refused rather than mixed in.
 */
function resumeState(labelsFile: string, provenanceFile: string, now: LabelProvenance): Set<string> {
  if (!fs.existsSync(labelsFile)) return new Set();
  if (fs.existsSync(provenanceFile)) {
    const before = readProvenance(provenanceFile);
    if (before.teacher.model_sha256 !== now.teacher.model_sha256 || before.data.queries_sha256 !== now.data.queries_sha256 || before.max_length !== now.max_length) {
      throw new TurborankError(`${labelsFile} holds labels from another teacher, query set or max_length (see ${provenanceFile})`,
        'delete the labels folder to label again, or point "run" at a new folder');
    }
  }
  const bytes = fs.readFileSync(labelsFile);
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) fs.truncateSync(labelsFile, end);
  const ids = new Set<string>();
  for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
    if (line !== '') ids.add((JSON.parse(line) as LabelLine).query_id);
  }
  return ids;
}

/**
 * Refuses labels made on other query sets than `queriesFile` holds now (the data rebuilt with
 * another pipeline config, or from changed sources): their candidate ids may still resolve,
 * to texts the teacher never scored, which would train on silently wrong targets.
 */
export function checkLabelsMatchQueries(labelsDir: string, queriesFile: string): void {
  const provenanceFile = path.join(labelsDir, PROVENANCE_FILE);
  if (!fs.existsSync(provenanceFile)) {
    throw new InputError(`${provenanceFile}: no such file, so nothing says which query sets ${labelsDir} labelled`, `delete ${labelsDir} and run the stage that wrote it again`);
  }
  const { made, now } = queriesOfLabels(provenanceFile, queriesFile);
  if (made !== now) {
    throw new InputError(`${labelsDir} labels query sets with sha256 ${made.slice(0, 12)}…, but ${queriesFile} is now ${now.slice(0, 12)}… (the data was rebuilt from another pipeline config or changed sources)`,
      `rebuild the data as it was when these labels were made, or delete ${labelsDir} and label this data again`);
  }
}

/** The queries sha256 a provenance file names, and that of `queriesFile` now: equal when the labels fit the data. */
export function queriesOfLabels(provenanceFile: string, queriesFile: string): { made: string; now: string } {
  return { made: readProvenance(provenanceFile).data.queries_sha256, now: sha256File(queriesFile) };
}

export function readProvenance(file: string): LabelProvenance {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabelProvenance;
}

/**
 * The queries in labelling order: round-robin over the tasks (`source`), each in file order.
 * queries.jsonl is grouped by task, so this makes any prefix (max_queries, or what one session
 * labelled) a mix of every task, labelled, derived and unlabelled alike.
 */
async function readQueries(file: string, max: number | undefined): Promise<QueryLine[]> {
  const bySource = new Map<string, QueryLine[]>();
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const q = JSON.parse(line) as QueryLine & { source?: string };
    const group = bySource.get(q.source ?? '') ?? [];
    group.push(q);
    bySource.set(q.source ?? '', group);
  }
  const groups = [...bySource.values()];
  const out: QueryLine[] = [];
  for (let i = 0; groups.some((g) => i < g.length); i++) {
    for (const g of groups) if (i < g.length) out.push(g[i]!);
  }
  return max === undefined ? out : out.slice(0, max);
}

async function readDocuments(file: string, needed: ReadonlySet<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const d = JSON.parse(line) as { id: string; text: string };
    if (needed.has(d.id)) out.set(d.id, d.text);
  }
  return out;
}

/**
 * Every label line, for the students' training data and the fusion stage. A damaged line (not
 * JSON, or not one finite logit per candidate) is refused with its line number, since a
 * missing or non-numeric logit would otherwise become a training target.
 */
export function readLabels(file: string): LabelLine[] {
  const redo = `delete ${path.dirname(file)} and run the stage that wrote it again`;
  const hint = `the labels file is damaged: ${redo}`;
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((text, i): LabelLine[] => {
    if (text === '') return [];
    let line: Partial<Record<keyof LabelLine, unknown>>;
    try {
      line = JSON.parse(text) as Partial<Record<keyof LabelLine, unknown>>;
    } catch {
      throw new InputError(`${file}:${i + 1}: not a JSON line (a labelling run stopped mid-write?)`,
        `run the stage that wrote it again: it resumes and drops a cut-off last line; if this is not the last line, ${redo}`);
    }
    const { query_id: id, doc_ids: docs, logits } = line;
    if (typeof id !== 'string') throw new InputError(`${file}:${i + 1}: no query_id`, hint);
    if (!Array.isArray(docs) || !docs.every((d) => typeof d === 'string') || !Array.isArray(logits) || logits.length !== docs.length
      || !logits.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new InputError(`${file}:${i + 1}: query ${id}'s line does not give one finite logit per candidate`, hint);
    }
    return [{ query_id: id, doc_ids: docs as string[], logits: logits as number[] }];
  });
}
