/**
 * Relevance pairs regrouped into lists for listwise fine-tuning of the teacher (localized
 * contrastive estimation, Gao, Dai and Callan 2021, "Rethink Training of BERT Rerankers in
 * Multi-Stage Retrieval Pipeline"): each positive of a query with `listSize` − 1 of that
 * query's negatives, in the `listwise-ce` loss's format. The target puts all of the softmax
 * on the positive (its logit POSITIVE_TARGET above the negatives' 0: the rest get under 1e-8
 * each), so the loss is the cross-entropy of the positive against its hard negatives, where
 * `bce` scores each pair on its own.
 */
import { InputError } from '../../errors.js';
import { readJsonLines } from '../../eval/files.js';

/** The positive's target logit; the negatives' is 0. */
export const POSITIVE_TARGET = 20;

/** The lists as JSONL text, and what went into them. */
export interface RelevanceLists {
  readonly jsonl: string;
  readonly lists: number;
  /** Queries (source, id and text) in the pairs file. */
  readonly queries: number;
  /** Positives left out because their query has fewer than listSize − 1 negatives. */
  readonly skipped: number;
}

interface PairLine {
  readonly query: string;
  readonly document: string;
  readonly label: number;
}

/**
 * Groups a `turborank data` pairs file by query (source, query_id and text) and writes, for each
 * positive, one list: the positive first, then the query's first `listSize` − 1 negatives in
 * file order (the pipeline writes BM25's hard negatives before the random ones).
 */
export async function relevanceLists(pairsFile: string, listSize: number): Promise<RelevanceLists> {
  if (!Number.isInteger(listSize) || listSize < 2) throw new InputError(`list_size ${listSize}: a list needs a positive and at least one negative`, 'set teacher.listwise.list_size to 2 or more');
  const byQuery = new Map<string, { query: string; positives: string[]; negatives: string[] }>();
  for await (const { value, number } of readJsonLines(pairsFile)) {
    const row = value as Partial<PairLine> & { source?: unknown; query_id?: unknown };
    if (typeof row.query !== 'string' || typeof row.document !== 'string' || (row.label !== 0 && row.label !== 1)) {
      throw new InputError(`${pairsFile} line ${number}: a pair needs "query", "document" and a 0/1 "label"`, 'build the pairs again with `turborank data pairs`');
    }
    const key = JSON.stringify([row.source ?? null, row.query_id ?? null, row.query]);
    let group = byQuery.get(key);
    if (group === undefined) {
      group = { query: row.query, positives: [], negatives: [] };
      byQuery.set(key, group);
    }
    (row.label === 1 ? group.positives : group.negatives).push(row.document);
  }
  const lines: string[] = [];
  let skipped = 0;
  const target = [POSITIVE_TARGET, ...new Array<number>(listSize - 1).fill(0)];
  for (const group of byQuery.values()) {
    for (const positive of group.positives) {
      if (group.negatives.length < listSize - 1) {
        skipped++;
        continue;
      }
      lines.push(JSON.stringify({ query: group.query, documents: [positive, ...group.negatives.slice(0, listSize - 1)], teacher: target }));
    }
  }
  if (lines.length === 0) {
    throw new InputError(`${pairsFile}: no query has ${listSize - 1} negatives for a list of ${listSize}`,
      'lower teacher.listwise.list_size, or build the pairs with more negatives (pairs.negatives and pairs.random_negatives in the pipeline config)');
  }
  return { jsonl: `${lines.join('\n')}\n`, lists: lines.length, queries: byQuery.size, skipped };
}
