/**
 * Query sets for the teacher to label: per task, queries with their BM25 candidate lists
 * (the top `candidates` documents), unlabelled tasks included. Queries are taken from the
 * end of each task's seeded order, so they differ from the queries the pairs step took from
 * its start whenever the task has enough of them. Documents are stored once, by id:
 *
 *   queries.jsonl    {"id", "source", "kind", "query", "positives": [doc ids], "candidates": [{"id", "bm25"}]}
 *   documents.jsonl  {"id", "text"}          ids are "<source>/<document id>"
 */
import path from 'node:path';
import { Bm25Index } from '../eval/bm25.js';
import type { DataConfig } from './config.js';
import { JsonlWriter, type StepResult } from './output.js';
import type { RetrievalTask } from './tasks.js';

export function buildQuerySets(config: DataConfig, tasks: readonly RetrievalTask[], log: (line: string) => void): StepResult {
  const dir = path.join(config.output, 'queries');
  const queriesOut = new JsonlWriter(path.join(dir, 'queries.jsonl'), config.output);
  const documentsOut = new JsonlWriter(path.join(dir, 'documents.jsonl'), config.output);
  const bySource: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  let sharedWithPairs = 0;
  const { per_source: perSource, candidates: k } = config.queries;
  for (const task of tasks) {
    if (task.pairsOnly) continue;
    const started = Date.now();
    const index = Bm25Index.build(task.documents);
    const text = new Map(task.documents.map((d) => [d.id, d.text]));
    const written = new Set<string>();
    // From the end of the seeded order: disjoint from the pairs step's prefix when possible.
    const queries = task.queries.slice(Math.max(0, task.queries.length - perSource)).reverse();
    if (task.kind !== 'unlabelled') {
      const pairsTook = Math.min(task.queries.length, config.pairs.queries_per_source);
      sharedWithPairs += Math.max(0, pairsTook + queries.length - task.queries.length);
    }
    let count = 0;
    for (const q of queries) {
      const hits = index.search(q.text, k);
      if (hits.length === 0) continue;
      queriesOut.write({
        id: `${task.name}/${q.id}`,
        source: task.name,
        kind: task.kind,
        query: q.text,
        positives: q.positives.map((p) => `${task.name}/${p}`),
        candidates: hits.map((h) => ({ id: `${task.name}/${h.docId}`, bm25: Math.round(h.score * 1e4) / 1e4 })),
      });
      count++;
      for (const h of hits) {
        if (written.has(h.docId)) continue;
        written.add(h.docId);
        documentsOut.write({ id: `${task.name}/${h.docId}`, text: text.get(h.docId)! });
      }
    }
    bySource[task.name] = count;
    byKind[task.kind] = (byKind[task.kind] ?? 0) + count;
    log(`queries ${task.name} (${task.kind}): ${count} queries × ${k} candidates over ${task.documents.length} documents (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const outputs = [queriesOut.close(), documentsOut.close()];
  return {
    outputs,
    counts: { queries: outputs[0]!.lines, documents: outputs[1]!.lines, queries_by_source: bySource, queries_by_kind: byKind, queries_also_in_pairs: sharedWithPairs },
  };
}
