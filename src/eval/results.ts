/**
 * Saved results: every `turborank eval` run leaves one JSON file (`result.<label>.json` in its
 * output folder) with the numbers a report needs, so `turborank report` can gather runs made
 * at different times, on different datasets and models, without recomputing anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';
import type { RerankSpeedResult } from '../bench/rerank-speed.js';
import type { RetrievalMetrics } from './metrics.js';
import type { RagMetrics } from './rag.js';
import { writeAtomically } from './trec-run.js';

interface ResultBase {
  readonly turborankResult: 1;
  /** The model as named (null: first stage only). */
  readonly model: string | null;
  /** Short model name used in files, tables and charts. */
  readonly label: string;
  readonly date: string;
}

export interface BeirSaved extends ResultBase {
  readonly kind: 'beir';
  readonly dataset: string;
  readonly split: string;
  readonly queries: number;
  readonly bm25: RetrievalMetrics;
  readonly reranked: RetrievalMetrics | null;
}

export interface RagSaved extends ResultBase {
  readonly kind: 'rag';
  readonly dataset: string;
  readonly queries: number;
  readonly topK: number;
  readonly topN: number;
  readonly retriever: string;
  readonly retrieved: RagMetrics;
  readonly reranked: RagMetrics | null;
}

export interface TrecDlSaved extends ResultBase {
  readonly kind: 'trec-dl';
  readonly dataset: string;
  readonly queries: number;
  readonly firstStage: { readonly 'ndcg@10': number };
  readonly reranked: { readonly 'ndcg@10': number } | null;
}

export interface SpeedSaved extends Omit<ResultBase, 'model'>, RerankSpeedResult {
  readonly kind: 'speed';
}

export type SavedResult = BeirSaved | RagSaved | TrecDlSaved | SpeedSaved;

const KINDS: ReadonlySet<string> = new Set(['beir', 'rag', 'trec-dl', 'speed']);

/** `<outDir>/result.<name>.json`: the name says which run (model label, split, precision). */
export function saveResult(outDir: string, name: string, result: SavedResult): string {
  const file = path.join(outDir, `result.${name}.json`);
  writeAtomically(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** Every `result.*.json` under the given folders (recursively), oldest first. */
export function loadResults(dirs: readonly string[]): { file: string; result: SavedResult }[] {
  const found: { file: string; result: SavedResult }[] = [];
  for (const dir of dirs) {
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (!stat) throw new FileError(dir, 'no such folder', 'pass the --out folder(s) of your `turborank eval` runs');
    const files = stat.isDirectory() ? findResultFiles(dir) : [dir];
    for (const file of files) found.push({ file, result: parseResult(file) });
  }
  return found.sort((a, b) => a.result.date.localeCompare(b.result.date));
}

function findResultFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /^result\..+\.json$/.test(path.basename(f)))
    .map((f) => path.join(dir, f))
    .sort();
}

function parseResult(file: string): SavedResult {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FileError(file, `is not valid JSON (${(err as Error).message})`, 'delete it, or run its `turborank eval` again', { cause: err });
  }
  const v = value as Partial<SavedResult> | null;
  if (v?.turborankResult !== 1 || typeof v.kind !== 'string' || !KINDS.has(v.kind) || typeof v.label !== 'string' || typeof v.date !== 'string') {
    throw new FileError(file, 'is not a turborank result file', 'report reads the result.*.json files that `turborank eval` writes');
  }
  return v as SavedResult;
}
