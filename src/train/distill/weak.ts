/**
 * BM25 as a weak teacher for the teacher (Dehghani et al. 2017, "Neural Ranking Models with
 * Weak Supervision"): Margin-MSE pairs from the data build's query sets, whose targets are
 * BM25's own scores of the two candidates. No judgement is needed, so every query of
 * queries.jsonl serves, labelled or not. For each query, `pairs_per_query` times: one of
 * BM25's top `top` candidates against one ranked below it (by BM25), with both BM25 scores, in
 * the `margin-mse` loss's format.
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

interface Candidate {
  readonly id: string;
  readonly bm25: number;
}

/** The pairs as JSONL text, and how many queries gave them. */
export async function bm25MarginPairs(queriesFile: string, documentsFile: string, o: WeakPairsOptions): Promise<{ jsonl: string; queries: number; pairs: number }> {
  const queries: { query: string; candidates: Candidate[] }[] = [];
  for await (const line of readline.createInterface({ input: fs.createReadStream(queriesFile), crlfDelay: Infinity })) {
    if (line === '') continue;
    const q = JSON.parse(line) as { query?: unknown; candidates?: unknown };
    const candidates = Array.isArray(q.candidates) ? (q.candidates as Partial<Candidate>[]) : [];
    if (typeof q.query !== 'string' || candidates.some((c) => typeof c.id !== 'string' || typeof c.bm25 !== 'number')) {
      throw new InputError(`${queriesFile}: a query without its text or without BM25 scores on its candidates`, 'build the query sets again with `turborank data queries`');
    }
    // BM25's own order (highest first), whatever order the file keeps
    queries.push({ query: q.query, candidates: [...(candidates as Candidate[])].sort((a, b) => b.bm25 - a.bm25) });
  }
  const documents = await readTexts(documentsFile, 'text', new Set(queries.flatMap((q) => q.candidates.map((c) => c.id))));
  const random = seededRandom(o.seed);
  const lines: string[] = [];
  let used = 0;
  for (const { query, candidates } of queries) {
    const known = candidates.filter((c) => documents.has(c.id));
    if (known.length < 2) continue;
    const before = lines.length;
    for (let k = 0; k < o.pairsPerQuery; k++) {
      const i = Math.floor(random() * Math.min(o.top, known.length - 1));
      const j = i + 1 + Math.floor(random() * (known.length - i - 1));
      const [a, b] = [known[i]!, known[j]!];
      if (a.bm25 <= b.bm25) continue; // a tie teaches no margin
      lines.push(JSON.stringify({ query, positive: documents.get(a.id), negative: documents.get(b.id), teacher_positive: a.bm25, teacher_negative: b.bm25 }) + '\n');
    }
    if (lines.length > before) used++;
  }
  if (lines.length === 0) throw new InputError(`${queriesFile}: no query has two candidates with different BM25 scores`, 'build the query sets with more candidates (queries.candidates)');
  return { jsonl: lines.join(''), queries: used, pairs: lines.length };
}
