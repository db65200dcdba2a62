/**
 * `turborank eval <beir|rag|trec|speed>`: the benchmarks of docs/EVALUATION.md. Each run saves
 * its runs, its scores (so an interrupted run resumes) and a result file for `turborank report`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { measureRerankSpeed, syntheticTexts, type RerankSpeedResult, type SpeedTexts } from '../bench/rerank-speed.js';
import { UsageError } from '../errors.js';
import { documentText, loadBeir } from '../eval/beir.js';
import { evaluateBeir, type BeirEvalResult } from '../eval/beir-eval.js';
import { PYSERINI_BM25, type Bm25Parameters } from '../eval/bm25.js';
import type { QueryMetrics, RetrievalMetrics } from '../eval/metrics.js';
import { progressBar } from '../eval/progress.js';
import { evaluateRag, ragDatasetName, type RagEvalResult } from '../eval/rag.js';
import { InterruptedError, modelIdentity, modelLabel, type SecondStage } from '../eval/rerank-run.js';
import { saveResult, type SpeedSaved } from '../eval/results.js';
import { evaluateTrecDl, trecDlFiles, type TrecDlResult } from '../eval/trec-dl.js';
import { Reranker } from '../rerank/index.js';
import type { Precision } from '../runtime/index.js';
import { intOption, stringOption, threadsOption, writeStdout } from './main.js';
import { parsePrecision } from './precision.js';

export const EVAL_HELP = {
  text: `Usage: turborank eval <beir|rag|trec|speed> [options]

  beir   --data DIR   BEIR dataset (corpus.jsonl, queries.jsonl, qrels/test.tsv): BM25 top 100,
                      reranked by --model; NDCG@10, MRR@10, Recall@100 before and after.
                      Without --model, BM25 alone.
  rag    --data FILE  LlamaIndex EmbeddingQAFinetuneDataset JSON: BM25 (or --run) top k,
                      reranked, top n kept; hit rate and MRR before and after.
  trec   --data DIR   TREC DL folder (bm25-top100.json, qrels.txt): rerank the given
                      candidates; NDCG@10 before and after.
  speed               documents/s and per 50 ms through Reranker.rerank, latency of one
                      100-document request, peak RSS, model size, per --model and --precision.

Options:
  -m, --model M         model directory, .onnx file or cached hub name (speed: repeatable;
                        default: the shipped default model)
      --data PATH       the dataset (speed: an optional BEIR folder to draw real text from)
      --out DIR         where runs, saved scores and the result go
                        (default turborank-eval/<benchmark>-<dataset>)
      --label NAME      the model's name in files, tables and charts (default: from --model)
      --split S         beir: qrels split (default test)
      --top-k N         candidates per query (beir: 100, rag: 10)
      --top-n N         rag: chunks kept after reranking, scored (default 5)
      --k1 X, --b X     BM25 parameters (default 0.9, 0.4: Pyserini's)
      --run FILE        beir, rag: a TREC run to rerank instead of BM25's (e.g. an embedding
                        retriever's)
      --candidates FILE, --qrels FILE
                        trec: instead of the files in --data
      --precision P     fp32 (default) or int8 weight products; speed: repeatable, each model
                        at each precision in its own process
      --lengths N,N     speed: also measure at these tokens per pair
      --requests N      speed: timed 100-document requests per workload (default 5)
      --max-length N    tokens per (query, document) pair (default: the model's)
      --batch-size N    pairs per inference batch (default 32)
      --threads N       ONNX Runtime threads (default: all cores)
      --per-query       also print (and put in --json) each query's numbers
      --json            print JSON
      --quiet           no progress bar and no notes on stderr
  -h, --help            this help

Scores are saved as they are computed: an interrupted run (Ctrl-C) resumes when the same
command is run again. A saved BM25 run in --out is reused. \`turborank report\` gathers the
saved results into a Markdown report with charts.`,
  options: {
    model: { type: 'string', short: 'm', multiple: true },
    data: { type: 'string' },
    out: { type: 'string' },
    label: { type: 'string' },
    split: { type: 'string' },
    'top-k': { type: 'string' },
    'top-n': { type: 'string' },
    k1: { type: 'string' },
    b: { type: 'string' },
    run: { type: 'string' },
    candidates: { type: 'string' },
    qrels: { type: 'string' },
    precision: { type: 'string', multiple: true },
    lengths: { type: 'string' },
    requests: { type: 'string' },
    'max-length': { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    'per-query': { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
} as const;

type Values = Record<string, unknown>;

const COMMON = ['model', 'data', 'out', 'label', 'max-length', 'batch-size', 'threads', 'precision', 'per-query', 'json', 'quiet'];
const SUBCOMMANDS: Record<string, { readonly options: readonly string[]; readonly run: (values: Values) => Promise<void> }> = {
  beir: { options: [...COMMON, 'split', 'top-k', 'k1', 'b', 'run'], run: runBeir },
  rag: { options: [...COMMON, 'top-k', 'top-n', 'k1', 'b', 'run'], run: runRag },
  trec: { options: [...COMMON, 'candidates', 'qrels'], run: runTrec },
  speed: { options: ['model', 'data', 'out', 'label', 'precision', 'lengths', 'requests', 'batch-size', 'threads', 'json', 'quiet'], run: runSpeed },
};

export async function runEval(values: Values, positionals: string[]): Promise<void> {
  const [name, ...extra] = positionals;
  const sub = name === undefined ? undefined : SUBCOMMANDS[name];
  if (!sub) {
    throw new UsageError(name === undefined ? 'which benchmark? eval needs one of beir, rag, trec, speed' : `unknown benchmark '${name}'`,
      `e.g. \`turborank eval beir --data scifact\`; see \`turborank eval --help\``);
  }
  if (extra.length > 0) throw new UsageError(`eval ${name} takes no further arguments, got ${extra.join(' ')}`, 'pass the dataset with --data');
  const stray = Object.keys(values).filter((k) => values[k] !== undefined && !sub.options.includes(k));
  if (stray.length > 0) throw new UsageError(`--${stray[0]} does not apply to eval ${name}`, `see \`turborank eval --help\``);
  await sub.run(values);
}

// ---- options ---------------------------------------------------------------------------------

function requiredPath(values: Values, name: string, example: string): string {
  const value = stringOption(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`, `e.g. \`${example}\``);
  return value;
}

function numberOption(values: Values, name: string, fallback: number, min: number, max: number): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got '${raw}'`);
  return n;
}

function bm25Option(values: Values): Bm25Parameters {
  return { k1: numberOption(values, 'k1', PYSERINI_BM25.k1, 0, 100), b: numberOption(values, 'b', PYSERINI_BM25.b, 0, 1) };
}

function models(values: Values): string[] {
  const raw = values.model;
  return Array.isArray(raw) ? raw.filter((m): m is string => typeof m === 'string') : [];
}

function singleModel(values: Values, sub: string): string | undefined {
  const names = models(values);
  if (names.length > 1) throw new UsageError(`eval ${sub} takes one --model, got ${names.length}`, 'run it once per model (eval speed takes several)');
  return names[0];
}

/** The one --precision of a quality benchmark (eval speed takes several). */
function singlePrecision(values: Values): Precision {
  const raw = Array.isArray(values.precision) ? (values.precision as string[]) : [];
  if (raw.length > 1) throw new UsageError(`this benchmark takes one --precision, got ${raw.length}`, 'run it once per precision (eval speed takes several)');
  return raw[0] === undefined ? 'fp32' : parsePrecision(raw[0]);
}

function outDir(values: Values, benchmark: string, dataset: string): string {
  return stringOption(values, 'out') ?? path.join('turborank-eval', `${benchmark}-${dataset}`);
}

/** Informational notes go to stderr, unless --quiet. */
function notes(values: Values): (message: string) => void {
  return values.quiet === true ? () => {} : (message) => process.stderr.write(`turborank: ${message}\n`);
}

// ---- the second stage --------------------------------------------------------------------------

interface LoadedStage {
  readonly stage: SecondStage;
  readonly reranker: Reranker;
  stopInterruptHandling(): void;
}

async function loadStage(values: Values, model: string | undefined): Promise<LoadedStage | undefined> {
  if (model === undefined) return undefined;
  const precision = singlePrecision(values);
  const reranker = await Reranker.load(model, { threads: threadsOption(values), maxLength: intOption(values, 'max-length'), batchSize: intOption(values, 'batch-size'), precision });
  if (reranker.info.isTestModel) process.stderr.write('turborank: warning: this is the bundled random-weight TEST model: its numbers mean nothing about ranking quality\n');
  // int8 scores are another model's: their own label (result file) and score-cache key.
  const suffix = precision === 'int8' ? '-int8' : '';
  const label = stringOption(values, 'label') ?? modelLabel(model) + suffix;
  const controller = new AbortController();
  // First Ctrl-C: stop after the query being scored (its scores are saved); second: stop now.
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write('\nturborank: stopping after this query (Ctrl-C again to stop at once; saved scores are kept)\n');
  };
  process.on('SIGINT', onInterrupt);
  return {
    reranker,
    stage: {
      scorer: reranker, label, model: modelIdentity(model) + (precision === 'int8' ? ' (int8)' : ''), maxLength: reranker.info.maxLength,
      progress: progressBar(`reranking with ${label}`, { quiet: values.quiet === true }), signal: controller.signal,
    },
    stopInterruptHandling: () => process.off('SIGINT', onInterrupt),
  };
}

/** Runs an evaluation with its reranker, closing it after; an interruption exits 130. */
async function withStage<T>(loaded: LoadedStage | undefined, evaluate: (stage: SecondStage | undefined) => Promise<T>): Promise<T> {
  try {
    return await evaluate(loaded?.stage);
  } catch (err) {
    if (err instanceof InterruptedError) {
      process.stderr.write(`turborank: ${err.message}\n`);
      process.exit(130);
    }
    throw err;
  } finally {
    loaded?.stopInterruptHandling();
    await loaded?.reranker.close();
  }
}

// ---- beir ------------------------------------------------------------------------------------

async function runBeir(values: Values): Promise<void> {
  const dataDir = requiredPath(values, 'data', 'turborank eval beir --data path/to/scifact --model jinaai/jina-reranker-v1-turbo-en');
  const model = singleModel(values, 'beir');
  const out = outDir(values, 'beir', path.basename(path.resolve(dataDir)));
  const options = { dataDir, outDir: out, split: stringOption(values, 'split'), topK: intOption(values, 'top-k'), bm25: bm25Option(values), firstStageRun: stringOption(values, 'run'), log: notes(values) };
  const loaded = await loadStage(values, model);
  const result = await withStage(loaded, (reranker) => evaluateBeir({ ...options, reranker }));
  const label = loaded?.stage.label ?? 'bm25';
  const saved = saveResult(out, result.split === 'test' ? label : `${result.split}.${label}`, {
    turborankResult: 1, kind: 'beir', model: model ?? null, label, date: new Date().toISOString(),
    dataset: result.dataset, split: result.split, queries: result.queries, bm25: result.bm25.mean, reranked: result.reranked?.mean ?? null,
  });
  const perQuery = values['per-query'] === true;
  if (values.json === true) await writeStdout(JSON.stringify(beirJson(result, model, label, saved, perQuery)) + '\n');
  else await writeStdout(beirText(result, label, perQuery));
  notes(values)(beirSummary(result, label, saved));
}

function beirJson(r: BeirEvalResult, model: string | undefined, label: string, resultFile: string, perQuery: boolean): object {
  return {
    benchmark: 'beir', dataset: r.dataset, split: r.split, queries: r.queries, skipped: r.skipped.length, model: model ?? null, label,
    bm25: r.bm25.mean, ...(r.reranked ? { reranked: r.reranked.mean } : {}),
    bm25Parameters: r.bm25.parameters,
    runs: { bm25: r.bm25.runFile, ...(r.reranked ? { reranked: r.reranked.runFile } : {}) },
    timing: { bm25Seconds: r.bm25.seconds, bm25Reused: r.bm25.reused, ...(r.reranked ? { rerankSeconds: r.reranked.seconds, scoredPairs: r.reranked.scoredPairs, cachedPairs: r.reranked.cachedPairs } : {}) },
    result: resultFile,
    ...(perQuery ? { perQuery: joinPerQuery(r.bm25.perQuery, r.reranked?.perQuery) } : {}),
  };
}

function joinPerQuery(bm25: readonly QueryMetrics[], reranked: readonly QueryMetrics[] | undefined): object[] {
  const after = new Map(reranked?.map((m) => [m.queryId, m]));
  return bm25.map(({ queryId, ...m }) => {
    const r = after.get(queryId);
    return { queryId, bm25: m, ...(r ? { reranked: { 'ndcg@10': r['ndcg@10'], 'mrr@10': r['mrr@10'], 'recall@100': r['recall@100'] } } : {}) };
  });
}

const METRIC_NAMES = ['ndcg@10', 'mrr@10', 'recall@100'] as const;

/** Width of a table's first column: its longest row name, and room to breathe. */
function nameWidth(...names: string[]): number {
  return Math.max(28, ...names.map((n) => n.length + 2));
}

function beirText(r: BeirEvalResult, label: string, perQuery: boolean): string {
  const width = nameWidth(label);
  const row = (name: string, m: RetrievalMetrics): string => `${name.padEnd(width)}${METRIC_NAMES.map((k) => m[k].toFixed(4).padStart(12)).join('')}`;
  const lines = [
    `BEIR ${r.dataset}, ${r.split} split: ${r.queries} queries` + (r.skipped.length > 0 ? ` (${r.skipped.length} without a relevant document skipped)` : ''),
    `${''.padEnd(width)}${['NDCG@10', 'MRR@10', 'Recall@100'].map((h) => h.padStart(12)).join('')}`,
    row('BM25', r.bm25.mean),
    ...(r.reranked ? [row(label, r.reranked.mean)] : []),
  ];
  if (perQuery) {
    const after = new Map(r.reranked?.perQuery.map((m) => [m.queryId, m]));
    lines.push('', `per query (NDCG@10 MRR@10 Recall@100): BM25${r.reranked ? ` | ${label}` : ''}`);
    for (const m of r.bm25.perQuery) {
      const a = after.get(m.queryId);
      lines.push(`${m.queryId.padEnd(16)}${METRIC_NAMES.map((k) => m[k].toFixed(4).padStart(8)).join('')}${a ? ' |' + METRIC_NAMES.map((k) => a[k].toFixed(4).padStart(8)).join('') : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

function beirSummary(r: BeirEvalResult, label: string, resultFile: string): string {
  const after = r.reranked ? ` → ${r.reranked.mean['ndcg@10'].toFixed(4)} (${label})` : '';
  return `eval beir ${r.dataset}: NDCG@10 ${r.bm25.mean['ndcg@10'].toFixed(4)} (BM25)${after} over ${r.queries} queries; ${scoringSummary(r.reranked)}result saved in ${resultFile}`;
}

/** "N documents scored in T s (R documents/s), M from saved scores; ", or '' without a model. */
function scoringSummary(s: { scoredPairs: number; cachedPairs: number; seconds: number } | undefined): string {
  if (!s) return '';
  const rate = s.seconds > 0 ? ` (${(s.scoredPairs / s.seconds).toFixed(1)} documents/s)` : '';
  return `${s.scoredPairs} documents scored in ${s.seconds.toFixed(1)} s${rate}, ${s.cachedPairs} from saved scores; `;
}

// ---- rag -------------------------------------------------------------------------------------

async function runRag(values: Values): Promise<void> {
  const dataFile = requiredPath(values, 'data', 'turborank eval rag --data qa_dataset.json --model jinaai/jina-reranker-v1-turbo-en');
  const model = singleModel(values, 'rag');
  const topK = intOption(values, 'top-k') ?? 10;
  const topN = intOption(values, 'top-n') ?? 5;
  if (topN > topK) throw new UsageError(`--top-n (${topN}) cannot exceed --top-k (${topK}): the reranker keeps n of the k retrieved`);
  const out = outDir(values, 'rag', ragDatasetName(dataFile));
  const options = { dataFile, outDir: out, topK, topN, runFile: stringOption(values, 'run'), bm25: bm25Option(values), log: notes(values) };
  const loaded = await loadStage(values, model);
  const result = await withStage(loaded, (reranker) => evaluateRag({ ...options, reranker }));
  const label = loaded?.stage.label ?? 'bm25';
  const saved = saveResult(out, `${label}.k${topK}.n${topN}`, {
    turborankResult: 1, kind: 'rag', model: model ?? null, label, date: new Date().toISOString(), dataset: result.dataset,
    queries: result.queries, topK, topN, retriever: result.retriever, retrieved: result.retrieved, reranked: result.reranked ? { hitRate: result.reranked.hitRate, mrr: result.reranked.mrr } : null,
  });
  const perQuery = values['per-query'] === true;
  if (values.json === true) await writeStdout(JSON.stringify(ragJson(result, model, label, saved, perQuery)) + '\n');
  else await writeStdout(ragText(result, label, perQuery));
  const after = result.reranked ? ` → ${result.reranked.hitRate.toFixed(4)} / ${result.reranked.mrr.toFixed(4)} (${label})` : '';
  notes(values)(`eval rag ${result.dataset}: hit rate / MRR at ${topN} ${result.retrieved.hitRate.toFixed(4)} / ${result.retrieved.mrr.toFixed(4)} (retriever)${after} over ${result.queries} queries; ${scoringSummary(result.reranked)}result saved in ${saved}`);
}

function ragJson(r: RagEvalResult, model: string | undefined, label: string, resultFile: string, perQuery: boolean): object {
  return {
    benchmark: 'rag', dataset: r.dataset, queries: r.queries, skipped: r.skipped.length, topK: r.topK, topN: r.topN, model: model ?? null, label,
    retriever: r.retriever, retrieved: r.retrieved, candidatesHitRate: r.candidatesHitRate,
    ...(r.reranked ? { reranked: { hitRate: r.reranked.hitRate, mrr: r.reranked.mrr } } : {}),
    runs: { retriever: r.retrieverRun, ...(r.reranked ? { reranked: r.reranked.runFile } : {}) },
    ...(r.reranked ? { timing: { rerankSeconds: r.reranked.seconds, scoredPairs: r.reranked.scoredPairs, cachedPairs: r.reranked.cachedPairs } } : {}),
    result: resultFile,
    ...(perQuery ? { perQuery: r.perQuery } : {}),
  };
}

function ragText(r: RagEvalResult, label: string, perQuery: boolean): string {
  const rerankedName = `${label}, top ${r.topN} of ${r.topK}`;
  const width = nameWidth(rerankedName);
  const row = (name: string, m: { hitRate: number; mrr: number }): string => `${name.padEnd(width)}${m.hitRate.toFixed(4).padStart(10)}${m.mrr.toFixed(4).padStart(10)}`;
  const lines = [
    `RAG ${r.dataset}: ${r.queries} queries, top ${r.topK} retrieved (${r.retriever}), top ${r.topN} scored` + (r.skipped.length > 0 ? `; ${r.skipped.length} without a relevant chunk skipped` : ''),
    `${''.padEnd(width)}${'hit rate'.padStart(10)}${'MRR'.padStart(10)}`,
    row(`retriever, top ${r.topN}`, r.retrieved),
    ...(r.reranked ? [row(rerankedName, r.reranked)] : []),
    `hit rate of all ${r.topK} candidates (the most a reranker can reach): ${r.candidatesHitRate.toFixed(4)}`,
  ];
  if (perQuery) {
    lines.push('', `per query (hit rate, reciprocal rank): retriever${r.reranked ? ` | ${label}` : ''}`);
    for (const q of r.perQuery) {
      const cell = (m: { hitRate: number; mrr: number }): string => `${m.hitRate.toFixed(0).padStart(4)}${m.mrr.toFixed(4).padStart(8)}`;
      lines.push(`${q.queryId.padEnd(40)}${cell(q.retrieved)}${q.reranked ? ' |' + cell(q.reranked) : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

// ---- trec ------------------------------------------------------------------------------------

async function runTrec(values: Values): Promise<void> {
  const dataDir = stringOption(values, 'data');
  const candidates = stringOption(values, 'candidates');
  const qrels = stringOption(values, 'qrels');
  if (dataDir === undefined && (candidates === undefined || qrels === undefined)) {
    throw new UsageError('eval trec needs --data DIR (with bm25-top100.json and qrels.txt), or --candidates FILE and --qrels FILE',
      'e.g. `turborank eval trec --data path/to/dl19 --model jinaai/jina-reranker-v1-turbo-en`');
  }
  const files = dataDir === undefined ? undefined : trecDlFiles(dataDir);
  const candidatesFile = candidates ?? files!.candidates;
  const model = singleModel(values, 'trec');
  const out = outDir(values, 'trec', path.basename(path.dirname(path.resolve(candidatesFile))));
  const loaded = await loadStage(values, model);
  const result = await withStage(loaded, (reranker) => evaluateTrecDl({ candidatesFile, qrelsFile: qrels ?? files!.qrels, outDir: out, reranker }));
  const label = loaded?.stage.label ?? 'bm25';
  const saved = saveResult(out, label, {
    turborankResult: 1, kind: 'trec-dl', model: model ?? null, label, date: new Date().toISOString(), dataset: result.dataset,
    queries: result.queries, firstStage: { 'ndcg@10': result.firstStage['ndcg@10'] }, reranked: result.reranked ? { 'ndcg@10': result.reranked['ndcg@10'] } : null,
  });
  const perQuery = values['per-query'] === true;
  if (values.json === true) await writeStdout(JSON.stringify(trecJson(result, model, label, saved, perQuery)) + '\n');
  else await writeStdout(trecText(result, label, perQuery));
  const after = result.reranked ? ` → ${result.reranked['ndcg@10'].toFixed(4)} (${label})` : '';
  notes(values)(`eval trec ${result.dataset}: NDCG@10 ${result.firstStage['ndcg@10'].toFixed(4)} (candidates' order)${after} over ${result.queries} queries; ${scoringSummary(result.reranked)}result saved in ${saved}`);
}

function trecJson(r: TrecDlResult, model: string | undefined, label: string, resultFile: string, perQuery: boolean): object {
  const ndcg = (m: readonly QueryMetrics[]): object[] => m.map((q) => ({ queryId: q.queryId, 'ndcg@10': q['ndcg@10'] }));
  return {
    benchmark: 'trec-dl', dataset: r.dataset, queries: r.queries, skipped: r.skipped.length, model: model ?? null, label,
    firstStage: { 'ndcg@10': r.firstStage['ndcg@10'] },
    ...(r.reranked ? { reranked: { 'ndcg@10': r.reranked['ndcg@10'] }, runs: { reranked: r.reranked.runFile }, timing: { rerankSeconds: r.reranked.seconds, scoredPairs: r.reranked.scoredPairs, cachedPairs: r.reranked.cachedPairs } } : {}),
    result: resultFile,
    ...(perQuery ? { perQuery: { firstStage: ndcg(r.firstStage.perQuery), ...(r.reranked ? { reranked: ndcg(r.reranked.perQuery) } : {}) } } : {}),
  };
}

function trecText(r: TrecDlResult, label: string, perQuery: boolean): string {
  const lines = [
    `TREC DL ${r.dataset}: ${r.queries} judged queries` + (r.skipped.length > 0 ? ` (${r.skipped.length} without a relevant passage skipped)` : ''),
    `${'candidates (first stage)'.padEnd(nameWidth(label))}NDCG@10 ${r.firstStage['ndcg@10'].toFixed(4)}`,
    ...(r.reranked ? [`${label.padEnd(nameWidth(label))}NDCG@10 ${r.reranked['ndcg@10'].toFixed(4)}`] : []),
  ];
  if (perQuery) {
    const after = new Map(r.reranked?.perQuery.map((m) => [m.queryId, m['ndcg@10']]));
    lines.push('', `per query NDCG@10: first stage${r.reranked ? ` | ${label}` : ''}`);
    for (const m of r.firstStage.perQuery) {
      const a = after.get(m.queryId);
      lines.push(`${m.queryId.padEnd(12)}${m['ndcg@10'].toFixed(4).padStart(8)}${a === undefined ? '' : ` | ${a.toFixed(4)}`}`);
    }
  }
  return lines.join('\n') + '\n';
}

// ---- speed -----------------------------------------------------------------------------------

async function runSpeed(values: Values): Promise<void> {
  const names = models(values);
  const precisions = (Array.isArray(values.precision) ? (values.precision as string[]) : ['fp32']).map((p) => parsePrecision(p));
  const lengths = lengthsOption(values);
  const requests = intOption(values, 'requests') ?? 5;
  const out = stringOption(values, 'out') ?? path.join('turborank-eval', 'speed');
  if (names.length > 1 && stringOption(values, 'label') !== undefined) throw new UsageError('--label names one model: with several --model, leave it out');
  const combos = (names.length === 0 ? [undefined] : names).flatMap((model) => [...new Set(precisions)].map((precision) => ({ model, precision })));
  // Peak RSS is per process: several models in one process would each see the others' peak.
  const results: MeasuredSpeed[] = [];
  if (combos.length === 1) results.push(await measureOne(values, combos[0]!.model, combos[0]!.precision, lengths, requests, out));
  else for (const combo of combos) results.push(await measureInChild(values, combo.model, combo.precision));
  if (values.json === true) await writeStdout(JSON.stringify(results.length === 1 ? results[0] : results) + '\n');
  else await writeStdout(results.map(speedText).join('\n'));
  for (const r of results) notes(values)(`eval speed ${r.label}: ${r.mix.docsPer50ms.toFixed(2)} documents per 50 ms on the mix, ${r.mix.latencyMs.toFixed(0)} ms per 100-document request; result saved in ${r.result}`);
}

function lengthsOption(values: Values): number[] {
  const raw = stringOption(values, 'lengths');
  if (raw === undefined) return [];
  return raw.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 8 || n > 8192) throw new UsageError(`--lengths takes token counts from 8 to 8192 separated by commas, got '${raw}'`);
    return n;
  });
}

type MeasuredSpeed = RerankSpeedResult & { readonly label: string; readonly result: string };

async function measureOne(values: Values, model: string | undefined, precision: Precision, lengths: number[], requests: number, out: string): Promise<MeasuredSpeed> {
  const texts = await speedTexts(stringOption(values, 'data'));
  const result = await measureRerankSpeed({ model, threads: threadsOption(values), batchSize: intOption(values, 'batch-size'), precision, lengths, requests, texts });
  const label = stringOption(values, 'label') ?? modelLabel(result.model);
  const saved: SpeedSaved = { ...result, turborankResult: 1, kind: 'speed', label };
  const file = saveResult(out, `speed.${label}.${result.precision}`, saved);
  return { ...result, label, result: file };
}

async function speedTexts(dataDir: string | undefined): Promise<SpeedTexts> {
  if (dataDir === undefined) return syntheticTexts();
  const dataset = await loadBeir(dataDir);
  return { source: `${dataset.name} corpus (title + text) and queries`, queries: [...dataset.queries.values()], documents: dataset.corpus.map(documentText) };
}

/** Runs `turborank eval speed` for one model in a fresh process and reads its --json. */
function measureInChild(values: Values, model: string | undefined, precision: Precision): Promise<MeasuredSpeed> {
  const args = [process.argv[1]!, 'eval', 'speed', ...(model === undefined ? [] : ['--model', model]), '--precision', precision, '--json', '--quiet'];
  for (const name of ['data', 'out', 'lengths', 'requests', 'batch-size', 'threads']) {
    const v = stringOption(values, name);
    if (v !== undefined) args.push(`--${name}`, v);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new UsageError(`measuring ${model ?? 'the default model'} (${precision}) failed (exit ${code}): see the message above`));
      else resolve(JSON.parse(stdout) as MeasuredSpeed);
    });
  });
}

function speedText(r: MeasuredSpeed): string {
  const row = (w: RerankSpeedResult['mix']): string =>
    `${w.workload.padEnd(12)} ${w.docsPerSecond.toFixed(1).padStart(9)} docs/s = ${w.docsPer50ms.toFixed(2).padStart(7)} per 50 ms; ${w.documents / w.requests}-document request ${w.latencyMs.toFixed(1)} ms (median of ${w.requests})`;
  return [
    `model        ${r.label} (${r.precision}), ${(r.modelBytes / 2 ** 20).toFixed(1)} MiB on disk, loaded in ${r.loadSeconds.toFixed(1)} s`,
    `text         ${r.textSource}`,
    row(r.mix),
    ...r.lengths.map(row),
    `peak RSS     ${r.peakRssMiB.toFixed(0)} MiB`,
    `machine      ${r.machine}${r.threads === null ? '' : `, ${r.threads} threads`}`,
  ].join('\n') + '\n';
}
