/**
 * What `jobs submit` reads: JSON Lines of {"query","document"} (as `score` does), or candidate
 * lists to rerank: TREC DL's JSON (`eval trec`'s input) or a BEIR folder with a first-stage run
 * file (`eval beir`'s layout). Candidate lists become pairs, in query order and each query's
 * candidate order, with their ids kept so that `collect` also writes a reranked TREC run.
 */
import fs from 'node:fs';
import { InputError, UsageError } from '../errors.js';
import { documentText, loadBeir } from '../eval/beir.js';
import { loadTrecDlCandidates } from '../eval/trec-dl.js';
import { readTrecRun, truncateRun } from '../eval/trec-run.js';
import type { CandidateIds, InputFormat } from '../jobs/index.js';
import { readLines } from './input.js';

export interface JobInput {
  readonly lines: AsyncIterable<[number, string]>;
  /** How messages name the input's lines. */
  readonly source: string;
  readonly format: InputFormat;
  readonly candidateIds?: readonly CandidateIds[];
}

export interface CandidateOptions {
  /** BEIR: the first-stage run to rerank, its depth per query, and the qrels split whose queries count. */
  readonly run: string | undefined;
  readonly topK: number | undefined;
  readonly split: string;
}

export function parseInputFormat(raw: string | undefined, input: string): InputFormat {
  if (raw === undefined) return input !== '-' && fs.existsSync(input) && fs.statSync(input).isDirectory() ? 'beir' : 'pairs';
  if (raw === 'pairs' || raw === 'trec-dl' || raw === 'beir') return raw;
  throw new UsageError(`--format must be pairs, trec-dl or beir, got '${raw}'`);
}

export async function readJobInput(input: string, format: InputFormat, options: CandidateOptions): Promise<JobInput> {
  if (format === 'pairs') {
    if (options.run !== undefined) throw new UsageError('--run is for --format beir (a BEIR folder and the run to rerank)');
    return { lines: readLines(input), source: input === '-' ? 'stdin' : input, format };
  }
  if (input === '-') throw new UsageError(`--format ${format} reads a file or folder, not stdin`);
  const pairs = format === 'trec-dl' ? trecDlPairs(input) : await beirPairs(input, options);
  async function* lines(): AsyncGenerator<[number, string]> {
    for (let i = 0; i < pairs.lines.length; i++) yield [i, pairs.lines[i]!];
  }
  return { lines: lines(), source: `${input} (as pairs)`, format, candidateIds: pairs.ids };
}

interface CandidatePairs {
  readonly lines: string[];
  readonly ids: CandidateIds[];
}

function trecDlPairs(file: string): CandidatePairs {
  const candidates = loadTrecDlCandidates(file);
  const out: CandidatePairs = { lines: [], ids: [] };
  for (const [queryId, hits] of candidates.hits) {
    const query = candidates.queries.get(queryId)!;
    for (const hit of hits) {
      out.lines.push(JSON.stringify({ query, document: hit.text }));
      out.ids.push([queryId, hit.docId]);
    }
  }
  return out;
}

async function beirPairs(dir: string, options: CandidateOptions): Promise<CandidatePairs> {
  if (options.run === undefined) throw new UsageError('--format beir needs --run FILE: the first-stage TREC run whose candidates to rerank', 'e.g. the run `turborank eval beir` writes');
  const dataset = await loadBeir(dir, options.split);
  const { run } = await readTrecRun(options.run);
  const out: CandidatePairs = { lines: [], ids: [] };
  for (const [queryId, entries] of truncateRun(run, options.topK ?? Number.MAX_SAFE_INTEGER)) {
    const query = dataset.queries.get(queryId);
    if (query === undefined) {
      throw new InputError(`${options.run}: query ${queryId} has no qrels in ${dir}'s ${options.split} split`, 'pass the run of that split, or --split for the split the run was made for');
    }
    for (const { docId } of entries) {
      const document = dataset.documents.get(docId);
      if (document === undefined) throw new InputError(`${options.run}: document ${docId} (query ${queryId}) is not in ${dir}/corpus.jsonl`, 'the run and the corpus come from different datasets');
      out.lines.push(JSON.stringify({ query, document: documentText(document) }));
      out.ids.push([queryId, docId]);
    }
  }
  return out;
}
