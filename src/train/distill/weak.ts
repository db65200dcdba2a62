/**
 * BM25 as a weak teacher for the teacher (Dehghani et al. 2017, "Neural Ranking Models with
 * Weak Supervision"): Margin-MSE pairs from the data build's query sets, whose targets are
 * BM25's own scores of the two candidates. No judgement is needed, so every query of
 * queries.jsonl serves, labelled or not. The pair sampling (`marginPairs`) also serves the
 * fusion stage (fuse.ts), with the fused scores in place of BM25's.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { InputError } from '../../errors.js';
import { seededRandom } from '../data.js';
import { readTexts } from './students.js';

export interface WeakPairsOptions {
  readonly pairsPerQuery: number;
  readonly top: number;
  readonly seed: number;
}

/** A candidate with the score a margin target is taken from. */
export interface ScoredCandidate {
  readonly id: string;
  readonly score: number;
}

/** One query's candidates with their scores, in any order. */
export interface ScoredList {
  readonly query: string;
  readonly candidates: readonly ScoredCandidate[];
}

/** The pairs as JSONL text, how many queries gave them and how many pairs there are. */
export interface MarginPairs {
  readonly jsonl: string;
  readonly queries: number;
  readonly pairs: number;
}

/** Each query of queries.jsonl with its candidates' BM25 scores, by query id. */
export async function readBm25Lists(queriesFile: string): Promise<Map<string, ScoredList>> {
  const out = new Map<string, ScoredList>();
  for await (const line of readline.createInterface({ input: fs.createReadStream(queriesFile), crlfDelay: Infinity })) {
    if (line === '') continue;
    const q = JSON.parse(line) as { id?: unknown; query?: unknown; candidates?: unknown };
    const candidates = Array.isArray(q.candidates) ? (q.candidates as { id?: unknown; bm25?: unknown }[]) : [];
    if (typeof q.id !== 'string' || typeof q.query !== 'string' || candidates.some((c) => typeof c.id !== 'string' || typeof c.bm25 !== 'number')) {
      throw new InputError(`${queriesFile}: a query without its id or text, or without BM25 scores on its candidates`, 'build the query sets again with `turborank data queries`');
    }
    out.set(q.id, { query: q.query, candidates: candidates.map((c) => ({ id: c.id as string, score: c.bm25 as number })) });
  }
  return out;
}

/**
 * Margin-MSE pairs in the `margin-mse` loss's format: for each list, `pairsPerQuery` times,
 * one of its `top` best-scored candidates against one scored below it, with both scores as the
 * teacher's. Candidates missing from `documentsFile` are left out; ties teach no margin.
 */
export async function marginPairs(lists: Iterable<ScoredList>, documentsFile: string, o: WeakPairsOptions, source: string): Promise<MarginPairs> {
  const sorted = [...lists].map((l) => ({ query: l.query, candidates: [...l.candidates].sort((a, b) => b.score - a.score) }));
  const documents = await readTexts(documentsFile, 'text', new Set(sorted.flatMap((q) => q.candidates.map((c) => c.id))));
  const random = seededRandom(o.seed);
  const lines: string[] = [];
  let used = 0;
  for (const { query, candidates } of sorted) {
    const known = candidates.filter((c) => documents.has(c.id));
    if (known.length < 2) continue;
    const before = lines.length;
    for (let k = 0; k < o.pairsPerQuery; k++) {
      const i = Math.floor(random() * Math.min(o.top, known.length - 1));
      const j = i + 1 + Math.floor(random() * (known.length - i - 1));
      const [a, b] = [known[i]!, known[j]!];
      if (a.score <= b.score) continue;
      lines.push(JSON.stringify({ query, positive: documents.get(a.id), negative: documents.get(b.id), teacher_positive: a.score, teacher_negative: b.score }) + '\n');
    }
    if (lines.length > before) used++;
  }
  if (lines.length === 0) throw new InputError(`${source}: no query has two candidates with different scores`, 'build the query sets with more candidates (queries.candidates)');
  return { jsonl: lines.join(''), queries: used, pairs: lines.length };
}

/** BM25's margins between the candidates of every query of queries.jsonl, labelled or not. */
export async function bm25MarginPairs(queriesFile: string, documentsFile: string, o: WeakPairsOptions): Promise<MarginPairs> {
  return marginPairs((await readBm25Lists(queriesFile)).values(), documentsFile, o, queriesFile);
}
