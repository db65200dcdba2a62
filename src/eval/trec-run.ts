/**
 * TREC files: run files (`qid Q0 docid rank score tag`, what trec_eval and Pyserini read and
 * write) and qrels (`qid 0 docid grade`). Runs are written to a temporary file and renamed,
 * so an interrupted write never leaves a half run that a later command would reuse.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileError, InputError } from '../errors.js';
import { checkFile, readLines } from './files.js';
import { addQrel, trecOrder, type Qrels, type Run, type RunEntry } from './metrics.js';

export interface TrecRun {
  readonly run: Run;
  /** The tag column of the first line ('' for an empty run): says what made the run. */
  readonly tag: string;
}

/** Writes a run in trec_eval's order, with scores that read back exactly. */
export function writeTrecRun(file: string, run: Run, tag: string): void {
  if (/\s/.test(tag) || tag === '') throw new InputError(`a TREC run tag must be one word, got ${JSON.stringify(tag)}`);
  const lines: string[] = [];
  for (const [queryId, entries] of run) {
    trecOrder(entries).forEach((e, i) => lines.push(`${queryId} Q0 ${e.docId} ${i + 1} ${e.score} ${tag}`));
  }
  writeAtomically(file, lines.length === 0 ? '' : lines.join('\n') + '\n');
}

export function writeAtomically(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, content);
    fs.renameSync(temporary, file);
  } catch (err) {
    fs.rmSync(temporary, { force: true });
    throw new FileError(file, `cannot write: ${(err as Error).message}`, 'check that the folder is writable (or pass --out elsewhere)', { cause: err });
  }
}

/** Reads a TREC run file; the same document twice for a query is an error, as in trec_eval. */
export async function readTrecRun(file: string): Promise<TrecRun> {
  checkFile(file, 'TREC run file');
  const run = new Map<string, RunEntry[]>();
  const seen = new Map<string, Set<string>>();
  let tag: string | undefined;
  for await (const { line, number } of readLines(file)) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    const score = Number(fields[4]);
    if (fields.length !== 6 || !Number.isFinite(score)) {
      throw new InputError(`${file} line ${number}: expected "query-id Q0 doc-id rank score tag" (6 fields, a numeric score), got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const [queryId, , docId] = fields as [string, string, string];
    tag ??= fields[5]!;
    let docs = seen.get(queryId);
    if (!docs) seen.set(queryId, (docs = new Set()));
    if (docs.has(docId)) throw new InputError(`${file} line ${number}: document ${docId} appears twice for query ${queryId}`);
    docs.add(docId);
    let entries = run.get(queryId);
    if (!entries) run.set(queryId, (entries = []));
    entries.push({ docId, score });
  }
  return { run, tag: tag ?? '' };
}

/** TREC qrels: `query-id iteration doc-id grade`, whitespace-separated (TREC DL's qrels.txt). */
export async function readTrecQrels(file: string): Promise<Qrels> {
  checkFile(file, 'TREC qrels file');
  const qrels = new Map<string, Map<string, number>>();
  for await (const { line, number } of readLines(file)) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 4 || !/^-?\d+$/.test(fields[3]!)) {
      throw new InputError(`${file} line ${number}: expected "query-id 0 doc-id grade" (4 fields, an integer grade), got ${JSON.stringify(line.slice(0, 80))}`);
    }
    addQrel(qrels, fields[0]!, fields[2]!, Number(fields[3]));
  }
  if (qrels.size === 0) throw new InputError(`${file}: no qrels`);
  return qrels;
}

/** Keeps each query's best `k` entries (trec_eval's order). */
export function truncateRun(run: Run, k: number): Map<string, RunEntry[]> {
  const out = new Map<string, RunEntry[]>();
  for (const [queryId, entries] of run) out.set(queryId, trecOrder(entries).slice(0, k));
  return out;
}
