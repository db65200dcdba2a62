/**
 * BM25 as Lucene (and so Pyserini/Anserini) scores it, in memory:
 *
 *   score(q, d) = Σ_{t ∈ q} boost_t · idf_t · tf / (tf + k1 · (1 − b + b · |d| / avgdl))
 *   idf_t = ln(1 + (N − df_t + 0.5) / (df_t + 0.5))
 *
 * with Lucene's details kept because they move rankings: |d| is the number of analysed tokens
 * stored lossily in one byte (SmallFloat.intToByte4) and read back, avgdl is exact, each term's
 * score is computed in float32, a query term repeated n times has boost n, and ties are broken
 * by document id, ascending (Pyserini's BREAK_SCORE_TIES_BY_DOCID). Defaults k1 = 0.9, b = 0.4
 * are Pyserini's.
 */
import { ANALYZER_NAME, EnglishAnalyzer } from './analyzer.js';

export interface Bm25Parameters {
  readonly k1: number;
  readonly b: number;
}

export const PYSERINI_BM25: Bm25Parameters = { k1: 0.9, b: 0.4 };

export interface Bm25Document {
  readonly id: string;
  readonly text: string;
}

export interface ScoredDocument {
  readonly docId: string;
  readonly score: number;
}

interface Postings {
  readonly docs: Int32Array;
  readonly freqs: Int32Array;
}

const f32 = Math.fround;

export class Bm25Index {
  private constructor(
    private readonly ids: readonly string[],
    private readonly docCount: number,
    private readonly postings: ReadonlyMap<string, Postings>,
    /** One float32 BM25 length factor per document: 1 / (k1 · (1 − b + b · |d| / avgdl)). */
    private readonly lengthFactor: Float32Array,
    readonly parameters: Bm25Parameters,
    private readonly analyzer: EnglishAnalyzer,
  ) {}

  /** Per-document score accumulators for search(), all zero between searches. */
  private scratch: Float64Array | undefined;

  get size(): number {
    return this.ids.length;
  }

  /** Indexes documents in the order given (that order is Lucene's internal doc id). */
  static build(documents: Iterable<Bm25Document>, parameters: Bm25Parameters = PYSERINI_BM25, analyzer = new EnglishAnalyzer()): Bm25Index {
    const builder = new IndexBuilder(analyzer);
    for (const document of documents) builder.add(document);
    return builder.finish(parameters);
  }

  /**
   * build() for a command that can be interrupted: it yields to the event loop every
   * `yieldEvery` documents, so a SIGINT handler runs while a large corpus is being indexed, and
   * stops there (rejecting with the signal's reason) once `signal` is aborted.
   */
  static async buildInterruptibly(
    documents: Iterable<Bm25Document>, parameters: Bm25Parameters = PYSERINI_BM25, options: { readonly signal?: AbortSignal; readonly yieldEvery?: number } = {},
  ): Promise<Bm25Index> {
    const builder = new IndexBuilder(new EnglishAnalyzer());
    const every = options.yieldEvery ?? 256;
    let count = 0;
    for (const document of documents) {
      builder.add(document);
      if (++count % every === 0) await yieldOrStop(options.signal);
    }
    options.signal?.throwIfAborted();
    return builder.finish(parameters);
  }

  /** Freezes what IndexBuilder gathered (Lucene's statistics and length norms). */
  static fromPostings(
    ids: readonly string[], lengths: readonly number[], building: ReadonlyMap<string, { docs: number[]; freqs: number[] }>,
    totalTokens: number, parameters: Bm25Parameters, analyzer: EnglishAnalyzer,
  ): Bm25Index {
    const postings = new Map<string, Postings>();
    for (const [term, p] of building) postings.set(term, { docs: Int32Array.from(p.docs), freqs: Int32Array.from(p.freqs) });
    // Lucene's field statistics count only documents with at least one token in the field.
    const docCount = lengths.filter((n) => n > 0).length;
    const avgdl = f32(docCount === 0 ? 1 : totalTokens / docCount);
    const lengthFactor = Float32Array.from(lengths, (n) => lengthFactorOf(decodeNorm(encodeNorm(n)), avgdl, parameters));
    return new Bm25Index(ids, docCount, postings, lengthFactor, parameters, analyzer);
  }

  /** The best `k` documents for the query text, best first. */
  search(query: string, k: number): ScoredDocument[] {
    // Dense accumulators reused across searches, and a size-k heap instead of sorting every
    // matching document: a query with common terms touches tens of thousands of documents.
    const scores = (this.scratch ??= new Float64Array(this.ids.length));
    const touched: number[] = [];
    for (const [term, boost] of termCounts(this.analyzer.analyze(query))) {
      const p = this.postings.get(term);
      if (!p) continue;
      const weight = f32(boost * this.idf(p.docs.length));
      for (let i = 0; i < p.docs.length; i++) {
        const doc = p.docs[i]!;
        // Lucene's BM25Scorer: weight − weight / (1 + tf · lengthFactor), in float32 (always > 0).
        const termScore = f32(weight - f32(weight / f32(1 + f32(p.freqs[i]! * this.lengthFactor[doc]!))));
        if (scores[doc] === 0) touched.push(doc);
        scores[doc] = scores[doc]! + termScore;
      }
    }
    const hits = topK(touched, (doc) => f32(scores[doc]!), (doc) => this.ids[doc]!, k);
    for (const doc of touched) scores[doc] = 0;
    return hits;
  }

  private idf(docFreq: number): number {
    return f32(Math.log(1 + (this.docCount - docFreq + 0.5) / (docFreq + 0.5)));
  }
}

/** The best `k` documents for each query: a run, as Pyserini's BM25 search writes it. */
export function searchAll(index: Bm25Index, queries: Iterable<[string, string]>, k: number): Map<string, ScoredDocument[]> {
  const run = new Map<string, ScoredDocument[]>();
  for (const [queryId, text] of queries) run.set(queryId, index.search(text, k));
  return run;
}

/** searchAll() that yields and stops like Bm25Index.buildInterruptibly. */
export async function searchAllInterruptibly(index: Bm25Index, queries: Iterable<[string, string]>, k: number, options: { readonly signal?: AbortSignal; readonly yieldEvery?: number } = {}): Promise<Map<string, ScoredDocument[]>> {
  const run = new Map<string, ScoredDocument[]>();
  const every = options.yieldEvery ?? 64;
  for (const [queryId, text] of queries) {
    run.set(queryId, index.search(text, k));
    if (run.size % every === 0) await yieldOrStop(options.signal);
  }
  options.signal?.throwIfAborted();
  return run;
}

async function yieldOrStop(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** Postings and lengths gathered document by document, then frozen into a Bm25Index. */
class IndexBuilder {
  private readonly ids: string[] = [];
  private readonly lengths: number[] = [];
  private readonly building = new Map<string, { docs: number[]; freqs: number[] }>();
  private totalTokens = 0;

  constructor(private readonly analyzer: EnglishAnalyzer) {}

  add(document: Bm25Document): void {
    const doc = this.ids.length;
    this.ids.push(document.id);
    const terms = this.analyzer.analyze(document.text);
    this.lengths.push(terms.length);
    this.totalTokens += terms.length;
    for (const [term, freq] of termCounts(terms)) {
      let p = this.building.get(term);
      if (!p) this.building.set(term, (p = { docs: [], freqs: [] }));
      p.docs.push(doc);
      p.freqs.push(freq);
    }
  }

  finish(parameters: Bm25Parameters): Bm25Index {
    return Bm25Index.fromPostings(this.ids, this.lengths, this.building, this.totalTokens, parameters, this.analyzer);
  }
}

/** Names the BM25 settings in run-file tags and reports, so a saved run says how it was made. */
export function bm25Tag({ k1, b }: Bm25Parameters): string {
  return `bm25-${ANALYZER_NAME}-k1=${k1}-b=${b}`;
}

function termCounts(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

function lengthFactorOf(length: number, avgdl: number, { k1, b }: Bm25Parameters): number {
  return f32(1 / f32(f32(k1) * f32(f32(1 - f32(b)) + f32(f32(f32(b) * length) / avgdl))));
}

/**
 * The k best of `docs` by score, descending, ties by id ascending: the order a full sort
 * gives, from a bounded heap whose root is the worst of the best so far.
 */
function topK(docs: readonly number[], scoreOf: (doc: number) => number, idOf: (doc: number) => string, k: number): ScoredDocument[] {
  const scored = docs.map((doc) => ({ docId: idOf(doc), score: scoreOf(doc) }));
  const better = (a: ScoredDocument, b: ScoredDocument): boolean => a.score > b.score || (a.score === b.score && compareIds(a.docId, b.docId) < 0);
  if (scored.length > k * 4 && k > 0) {
    const heap: ScoredDocument[] = [];
    const down = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let worst = i;
        if (l < heap.length && better(heap[worst]!, heap[l]!)) worst = l;
        if (r < heap.length && better(heap[worst]!, heap[r]!)) worst = r;
        if (worst === i) return;
        [heap[i], heap[worst]] = [heap[worst]!, heap[i]!];
        i = worst;
      }
    };
    for (const hit of scored) {
      if (heap.length < k) {
        heap.push(hit);
        for (let i = heap.length - 1; i > 0;) {
          const parent = (i - 1) >> 1;
          if (!better(heap[parent]!, heap[i]!)) break;
          [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
          i = parent;
        }
      } else if (better(hit, heap[0]!)) {
        heap[0] = hit;
        down(0);
      }
    }
    return heap.sort((a, b) => b.score - a.score || compareIds(a.docId, b.docId));
  }
  scored.sort((a, b) => b.score - a.score || compareIds(a.docId, b.docId));
  return scored.slice(0, Math.max(0, k));
}

/** Lucene sorts ids as UTF-8 bytes; for ids in the Basic Multilingual Plane this is the same order. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/*
 * Lucene's SmallFloat.intToByte4 / byte4ToInt: a document length in one byte, exact up to 23
 * and then with 4 significant bits (lengths 24..∞ share 232 codes).
 */
const MAX_INT4 = longToInt4(2 ** 31 - 1);
const NUM_FREE_VALUES = 255 - MAX_INT4;

function longToInt4(i: number): number {
  const numBits = 32 - Math.clz32(i);
  if (numBits < 4) return i;
  const shift = numBits - 4;
  return ((Math.floor(i / 2 ** shift) & 0x07) | ((shift + 1) << 3)) >>> 0;
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

export function encodeNorm(length: number): number {
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

export function decodeNorm(code: number): number {
  return code < NUM_FREE_VALUES ? code : NUM_FREE_VALUES + int4ToLong(code - NUM_FREE_VALUES);
}
