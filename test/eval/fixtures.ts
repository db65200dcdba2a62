/**
 * Small datasets the evaluation tests write for themselves, built so that BM25's ranking can be
 * worked out by hand (who holds a query term how often, in how long a document), and a stand-in
 * cross-encoder whose scores are keyed on words, so reranked rankings are known too.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PairScorer } from '../../src/eval/rerank-run.js';
import { tempDir } from '../helpers.js';

let root: string | undefined;

/** A fresh folder under one temporary root per test process (each tempDir() adds an exit hook). */
export function scratchDir(prefix = 'eval-'): string {
  root ??= tempDir('turborank-eval-test-');
  return fs.mkdtempSync(path.join(root, prefix));
}

/**
 * BEIR layout. Query 1 "zebra": BM25 ranks A (zebra ×2 in 3 terms) > B (×1 in 1 term) > C (×1
 * in 4 terms); grades A 1, C 2, and D 1 (never retrieved): graded relevance, imperfect recall.
 * Query 2 has only a grade-0 judgement: skipped. Query 7 retrieves document 7 first, which
 * BEIR drops (same id as the query), leaving 8, its relevant document.
 */
export const BEIR_CORPUS = [
  { _id: 'A', title: 'Zebra', text: 'zebra herd' },
  { _id: 'B', title: '', text: 'a zebra' },
  { _id: 'C', title: 'Zebra crossing', text: 'in the city center' },
  { _id: 'D', title: 'Savanna', text: 'striped horses of africa' },
  { _id: 'E', title: 'Unicorn', text: 'a myth' },
  { _id: 7, title: 'Walrus', text: 'walrus walrus walrus' },
  { _id: '8', text: 'walrus on ice floes' },
];
export const BEIR_QUERIES = [
  { _id: '1', text: 'zebra', metadata: {} },
  { _id: '2', text: 'unicorn' },
  { _id: '7', text: 'walrus' },
  { _id: '99', text: 'a query without qrels is not evaluated' },
];
/** CRLF line ends and a header, as BEIR ships them. */
export const BEIR_QRELS = 'query-id\tcorpus-id\tscore\r\n1\tA\t1\r\n1\tC\t2\r\n1\tD\t1\r\n2\tE\t0\r\n7\t8\t1\r\n';

/** Metrics of the fixture, worked out by hand (see docs/EVALUATION.md for the definitions). */
export const BEIR_EXPECTED = {
  // Query 1: ranking A, B, C. DCG = 1/log2(2) + 2/log2(4) = 2; ideal 2, 1, 1 → 2 + 1/log2(3) + 1/2.
  q1Bm25Ndcg: 2 / (2 + 1 / Math.log2(3) + 0.5), // 0.638788
  // Reranked (the stand-in scores "crossing" 5, "herd" 1): C, A, B → (2 + 1/log2(3)) / ideal.
  q1RerankedNdcg: (2 + 1 / Math.log2(3)) / (2 + 1 / Math.log2(3) + 0.5), // 0.840303
  bm25: { 'ndcg@10': (0.6387878864795979 + 1) / 2, 'mrr@10': 1, 'recall@100': (2 / 3 + 1) / 2 },
  reranked: { 'ndcg@10': (0.8403030283801005 + 1) / 2, 'mrr@10': 1, 'recall@100': (2 / 3 + 1) / 2 },
};

export function writeBeirFixture(dir = path.join(scratchDir('beir-'), 'tiny-beir')): string {
  fs.mkdirSync(path.join(dir, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), BEIR_CORPUS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), BEIR_QUERIES.map((q) => JSON.stringify(q)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), BEIR_QRELS);
  return dir;
}

/**
 * RAG (LlamaIndex EmbeddingQAFinetuneDataset). BM25: "zebra" ranks c1 (×2) over c2; "walrus"
 * ranks c4 (×2) over c3; "penguin" finds nothing; r4 has no relevant chunk (skipped).
 */
export const RAG_DATASET = {
  queries: { r1: 'zebra', r2: 'walrus', r3: 'penguin', r4: 'zebra walrus' },
  corpus: { c1: 'zebra zebra herd', c2: 'zebra crossing', c3: 'walrus on ice', c4: 'walrus colony walrus' },
  relevant_docs: { r1: ['c2'], r2: ['c3'], r3: ['c1'], r4: [] },
  mode: 'text',
};

export function writeRagFixture(dir = scratchDir('rag-')): string {
  const file = path.join(dir, 'tiny-rag', 'qa_dataset.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(RAG_DATASET));
  return file;
}

/**
 * TREC DL candidates with graded qrels. Query 101: p1 (grade 0), p2 (3), p3 (1) in that order,
 * p4 (2) not retrieved. Query 102: p5 (1) and p6 (0) tie on score: trec_eval puts p6 first.
 * Query 103 is not judged.
 */
export const TREC_CANDIDATES = [
  { query: 'alpha', hits: [
    { qid: 101, docid: 'p1', content: 'alpha one', rank: 1, score: 3 },
    { qid: 101, docid: 'p2', content: 'alpha best', rank: 2, score: 2 },
    { qid: 101, docid: 'p3', content: 'alpha three', rank: 3, score: 1 },
  ] },
  { query: 'beta', hits: [
    { qid: 102, docid: 'p5', content: 'beta best', rank: 1, score: 1 },
    { qid: 102, docid: 'p6', content: 'beta six', rank: 2, score: 1 },
  ] },
  { query: 'gamma', hits: [{ qid: '103', docid: 'p7', content: 'gamma', rank: 1, score: 1 }] },
];
export const TREC_QRELS = '101 0 p1 0\n101 0 p2 3\n101 0 p3 1\n101 0 p4 2\n102 0 p5 1\n102 0 p6 0\n';

export const TREC_EXPECTED = {
  // 101: DCG = 3/log2(3) + 1/log2(4); ideal 3, 2, 1 → 3 + 2/log2(3) + 1/2. 102: p6, p5 → 1/log2(3).
  firstStage: ((3 / Math.log2(3) + 0.5) / (3 + 2 / Math.log2(3) + 0.5) + 1 / Math.log2(3)) / 2, // 0.566710
  // Reranked ("best" scores 2): 101 → p2, then p3/p1 tied → p3, p1; 102 → p5, p6.
  reranked: ((3 + 1 / Math.log2(3)) / (3 + 2 / Math.log2(3) + 0.5) + 1) / 2, // 0.881251
};

export function writeTrecFixture(dir = path.join(scratchDir('trec-'), 'tiny-dl')): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'bm25-top100.json'), JSON.stringify(TREC_CANDIDATES));
  fs.writeFileSync(path.join(dir, 'qrels.txt'), TREC_QRELS);
  return dir;
}

/** A stand-in cross-encoder: the sum of the weights of the words a document contains. */
export class WordScorer implements PairScorer {
  calls = 0;
  pairs = 0;
  constructor(private readonly weights: Readonly<Record<string, number>>, private readonly onScore?: () => void) {}

  async score(pairs: readonly { query: string; document: string }[]): Promise<Float32Array> {
    this.calls++;
    this.pairs += pairs.length;
    this.onScore?.();
    return Float32Array.from(pairs, ({ document }) =>
      document.toLowerCase().split(/\W+/).reduce((sum, word) => sum + (this.weights[word] ?? 0), 0));
  }
}
