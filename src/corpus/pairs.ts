/**
 * Relevance pairs for fine-tuning the teacher as a cross-encoder with the `bce` loss: for each
 * query of a labelled or derived task, its positives (label 1) and BM25 hard negatives
 * (label 0): documents drawn at random from BM25's top `negative_depth` for the query that
 * are not positives (random pool documents when BM25 finds too few, marked `"negative":
 * "random"`). A seeded `dev_fraction` of each task's queries goes to dev.jsonl.
 *
 *   {"query", "document", "label", "source", "query_id", "document_id", "negative"?}
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import { Bm25Index } from '../eval/bm25.js';
import type { DataConfig } from './config.js';
import { JsonlWriter, type StepResult } from './output.js';
import type { RetrievalTask } from './tasks.js';
import { sample, streamFor } from './text.js';

/** Positives per query at most (SciFact queries can have several). */
const MAX_POSITIVES = 2;

export function buildPairs(config: DataConfig, tasks: readonly RetrievalTask[], log: (line: string) => void): StepResult {
  const dir = path.join(config.output, 'pairs');
  const train = new JsonlWriter(path.join(dir, 'train.jsonl'), config.output);
  const dev = new JsonlWriter(path.join(dir, 'dev.jsonl'), config.output);
  const queriesBySource: Record<string, number> = {};
  const pairsBySource: Record<string, number> = {};
  let withoutNegatives = 0;
  let randomNegatives = 0;
  let easyNegatives = 0;
  const { negatives, negative_depth: depth, random_negatives: easy, dev_fraction: devFraction, queries_per_source: perSource, queries_per_task: perTask } = config.pairs;
  const unknown = Object.keys(perTask).filter((name) => !tasks.some((t) => t.name === name && t.kind !== 'unlabelled'));
  if (unknown.length > 0) {
    throw new InputError(`pairs.queries_per_task names ${unknown.map((n) => `'${n}'`).join(', ')}, not a task with relevance pairs`,
      `use one of: ${tasks.filter((t) => t.kind !== 'unlabelled').map((t) => t.name).join(', ')}`);
  }
  for (const task of tasks) {
    if (task.kind === 'unlabelled') continue;
    const started = Date.now();
    const index = Bm25Index.build(task.documents);
    const text = new Map(task.documents.map((d) => [d.id, d.text]));
    const random = streamFor(config.seed, `pairs:${task.name}`);
    const queries = task.queries.slice(0, perTask[task.name] ?? perSource);
    const devCount = Math.round(queries.length * devFraction);
    let written = 0;
    queries.forEach((q, i) => {
      const out = i < devCount ? dev : train;
      const positives = new Set(q.positives);
      const hits = index.search(q.text, depth + positives.size).filter((h) => !positives.has(h.docId)).slice(0, depth);
      const chosen = sample(hits, negatives, random).map((h) => ({ id: h.docId, kind: 'bm25' }));
      // Random documents of the pool, neither positives nor chosen already, until `upTo` (at most `maxTries` draws).
      const addRandom = (upTo: number, kind: 'random' | 'easy', maxTries: number): void => {
        for (let tries = 0; chosen.length < upTo && tries < maxTries && task.documents.length > positives.size + chosen.length; tries++) {
          const doc = task.documents[Math.floor(random() * task.documents.length)]!;
          if (!positives.has(doc.id) && !chosen.some((c) => c.id === doc.id)) chosen.push({ id: doc.id, kind });
        }
      };
      // BM25 finds too few non-positive documents for some queries (no shared terms): random
      // documents of the pool make up the rest, marked as such.
      addRandom(negatives, 'random', negatives * 10);
      if (chosen.length === 0) { withoutNegatives++; return; }
      randomNegatives += chosen.filter((c) => c.kind === 'random').length;
      // Easy negatives besides the hard ones, so that not every negative shares the query's words.
      const hardCount = chosen.length;
      addRandom(hardCount + easy, 'easy', easy * 10);
      easyNegatives += chosen.length - hardCount;
      const base = { source: task.name, query_id: q.id };
      for (const p of q.positives.slice(0, MAX_POSITIVES)) {
        out.write({ query: q.text, document: text.get(p)!, label: 1, ...base, document_id: p });
        written++;
      }
      for (const c of chosen) {
        out.write({ query: q.text, document: text.get(c.id)!, label: 0, ...base, document_id: c.id, negative: c.kind });
        written++;
      }
    });
    queriesBySource[task.name] = queries.length;
    pairsBySource[task.name] = written;
    log(`pairs ${task.name}: ${queries.length} queries, ${written} pairs over ${task.documents.length} documents (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const outputs = [train.close(), dev.close()];
  return {
    outputs,
    counts: { train_pairs: outputs[0]!.lines, dev_pairs: outputs[1]!.lines, queries_by_source: queriesBySource, pairs_by_source: pairsBySource, queries_without_negatives: withoutNegatives, random_negatives: randomNegatives, easy_negatives: easyNegatives },
  };
}
