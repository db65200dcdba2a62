/**
 * BEIR evaluation as BEIR's own reranking example runs it: BM25 retrieves the top 100 of the
 * corpus for every test query, a cross-encoder rescores those (title and text joined), and
 * NDCG@10, MRR@10 and Recall@100 are computed for both runs. Documents whose id equals the
 * query's id are dropped (BEIR's ignore_identical_ids), before reranking, since they never count.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { documentText, loadBeir, type BeirDataset } from './beir.js';
import { Bm25Index, bm25Tag, PYSERINI_BM25, searchAllInterruptibly, type Bm25Parameters } from './bm25.js';
import { evaluateRun, type QueryMetrics, type RetrievalMetrics, type Run, type RunEntry } from './metrics.js';
import { InterruptedError, rerankCached, type RerankTask, type SecondStage } from './rerank-run.js';
import { readTrecRun, truncateRun, writeAtomically, writeTrecRun } from './trec-run.js';

export interface BeirEvalOptions {
  readonly dataDir: string;
  readonly outDir: string;
  readonly split?: string;
  /** Candidates per query (default 100, BEIR's). */
  readonly topK?: number;
  readonly bm25?: Bm25Parameters;
  /** A first-stage run to use instead of BM25 (e.g. Pyserini's own). */
  readonly firstStageRun?: string;
  readonly reranker?: SecondStage;
  /** Informational messages (what was reused, where runs went). */
  readonly log?: (message: string) => void;
}

export interface StageResult {
  readonly mean: RetrievalMetrics;
  readonly perQuery: readonly QueryMetrics[];
  /** The TREC run file written (or reused). */
  readonly runFile: string;
}

export interface BeirEvalResult {
  readonly dataset: string;
  readonly split: string;
  readonly queries: number;
  /** Queries with qrels but no relevant document: left out, as BEIR leaves them out. */
  readonly skipped: readonly string[];
  readonly bm25: StageResult & { readonly reused: boolean; readonly seconds: number; readonly parameters: string };
  readonly reranked?: StageResult & { readonly scoredPairs: number; readonly cachedPairs: number; readonly seconds: number; readonly cacheFile: string };
}

export const BEIR_DOCUMENTS = 'title + " " + text';

export async function evaluateBeir(options: BeirEvalOptions): Promise<BeirEvalResult> {
  const split = options.split ?? 'test';
  const topK = options.topK ?? 100;
  const dataset = await loadBeir(options.dataDir, split);
  const first = await firstStage(dataset, options, topK);
  const candidates = dropIdenticalIds(truncateRun(first.run, topK));
  const bm25Eval = evaluateRun(candidates, dataset.qrels);
  const evaluated = new Set(bm25Eval.perQuery.map((m) => m.queryId));
  const result: BeirEvalResult = {
    dataset: dataset.name, split, queries: bm25Eval.perQuery.length, skipped: bm25Eval.skipped,
    bm25: { mean: bm25Eval.mean, perQuery: bm25Eval.perQuery, runFile: first.file, reused: first.reused, seconds: first.seconds, parameters: first.tag },
  };
  if (!options.reranker) return result;

  const stage = options.reranker;
  const tasks = rerankTasksFor(dataset, candidates, evaluated, first.file);
  const outcome = await rerankCached(tasks, stage, path.join(options.outDir, `scores.${split}.${stage.label}.jsonl`), BEIR_DOCUMENTS);
  const runFile = path.join(options.outDir, `reranked.${split}.${stage.label}.run`);
  writeTrecRun(runFile, outcome.run, `turborank-${stage.label}`);
  const rerankedEval = evaluateRun(outcome.run, dataset.qrels);
  return {
    ...result,
    reranked: {
      mean: rerankedEval.mean, perQuery: rerankedEval.perQuery, runFile,
      scoredPairs: outcome.scoredPairs, cachedPairs: outcome.cachedPairs, seconds: outcome.seconds, cacheFile: outcome.cacheFile,
    },
  };
}

interface FirstStage {
  readonly run: Run;
  readonly file: string;
  readonly tag: string;
  readonly reused: boolean;
  readonly seconds: number;
}

/**
 * The BM25 run: the one the user named, else the one saved in the output folder if it was made
 * with the same settings, queries and corpus, else computed now (and saved for next time).
 */
async function firstStage(dataset: BeirDataset, options: BeirEvalOptions, topK: number): Promise<FirstStage> {
  const log = options.log ?? (() => {});
  if (options.firstStageRun) {
    const { run, tag } = await readTrecRun(options.firstStageRun);
    const missing = checkRunCoversQueries(run, dataset, options.firstStageRun);
    if (missing > 0) log(`warning: ${missing} of ${dataset.queries.size} queries are not in ${options.firstStageRun}; they score 0`);
    return { run, file: options.firstStageRun, tag, reused: true, seconds: 0 };
  }
  const parameters = options.bm25 ?? PYSERINI_BM25;
  const tag = bm25Tag(parameters);
  // The depth is in the name: a run cut at 10 cannot stand in for a top 100.
  const file = path.join(options.outDir, `bm25.${dataset.split}.top${topK}.run`);
  const made = runProvenance(dataset, tag, topK);
  if (fs.existsSync(file)) {
    const saved = await readTrecRun(file);
    const difference = provenanceDifference(file, saved.run, saved.tag, made, dataset);
    if (difference === undefined) {
      log(`BM25: reusing ${file} (delete it to recompute)`);
      return { run: saved.run, file, tag, reused: true, seconds: 0 };
    }
    log(`BM25: ${file} was made ${difference}; recomputing it`);
  }
  const started = performance.now();
  // Indexing a large corpus takes minutes: Ctrl-C (the reranker's signal) stops it between documents.
  const signal = options.reranker?.signal;
  let run: Run;
  try {
    const index = await Bm25Index.buildInterruptibly(dataset.corpus.map((d) => ({ id: d.id, text: documentText(d) })), parameters, { signal });
    run = await searchAllInterruptibly(index, dataset.queries, topK, { signal });
  } catch (err) {
    if (signal?.aborted) throw new InterruptedError('interrupted while building and searching the BM25 index; nothing was saved yet', 'run the same command again to start over');
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  // The sidecar goes last: a run without one (an interrupted write) is judged by the old rule.
  fs.rmSync(provenanceFile(file), { force: true });
  writeTrecRun(file, run, tag);
  writeAtomically(provenanceFile(file), JSON.stringify({ ...made, runBytes: fs.statSync(file).size }, null, 2) + '\n');
  log(`BM25: indexed ${dataset.corpus.length} documents and searched ${dataset.queries.size} queries in ${seconds.toFixed(1)} s; run saved in ${file}`);
  return { run, file, tag, reused: false, seconds };
}

/**
 * What a saved BM25 run was made from, kept beside it in `<run>.json`: a query that BM25 finds
 * nothing for has no line in the run, so the run alone cannot say which queries were searched.
 */
interface RunProvenance {
  readonly tag: string;
  readonly topK: number;
  readonly queries: number;
  /** SHA-256 of the query ids and texts, and of the corpus (ids, titles, texts). */
  readonly queriesSha256: string;
  readonly corpusSha256: string;
  /** The run file's size when written: an edited run is not reused. */
  readonly runBytes?: number;
}

function provenanceFile(runFile: string): string {
  return `${runFile}.json`;
}

function runProvenance(dataset: BeirDataset, tag: string, topK: number): RunProvenance {
  const queries = createHash('sha256');
  for (const [id, text] of [...dataset.queries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) queries.update(`${id}\t${text}\n`);
  const corpus = createHash('sha256');
  for (const d of dataset.corpus) corpus.update(`${d.id}\t${d.title}\t${d.text}\n`);
  return { tag, topK, queries: dataset.queries.size, queriesSha256: queries.digest('hex'), corpusSha256: corpus.digest('hex') };
}

/** How a saved run differs from what this evaluation needs, in words, or undefined if it can be reused. */
function provenanceDifference(file: string, run: Run, savedTag: string, wanted: RunProvenance, dataset: BeirDataset): string | undefined {
  if (savedTag !== '' && savedTag !== wanted.tag) return `with other BM25 settings (${savedTag})`;
  let saved: Partial<RunProvenance> | undefined;
  try {
    saved = JSON.parse(fs.readFileSync(provenanceFile(file), 'utf8')) as Partial<RunProvenance>;
  } catch {
    saved = undefined;
  }
  if (!saved) {
    // A run saved before the sidecar existed: reusable if it has a line for every query.
    if (savedTag === wanted.tag && [...dataset.queries.keys()].every((q) => run.has(q))) return undefined;
    return `with other settings or queries (${savedTag || 'no tag'}), and ${provenanceFile(file)} is missing`;
  }
  if (saved.tag !== wanted.tag) return `with other BM25 settings (${saved.tag})`;
  if (saved.topK !== wanted.topK) return `to another depth (top ${saved.topK})`;
  if (saved.queriesSha256 !== wanted.queriesSha256) return `for other queries (${saved.queries} of them; now ${wanted.queries})`;
  if (saved.corpusSha256 !== wanted.corpusSha256) return 'from another corpus (corpus.jsonl changed)';
  if (saved.runBytes !== fs.statSync(file).size) return `and changed since (its size differs from ${provenanceFile(file)})`;
  return undefined;
}

/** The number of queries the run lacks; a run with none of them is an error. */
function checkRunCoversQueries(run: Run, dataset: BeirDataset, file: string): number {
  const missing = [...dataset.queries.keys()].filter((q) => !run.has(q));
  if (missing.length === dataset.queries.size) {
    throw new InputError(`${file}: none of the ${dataset.queries.size} ${dataset.split} queries of ${dataset.dir} is in this run (e.g. query ${missing[0]})`,
      'pass a run made for this dataset and split');
  }
  return missing.length;
}

function dropIdenticalIds(run: Run): Map<string, RunEntry[]> {
  const out = new Map<string, RunEntry[]>();
  for (const [queryId, entries] of run) out.set(queryId, entries.filter((e) => e.docId !== queryId));
  return out;
}

function rerankTasksFor(dataset: BeirDataset, candidates: Run, queryIds: ReadonlySet<string>, runFile: string): RerankTask[] {
  const tasks: RerankTask[] = [];
  for (const queryId of queryIds) {
    const entries = candidates.get(queryId) ?? [];
    tasks.push({
      queryId,
      query: dataset.queries.get(queryId)!,
      candidates: entries.map((e) => {
        const doc = dataset.documents.get(e.docId);
        if (!doc) throw new InputError(`${runFile}: query ${queryId} retrieved document ${e.docId}, which is not in ${dataset.dir}/corpus.jsonl`, 'the run was made on another corpus: delete it or pass the right one');
        return { docId: e.docId, text: documentText(doc) };
      }),
    });
  }
  return tasks;
}
