/**
 * The RAG retrieval benchmark LlamaIndex popularised: an EmbeddingQAFinetuneDataset (questions
 * generated from chunks of a document; each question's relevant chunk is the one it came from),
 * a retriever's top k chunks, a reranker keeping the top n, and RetrieverEvaluator's hit rate
 * and MRR over those n, before reranking (the retriever's own top n) and after.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import { Bm25Index, bm25Tag, PYSERINI_BM25, searchAll, type Bm25Parameters } from './bm25.js';
import { readJsonFile } from './files.js';
import { hitRate, llamaIndexMrr, rankEntries, type Run } from './metrics.js';
import { rerankCached, type SecondStage } from './rerank-run.js';
import { readTrecRun, truncateRun, writeTrecRun } from './trec-run.js';

export interface RagDataset {
  readonly name: string;
  readonly file: string;
  readonly queries: ReadonlyMap<string, string>;
  readonly corpus: ReadonlyMap<string, string>;
  readonly relevant: ReadonlyMap<string, ReadonlySet<string>>;
}

const FORMAT_HINT = 'expected LlamaIndex EmbeddingQAFinetuneDataset JSON: {"queries": {id: question}, "corpus": {id: text}, "relevant_docs": {id: [corpus ids]}}';

export function loadRagDataset(file: string): RagDataset {
  const value = readJsonFile(file, 'RAG dataset');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${file}: not a JSON object`, FORMAT_HINT);
  const record = value as Record<string, unknown>;
  const queries = stringMap(record, 'queries', file);
  const corpus = stringMap(record, 'corpus', file);
  const relevant = new Map<string, Set<string>>();
  const docs = record.relevant_docs;
  if (docs === null || typeof docs !== 'object' || Array.isArray(docs)) throw new InputError(`${file}: "relevant_docs" must be an object`, FORMAT_HINT);
  for (const [queryId, ids] of Object.entries(docs as Record<string, unknown>)) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      throw new InputError(`${file}: "relevant_docs"["${queryId}"] must be an array of corpus ids`, FORMAT_HINT);
    }
    const unknown = ids.find((id) => !corpus.has(id));
    if (unknown !== undefined) throw new InputError(`${file}: "relevant_docs"["${queryId}"] names "${unknown}", which is not in "corpus"`);
    relevant.set(queryId, new Set(ids));
  }
  if (queries.size === 0 || corpus.size === 0) throw new InputError(`${file}: no queries or no corpus`, FORMAT_HINT);
  return { name: ragDatasetName(file), file, queries, corpus, relevant };
}

function stringMap(record: Record<string, unknown>, key: string, file: string): Map<string, string> {
  const value = record[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${file}: "${key}" must be an object of id → text`, FORMAT_HINT);
  const out = new Map<string, string>();
  for (const [id, text] of Object.entries(value as Record<string, unknown>)) {
    if (typeof text !== 'string') throw new InputError(`${file}: "${key}"["${id}"] must be a string, got ${JSON.stringify(text)?.slice(0, 60)}`);
    out.set(id, text);
  }
  return out;
}

/** "paul-graham-essay" for paul-graham-essay/qa_dataset.json, else the file's name. */
export function ragDatasetName(file: string): string {
  const base = path.basename(file, path.extname(file));
  return base === 'qa_dataset' ? path.basename(path.dirname(path.resolve(file))) : base;
}

export interface RagMetrics {
  readonly hitRate: number;
  readonly mrr: number;
}

export interface RagQueryMetrics {
  readonly queryId: string;
  readonly retrieved: RagMetrics;
  readonly reranked?: RagMetrics;
}

export interface RagEvalOptions {
  readonly dataFile: string;
  readonly outDir: string;
  /** Chunks retrieved per query (default 10). */
  readonly topK?: number;
  /** Chunks kept, and scored by hit rate and MRR (default 5). */
  readonly topN?: number;
  /** A TREC run of another retriever (e.g. an embedding model) instead of BM25. */
  readonly runFile?: string;
  readonly bm25?: Bm25Parameters;
  readonly reranker?: SecondStage;
  readonly log?: (message: string) => void;
}

export interface RagEvalResult {
  readonly dataset: string;
  readonly queries: number;
  /** Queries without a relevant chunk: RetrieverEvaluator refuses them; we leave them out. */
  readonly skipped: readonly string[];
  readonly topK: number;
  readonly topN: number;
  /** What retrieved: the BM25 settings or the run file's tag. */
  readonly retriever: string;
  readonly retrieverRun: string;
  /** The retriever's top n: the benchmark's "without reranker". */
  readonly retrieved: RagMetrics;
  /** Hit rate over all k candidates: the most any reranker can reach. */
  readonly candidatesHitRate: number;
  readonly reranked?: RagMetrics & { readonly runFile: string; readonly scoredPairs: number; readonly cachedPairs: number; readonly seconds: number };
  readonly perQuery: readonly RagQueryMetrics[];
}

export async function evaluateRag(options: RagEvalOptions): Promise<RagEvalResult> {
  const topK = options.topK ?? 10;
  const topN = options.topN ?? 5;
  const dataset = loadRagDataset(options.dataFile);
  const first = await retrieve(dataset, options, topK);
  const queryIds = [...dataset.queries.keys()].filter((q) => (dataset.relevant.get(q)?.size ?? 0) > 0);
  const skipped = [...dataset.queries.keys()].filter((q) => (dataset.relevant.get(q)?.size ?? 0) === 0);
  const candidates = truncateRun(first.run, topK);
  const retrievedTop = topNIds(candidates, topN);
  const perQueryRetrieved = scoreQueries(queryIds, retrievedTop, dataset);
  const candidatesHitRate = mean(queryIds.map((q) => hitRate(rankEntries(candidates.get(q) ?? []), dataset.relevant.get(q)!)));
  const base = {
    dataset: dataset.name, queries: queryIds.length, skipped, topK, topN,
    retriever: first.tag, retrieverRun: first.file, retrieved: meanOf(perQueryRetrieved), candidatesHitRate,
  };
  if (!options.reranker) return { ...base, perQuery: queryIds.map((queryId, i) => ({ queryId, retrieved: perQueryRetrieved[i]! })) };

  const stage = options.reranker;
  const tasks = queryIds.map((queryId) => ({
    queryId,
    query: dataset.queries.get(queryId)!,
    candidates: (candidates.get(queryId) ?? []).map((e) => ({ docId: e.docId, text: corpusText(dataset, e.docId, first.file) })),
  }));
  const outcome = await rerankCached(tasks, stage, path.join(options.outDir, `scores.${stage.label}.jsonl`), 'chunk text');
  const runFile = path.join(options.outDir, `reranked.${stage.label}.run`);
  writeTrecRun(runFile, outcome.run, `turborank-${stage.label}`);
  const perQueryReranked = scoreQueries(queryIds, topNIds(outcome.run, topN), dataset);
  return {
    ...base,
    reranked: { ...meanOf(perQueryReranked), runFile, scoredPairs: outcome.scoredPairs, cachedPairs: outcome.cachedPairs, seconds: outcome.seconds },
    perQuery: queryIds.map((queryId, i) => ({ queryId, retrieved: perQueryRetrieved[i]!, reranked: perQueryReranked[i]! })),
  };
}

async function retrieve(dataset: RagDataset, options: RagEvalOptions, topK: number): Promise<{ run: Run; file: string; tag: string }> {
  if (options.runFile) {
    const { run, tag } = await readTrecRun(options.runFile);
    const missing = [...dataset.queries.keys()].filter((q) => !run.has(q));
    if (missing.length === dataset.queries.size) throw new InputError(`${options.runFile}: none of the queries of ${dataset.file} is in this run`, 'the run must use the dataset\'s query ids');
    // Queries without an expected chunk are skipped anyway: only the evaluated ones count as misses.
    const evaluated = [...dataset.queries.keys()].filter((q) => (dataset.relevant.get(q)?.size ?? 0) > 0);
    const misses = evaluated.filter((q) => !run.has(q)).length;
    if (misses > 0) options.log?.(`warning: ${misses} of the ${evaluated.length} evaluated queries are not in ${options.runFile}; they count as misses`);
    return { run, file: options.runFile, tag };
  }
  // BM25 over a few hundred chunks takes milliseconds: it is not worth saving for reuse.
  const parameters = options.bm25 ?? PYSERINI_BM25;
  const index = Bm25Index.build([...dataset.corpus].map(([id, text]) => ({ id, text })), parameters);
  const run = searchAll(index, dataset.queries, topK);
  const file = path.join(options.outDir, 'bm25.run');
  const tag = bm25Tag(parameters);
  writeTrecRun(file, run, tag);
  return { run, file, tag };
}

function topNIds(run: Run, topN: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [queryId, entries] of run) out.set(queryId, rankEntries(entries).slice(0, topN));
  return out;
}

function scoreQueries(queryIds: readonly string[], retrieved: ReadonlyMap<string, readonly string[]>, dataset: RagDataset): RagMetrics[] {
  return queryIds.map((q) => {
    const ids = retrieved.get(q) ?? [];
    const expected = dataset.relevant.get(q)!;
    return { hitRate: hitRate(ids, expected), mrr: llamaIndexMrr(ids, expected) };
  });
}

function corpusText(dataset: RagDataset, docId: string, runFile: string): string {
  const text = dataset.corpus.get(docId);
  if (text === undefined) throw new InputError(`${runFile}: retrieved chunk ${docId}, which is not in the corpus of ${dataset.file}`, 'the run was made on another corpus');
  return text;
}

function meanOf(metrics: readonly RagMetrics[]): RagMetrics {
  return { hitRate: mean(metrics.map((m) => m.hitRate)), mrr: mean(metrics.map((m) => m.mrr)) };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
