/**
 * TREC Deep Learning passage ranking: rerank given first-stage candidates (BM25 top 100 with
 * their passage text, in the JSON layout RankGPT and rerankers' papers use) and report NDCG@10
 * against the graded qrels (0-3), for the candidates' own order and after reranking.
 *
 *   [{"query": "…", "hits": [{"qid": 264014, "docid": "5611210", "content": "…", "rank": 1, "score": 15.78}, …]}, …]
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readJsonFile } from './files.js';
import { evaluateRun, type QueryMetrics, type Qrels, type RunEntry } from './metrics.js';
import { rerankCached, type RerankTask, type SecondStage } from './rerank-run.js';
import { readTrecQrels, writeTrecRun } from './trec-run.js';

export interface TrecDlCandidates {
  readonly queries: ReadonlyMap<string, string>;
  /** Per query, the candidates in the file's order, with their first-stage scores. */
  readonly hits: ReadonlyMap<string, readonly (RunEntry & { readonly text: string })[]>;
}

const FORMAT_HINT = 'expected a JSON array of {"query": text, "hits": [{"qid", "docid", "content", "score"}, …]}';

export function loadTrecDlCandidates(file: string): TrecDlCandidates {
  const value = readJsonFile(file, 'TREC DL candidates');
  if (!Array.isArray(value)) throw new InputError(`${file}: not a JSON array`, FORMAT_HINT);
  const queries = new Map<string, string>();
  const hits = new Map<string, (RunEntry & { text: string })[]>();
  value.forEach((item: unknown, i) => {
    const where = `${file}: element ${i}`;
    const q = item as { query?: unknown; hits?: unknown } | null;
    if (q === null || typeof q !== 'object' || typeof q.query !== 'string' || !Array.isArray(q.hits)) throw new InputError(`${where} must have a string "query" and an array "hits"`, FORMAT_HINT);
    const entries = q.hits.map((hit: unknown, j) => parseHit(hit, `${where}, hit ${j}`));
    const queryId = entries[0]?.queryId;
    if (queryId === undefined) return; // a query without candidates has nothing to rerank
    if (entries.some((e) => e.queryId !== queryId)) throw new InputError(`${where}: hits of one query carry different "qid"s`, FORMAT_HINT);
    queries.set(queryId, q.query);
    hits.set(queryId, entries.map(({ docId, score, text }) => ({ docId, score, text })));
  });
  return { queries, hits };
}

function parseHit(hit: unknown, where: string): { queryId: string; docId: string; score: number; text: string } {
  const h = hit as { qid?: unknown; docid?: unknown; content?: unknown; score?: unknown } | null;
  const id = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
  const queryId = id(h?.qid);
  const docId = id(h?.docid);
  if (h === null || typeof h !== 'object' || queryId === undefined || docId === undefined || typeof h.content !== 'string' || typeof h.score !== 'number') {
    throw new InputError(`${where} must have "qid", "docid", a string "content" and a numeric "score"`, FORMAT_HINT);
  }
  return { queryId, docId, score: h.score, text: h.content };
}

export interface TrecDlEvalOptions {
  readonly candidatesFile: string;
  readonly qrelsFile: string;
  readonly outDir: string;
  readonly reranker?: SecondStage;
}

export interface TrecDlResult {
  readonly dataset: string;
  /** Judged queries with candidates and at least one relevant passage. */
  readonly queries: number;
  readonly skipped: readonly string[];
  readonly firstStage: { readonly 'ndcg@10': number; readonly perQuery: readonly QueryMetrics[] };
  readonly reranked?: { readonly 'ndcg@10': number; readonly perQuery: readonly QueryMetrics[]; readonly runFile: string; readonly scoredPairs: number; readonly cachedPairs: number; readonly seconds: number };
}

/** Default file names inside a TREC DL data folder. */
export function trecDlFiles(dir: string): { candidates: string; qrels: string } {
  const candidates = ['bm25-top100.json', 'candidates.json'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  return { candidates: candidates ?? path.join(dir, 'bm25-top100.json'), qrels: path.join(dir, 'qrels.txt') };
}

export async function evaluateTrecDl(options: TrecDlEvalOptions): Promise<TrecDlResult> {
  const candidates = loadTrecDlCandidates(options.candidatesFile);
  const allQrels = await readTrecQrels(options.qrelsFile);
  // Only judged queries count (TREC DL judges a subset of its topics); unjudged ones are not scored.
  const qrels: Qrels = new Map([...allQrels].filter(([q]) => candidates.hits.has(q)));
  if (qrels.size === 0) throw new InputError(`${options.qrelsFile}: none of its queries is among the candidates of ${options.candidatesFile}`, 'pass qrels and candidates of the same year');
  const firstEval = evaluateRun(candidates.hits, qrels);
  const dataset = path.basename(path.dirname(path.resolve(options.candidatesFile)));
  const result: TrecDlResult = {
    dataset, queries: firstEval.perQuery.length, skipped: firstEval.skipped,
    firstStage: { 'ndcg@10': firstEval.mean['ndcg@10'], perQuery: firstEval.perQuery },
  };
  if (!options.reranker) return result;

  const stage = options.reranker;
  const tasks: RerankTask[] = firstEval.perQuery.map(({ queryId }) => ({
    queryId, query: candidates.queries.get(queryId)!,
    candidates: candidates.hits.get(queryId)!.map((h) => ({ docId: h.docId, text: h.text })),
  }));
  const outcome = await rerankCached(tasks, stage, path.join(options.outDir, `scores.${stage.label}.jsonl`), 'passage content');
  const runFile = path.join(options.outDir, `reranked.${stage.label}.run`);
  writeTrecRun(runFile, outcome.run, `turborank-${stage.label}`);
  const rerankedEval = evaluateRun(outcome.run, qrels);
  return {
    ...result,
    reranked: { 'ndcg@10': rerankedEval.mean['ndcg@10'], perQuery: rerankedEval.perQuery, runFile, scoredPairs: outcome.scoredPairs, cachedPairs: outcome.cachedPairs, seconds: outcome.seconds },
  };
}
