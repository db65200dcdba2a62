/**
 * The rule that training never sees evaluation: every evaluation query (SciFact test, TREC DL,
 * the Paul Graham RAG set, or whatever the config's `evaluation` names) and every
 * evaluation-only document (TREC DL passages, RAG chunks) is kept here in a normal form
 * (see matchKey), and the pipeline drops training items that match one, then checks its
 * outputs once more and refuses (EvalOverlapError) if anything slipped through. Files that
 * only evaluation may read (test qrels, TREC DL files, evaluation RAG sets) are refused as
 * training sources outright.
 *
 * BEIR corpora are shared between splits (SciFact's train and test queries search the same
 * 5,183 abstracts), so a BEIR corpus document is not evaluation-only; its test queries and
 * qrels are.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TurborankError } from '../errors.js';
import { beirFiles, loadBeir } from '../eval/beir.js';
import { readLines } from '../eval/files.js';
import { loadRagDataset } from '../eval/rag.js';
import { loadTrecDlCandidates, trecDlFiles } from '../eval/trec-dl.js';
import type { DataConfig } from './config.js';
import { matchKey } from './text.js';

/** Training data that matches evaluation data, or a training source that is evaluation data. */
export class EvalOverlapError extends TurborankError {}

export interface EvalSetSummary {
  readonly name: string;
  readonly queries: number;
  readonly documents: number;
}

export class EvalGuard {
  private constructor(
    /** matchKey(query) → the evaluation set it belongs to. */
    private readonly queries: ReadonlyMap<string, string>,
    /** matchKey(document) → the evaluation set, for evaluation-only documents. */
    private readonly documents: ReadonlyMap<string, string>,
    /** Verbatim passages a training text must not contain (see Passages). */
    private readonly passages: Passages,
    /** Absolute real paths of files (or folders) only evaluation may read. */
    private readonly evalOnly: readonly string[],
    readonly sets: readonly EvalSetSummary[],
  ) {}

  static async load(config: DataConfig): Promise<EvalGuard> {
    const queries = new Map<string, string>();
    const documents = new Map<string, string>();
    const evalOnly: string[] = [];
    const sets: EvalSetSummary[] = [];
    const passages = new Passages();
    const addQuery = (text: string, set: string): void => {
      const key = matchKey(text);
      if (key !== '' && !queries.has(key)) queries.set(key, set);
      passages.addQuery(key, set);
    };
    const addDocument = (text: string, set: string): void => {
      const key = matchKey(text);
      if (key !== '' && !documents.has(key)) documents.set(key, set);
      passages.addDocument(key, set);
    };
    for (const b of config.evaluation.beir) {
      const name = `beir:${path.basename(b.dir)}/${b.split}`;
      const dataset = await loadBeir(b.dir, b.split);
      for (const text of dataset.queries.values()) addQuery(text, name);
      evalOnly.push(realPath(beirFiles(b.dir, b.split).qrels));
      sets.push({ name, queries: dataset.queries.size, documents: 0 });
    }
    for (const dir of config.evaluation.trec_dl) {
      const name = `trec-dl:${path.basename(dir)}`;
      const candidates = loadTrecDlCandidates(trecDlFiles(dir).candidates);
      let nQueries = candidates.queries.size;
      for (const text of candidates.queries.values()) addQuery(text, name);
      // topics.txt (qid<TAB>query) may hold judged queries without candidates.
      const topics = path.join(dir, 'topics.txt');
      if (fs.existsSync(topics)) {
        for await (const { line } of readLines(topics)) {
          const text = line.split('\t')[1];
          if (text !== undefined && text.trim() !== '') { addQuery(text, name); nQueries++; }
        }
      }
      let nDocs = 0;
      for (const hits of candidates.hits.values()) for (const hit of hits) { addDocument(hit.text, name); nDocs++; }
      evalOnly.push(realPath(dir));
      sets.push({ name, queries: nQueries, documents: nDocs });
    }
    for (const file of config.evaluation.rag) {
      const dataset = loadRagDataset(file);
      const name = `rag:${dataset.name}`;
      for (const text of dataset.queries.values()) addQuery(text, name);
      for (const text of dataset.corpus.values()) addDocument(text, name);
      evalOnly.push(realPath(file));
      sets.push({ name, queries: dataset.queries.size, documents: dataset.corpus.size });
    }
    if (sets.length === 0) {
      throw new EvalOverlapError('the data config names no evaluation sets, so nothing could be checked for overlap',
        'list the evaluation data in "evaluation" (beir test splits, trec_dl folders, rag files): the pipeline refuses to build training data blind');
    }
    return new EvalGuard(queries, documents, passages, evalOnly, sets);
  }

  /** The evaluation set a training query matches, if any. */
  queryMatch(text: string): string | undefined {
    return this.queries.get(matchKey(text));
  }

  /** The evaluation set a training document (or pre-training text) matches, if any: an evaluation query or evaluation-only document. */
  documentMatch(text: string): string | undefined {
    const key = matchKey(text);
    return this.queries.get(key) ?? this.documents.get(key) ?? this.passages.find(key);
  }

  /** Throws unless `file` may be read for training. */
  refuseEvalFile(file: string, what: string): void {
    const real = realPath(file);
    const hit = this.evalOnly.find((p) => real === p || real.startsWith(p + path.sep));
    if (hit !== undefined) {
      throw new EvalOverlapError(`${what}: ${file} is evaluation data (${hit}); training must never read it`,
        'train on a train split (e.g. qrels/train.tsv) or a dataset that is not in "evaluation"');
    }
  }
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/**
 * Verbatim overlap inside longer texts, which whole-text comparison misses (a pre-training
 * text that quotes an evaluation passage, a chunk cut from one): a training text matches when
 * it contains, as consecutive words in matchKey's form, any SHINGLE-word window of an
 * evaluation-only document, a whole evaluation document shorter than that, or a whole
 * evaluation query of at least MIN_QUERY_WORDS words (shorter queries, "do goldfish grow",
 * occur in ordinary prose and are compared as whole texts only).
 */
export class Passages {
  static readonly SHINGLE = 12;
  static readonly MIN_QUERY_WORDS = 8;
  /** Word sequences (joined by spaces) → evaluation set, grouped by length. */
  private readonly byLength = new Map<number, Map<string, string>>();
  /** The first two words of every sequence: most positions of a text are rejected by this alone. */
  private readonly starts = new Set<string>();

  addQuery(key: string, set: string): void {
    const words = key.split(' ').filter((w) => w !== '');
    if (words.length >= Passages.MIN_QUERY_WORDS) this.add(words, set);
  }

  addDocument(key: string, set: string): void {
    const words = key.split(' ').filter((w) => w !== '');
    if (words.length < 2) return;
    if (words.length <= Passages.SHINGLE) { this.add(words, set); return; }
    for (let i = 0; i + Passages.SHINGLE <= words.length; i++) this.add(words.slice(i, i + Passages.SHINGLE), set);
  }

  private add(words: string[], set: string): void {
    let map = this.byLength.get(words.length);
    if (!map) this.byLength.set(words.length, (map = new Map()));
    const joined = words.join(' ');
    if (!map.has(joined)) map.set(joined, set);
    this.starts.add(`${words[0]} ${words[1]}`);
  }

  /** The evaluation set whose passage the text (in matchKey form) contains, if any. */
  find(key: string): string | undefined {
    if (this.byLength.size === 0) return undefined;
    const words = key.split(' ');
    for (let i = 0; i + 1 < words.length; i++) {
      if (!this.starts.has(`${words[i]} ${words[i + 1]}`)) continue;
      for (const [length, map] of this.byLength) {
        if (i + length > words.length) continue;
        const hit = map.get(words.slice(i, i + length).join(' '));
        if (hit !== undefined) return hit;
      }
    }
    return undefined;
  }
}
