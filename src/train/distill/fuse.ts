/**
 * Self-distillation towards the fusion of the teacher and BM25: for each labelled query, the
 * teacher's logits and BM25's scores over the same candidates are turned into per-query
 * z-scores and averaged (weight `bm25Weight` on BM25's); the result, put back on the
 * teacher's own scale (its mean and spread for that query), is the target of Margin-MSE
 * pairs the teacher is then trained on. Fused at equal weights, the two rank better than
 * either (docs/DISTILL.md), so the teacher learns from a ranking better than its own; the
 * fused teacher is what labels and what the students are cut from.
 */
import path from 'node:path';
import { InputError } from '../../errors.js';
import { checkLabelsMatchQueries, readLabels } from './label.js';
import { marginPairs, readBm25Lists, type MarginPairs, type ScoredList, type WeakPairsOptions } from './weak.js';

/** Mean and population standard deviation. */
function moments(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(variance) };
}

/**
 * One query's fused scores: mean_t + std_t · ((1 − w)·z_teacher + w·z_bm25), where z is a
 * score's distance from its list's mean in standard deviations (0 for a list whose scores are
 * all equal). w = 0 gives back the teacher's logits; w = 1 BM25's order on the teacher's scale.
 */
export function fusedScores(teacher: readonly number[], bm25: readonly number[], bm25Weight: number): number[] {
  if (teacher.length !== bm25.length) throw new RangeError(`fusedScores: ${teacher.length} teacher scores against ${bm25.length} BM25 scores`);
  if (teacher.length === 0) return [];
  const t = moments(teacher);
  const b = moments(bm25);
  const z = (x: number, m: { mean: number; std: number }): number => (m.std > 0 ? (x - m.mean) / m.std : 0);
  return teacher.map((x, i) => t.mean + t.std * ((1 - bm25Weight) * z(x, t) + bm25Weight * z(bm25[i]!, b)));
}

export interface FusionPairsOptions extends WeakPairsOptions {
  readonly bm25Weight: number;
}

/** Margin-MSE pairs on the fused scores of every labelled query (labels.jsonl against queries.jsonl's BM25 scores). */
export async function fusionMarginPairs(labelsFile: string, queriesFile: string, documentsFile: string, o: FusionPairsOptions): Promise<MarginPairs> {
  checkLabelsMatchQueries(path.dirname(labelsFile), queriesFile);
  const bm25 = await readBm25Lists(queriesFile);
  const lists: ScoredList[] = [];
  for (const label of readLabels(labelsFile)) {
    const q = bm25.get(label.query_id);
    if (q === undefined) throw new InputError(`${labelsFile}: query ${label.query_id} is not in ${queriesFile}`, 'the labels come from another data build: delete the fusion labels folder and run the stage again');
    const byId = new Map(q.candidates.map((c) => [c.id, c.score]));
    const scores = label.doc_ids.map((id) => {
      const s = byId.get(id);
      if (s === undefined) throw new InputError(`${labelsFile}: query ${label.query_id} labels ${id}, which is not among its BM25 candidates in ${queriesFile}`, 'the labels come from another data build: delete the fusion labels folder and run the stage again');
      return s;
    });
    const fused = fusedScores(label.logits, scores, o.bm25Weight);
    lists.push({ query: q.query, candidates: label.doc_ids.map((id, i) => ({ id, score: fused[i]! })) });
  }
  return marginPairs(lists, documentsFile, o, labelsFile);
}
