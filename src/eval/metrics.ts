/**
 * Ranking metrics as trec_eval (and so pytrec_eval, BEIR) and LlamaIndex define them.
 *
 * A run gives each query a set of scored documents; it is ranked the way trec_eval ranks it:
 * by score, descending, ties broken by document id, descending (trec_eval ignores the rank
 * column). Qrels grade documents; a grade ≥ 1 is relevant, a missing document has grade 0.
 */

/** Relevance grades per query: query id → document id → grade. */
export type Qrels = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Scored documents per query, in any order. */
export type Run = ReadonlyMap<string, readonly RunEntry[]>;

export interface RunEntry {
  readonly docId: string;
  readonly score: number;
}

/** Entries best first, in trec_eval's order. */
export function trecOrder(entries: readonly RunEntry[]): RunEntry[] {
  return [...entries].sort((a, b) => b.score - a.score || (a.docId < b.docId ? 1 : a.docId > b.docId ? -1 : 0));
}

/** Document ids, best first, in trec_eval's order. */
export function rankEntries(entries: readonly RunEntry[]): string[] {
  return trecOrder(entries).map((e) => e.docId);
}

/** Adds one judgement to qrels being built. */
export function addQrel(qrels: Map<string, Map<string, number>>, queryId: string, docId: string, grade: number): void {
  let grades = qrels.get(queryId);
  if (!grades) qrels.set(queryId, (grades = new Map()));
  grades.set(docId, grade);
}

/**
 * NDCG@k, trec_eval's ndcg_cut: gain = grade (not 2^grade − 1), discount log2(rank + 1), and
 * the ideal ranking is all judged documents of the query sorted by grade, also cut at k.
 * 0 when the query has no relevant document.
 */
export function ndcgAtK(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((docId, i) => {
    dcg += gain(grades.get(docId)) / Math.log2(i + 2);
  });
  const ideal = [...grades.values()].map(gain).filter((g) => g > 0).sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}

/** Reciprocal rank of the first relevant document in the top k (BEIR's MRR@k), else 0. */
export function reciprocalRankAtK(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): number {
  const first = ranked.slice(0, k).findIndex((docId) => isRelevant(grades.get(docId)));
  return first < 0 ? 0 : 1 / (first + 1);
}

/** Share of the query's relevant documents found in the top k (trec_eval's recall.k). */
export function recallAtK(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): number {
  const relevant = countRelevant(grades);
  if (relevant === 0) return 0;
  return ranked.slice(0, k).filter((docId) => isRelevant(grades.get(docId))).length / relevant;
}

/** LlamaIndex's HitRate: 1 if any expected id was retrieved, else 0. */
export function hitRate(retrieved: readonly string[], expected: ReadonlySet<string>): number {
  return retrieved.some((id) => expected.has(id)) ? 1 : 0;
}

/** LlamaIndex's MRR: 1 / (position of the first expected id in the retrieved list), else 0. */
export function llamaIndexMrr(retrieved: readonly string[], expected: ReadonlySet<string>): number {
  const first = retrieved.findIndex((id) => expected.has(id));
  return first < 0 ? 0 : 1 / (first + 1);
}

export function isRelevant(grade: number | undefined): boolean {
  return grade !== undefined && grade >= 1;
}

export function countRelevant(grades: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const grade of grades.values()) if (isRelevant(grade)) n++;
  return n;
}

function gain(grade: number | undefined): number {
  return grade !== undefined && grade > 0 ? grade : 0;
}

/** The three numbers reported for BEIR (and NDCG@10 for TREC DL), as fractions. */
export interface RetrievalMetrics {
  readonly 'ndcg@10': number;
  readonly 'mrr@10': number;
  readonly 'recall@100': number;
}

export interface QueryMetrics extends RetrievalMetrics {
  readonly queryId: string;
}

export interface RunEvaluation {
  /** Means over the evaluated queries. */
  readonly mean: RetrievalMetrics;
  readonly perQuery: readonly QueryMetrics[];
  /** Queries in the qrels left out because no document has a grade ≥ 1 (as BEIR leaves them out). */
  readonly skipped: readonly string[];
}

/**
 * Evaluates a run against qrels over every query of the qrels that has a relevant document.
 * A query with no documents in the run scores 0 on every metric: trec_eval's `-c`, as
 * Pyserini runs it for its BEIR numbers (without it, such a query would silently not count).
 */
export function evaluateRun(run: Run, qrels: Qrels): RunEvaluation {
  const perQuery: QueryMetrics[] = [];
  const skipped: string[] = [];
  for (const [queryId, grades] of qrels) {
    if (countRelevant(grades) === 0) {
      skipped.push(queryId);
      continue;
    }
    const ranked = rankEntries(run.get(queryId) ?? []);
    perQuery.push({
      queryId,
      'ndcg@10': ndcgAtK(ranked, grades, 10),
      'mrr@10': reciprocalRankAtK(ranked, grades, 10),
      'recall@100': recallAtK(ranked, grades, 100),
    });
  }
  return { mean: meanMetrics(perQuery), perQuery, skipped };
}

export function meanMetrics(perQuery: readonly RetrievalMetrics[]): RetrievalMetrics {
  const mean = (pick: (m: RetrievalMetrics) => number): number =>
    perQuery.length === 0 ? 0 : perQuery.reduce((sum, m) => sum + pick(m), 0) / perQuery.length;
  return { 'ndcg@10': mean((m) => m['ndcg@10']), 'mrr@10': mean((m) => m['mrr@10']), 'recall@100': mean((m) => m['recall@100']) };
}
