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
 * evaluation-only document, or a whole evaluation query or short document of at least
 * PREFIX words. Shorter queries ("do goldfish grow") occur in ordinary prose and are
 * compared as whole texts only.
 *
 * Texts are scanned with a rolling hash over word hashes (two window lengths, O(1) per
 * position), and every hash hit is confirmed by comparing the words themselves.
 */
export class Passages {
  static readonly SHINGLE = 12;
  static readonly PREFIX = 8;
  /** Window length → window hash → the sequences whose first `length` words hash so. */
  private readonly tables = new Map<number, Map<number, { words: string; count: number; set: string }[]>>([[Passages.PREFIX, new Map()], [Passages.SHINGLE, new Map()]]);
  private size = 0;

  addQuery(key: string, set: string): void {
    const words = split(key);
    if (words.length >= Passages.PREFIX) this.add(Passages.PREFIX, words, set);
  }

  addDocument(key: string, set: string): void {
    const words = split(key);
    if (words.length < Passages.PREFIX) return;
    if (words.length < Passages.SHINGLE) { this.add(Passages.PREFIX, words, set); return; }
    for (let i = 0; i + Passages.SHINGLE <= words.length; i++) this.add(Passages.SHINGLE, words.slice(i, i + Passages.SHINGLE), set);
  }

  private add(length: number, words: string[], set: string): void {
    const hashes = words.slice(0, length).map(wordHash);
    let h = 0;
    for (const x of hashes) h = (Math.imul(h, BASE) + x) >>> 0;
    const table = this.tables.get(length)!;
    let bucket = table.get(h);
    if (!bucket) table.set(h, (bucket = []));
    const joined = words.join(' ');
    if (!bucket.some((e) => e.words === joined)) { bucket.push({ words: joined, count: words.length, set }); this.size++; }
  }

  /** The evaluation set whose passage the text (in matchKey form) contains, if any. */
  find(key: string): string | undefined {
    if (this.size === 0) return undefined;
    const words = split(key);
    if (words.length < Passages.PREFIX) return undefined;
    const prefix = new Uint32Array(words.length + 1);
    for (let i = 0; i < words.length; i++) prefix[i + 1] = (Math.imul(prefix[i]!, BASE) + wordHash(words[i]!)) >>> 0;
    for (const [length, table] of this.tables) {
      if (table.size === 0) continue;
      const power = POWERS[length]!;
      for (let i = 0; i + length <= words.length; i++) {
        const h = (prefix[i + length]! - Math.imul(prefix[i]!, power)) >>> 0;
        const bucket = table.get(h);
        if (bucket === undefined) continue;
        for (const e of bucket) {
          if (i + e.count <= words.length && words.slice(i, i + e.count).join(' ') === e.words) return e.set;
        }
      }
    }
    return undefined;
  }
}

const BASE = 0x01000193;
const POWERS = (() => {
  const p = [1];
  for (let i = 1; i <= Passages.SHINGLE; i++) p.push(Math.imul(p[i - 1]!, BASE) >>> 0);
  return p;
})();

function split(key: string): string[] {
  return key === '' ? [] : key.split(' ');
}

/** FNV-1a over the word's UTF-16 code units. */
function wordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
