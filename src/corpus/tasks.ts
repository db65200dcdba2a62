/**
 * Retrieval tasks made from the sources: each a pool of documents and queries over it, with
 * the positives the source itself gives. Relevance pairs and the teacher's query sets are
 * both drawn from these, so they share one definition of "query" and "document".
 *
 *   debian            a package's one-line summary → its long description          (derived)
 *   dict:<name>       a headword, as a short question → its definition            (derived;
 *                     `headword: definition` where the config's dictionaries set headword_in_document)
 *   man               a page's NAME one-liner → its DESCRIPTION section           (derived)
 *   beir:<name>       train-split queries → their qrels (grade ≥ 1)               (labelled)
 *   rag:<name>        LLM-written questions → the chunk they came from            (labelled)
 *   beir:<name>-titles   corpus titles as queries over the corpus                 (unlabelled)
 *   beir:<name>-title-abstract   a paper's title → its abstract, title left out  (derived; pairs only,
 *                     where the config's beir entry sets title_pairs)
 *   software-terms    FOLDOC/Jargon headwords asked of package and man page texts  (unlabelled)
 *
 * "derived" positives come from the source's structure, not a judge; "unlabelled" queries
 * have none: they exist for the teacher to label (distillation's point). Queries and
 * documents matching evaluation data are dropped here, and counted.
 */
import type { EvalGuard } from './eval-guard.js';
import type { Sources } from './sources.js';
import { clip, sample, squash, streamFor } from './text.js';
import { documentText } from '../eval/beir.js';

export type TaskKind = 'labelled' | 'derived' | 'unlabelled';

export interface TaskDocument {
  readonly id: string;
  readonly text: string;
}

export interface TaskQuery {
  readonly id: string;
  readonly text: string;
  readonly positives: readonly string[];
}

export interface RetrievalTask {
  readonly name: string;
  readonly kind: TaskKind;
  readonly documents: readonly TaskDocument[];
  /** In a seeded order: consumers take prefixes. */
  readonly queries: readonly TaskQuery[];
  /** Relevance pairs only: the query sets leave it out (its titles are already asked there, unlabelled). */
  readonly pairsOnly?: boolean;
}

export interface TaskOptions {
  readonly seed: number;
  /** Documents kept per pool at most (a seeded sample that keeps sampled queries' positives). */
  readonly maxPool: number;
  readonly documentChars: number;
  /** BEIR datasets (by folder name) whose titles also make title → abstract pairs. */
  readonly titlePairs?: readonly string[];
  /** Dictionary documents are `headword: definition` instead of the definition alone. */
  readonly headwordInDocument?: boolean;
}

export interface DropCounts {
  /** Training queries equal (normalised) to an evaluation query. */
  evalQueries: number;
  /** Documents equal to an evaluation query or evaluation-only document. */
  evalDocuments: number;
}

const HEADWORD_TEMPLATES = ['{}', 'what is {}', 'define {}', '{} meaning', 'what does {} mean'];

export function buildTasks(sources: Sources, guard: EvalGuard, options: TaskOptions): { tasks: RetrievalTask[]; dropped: DropCounts } {
  const dropped: DropCounts = { evalQueries: 0, evalDocuments: 0 };
  const tasks: RetrievalTask[] = [];
  const keepDoc = (d: TaskDocument): boolean => {
    if (d.text.trim() === '') return false;
    if (guard.documentMatch(d.text) !== undefined) { dropped.evalDocuments++; return false; }
    return true;
  };
  const keepQuery = (q: TaskQuery): boolean => {
    if (q.text.trim() === '') return false;
    if (guard.queryMatch(q.text) !== undefined) { dropped.evalQueries++; return false; }
    return true;
  };
  const add = (name: string, kind: TaskKind, docs: TaskDocument[], queries: TaskQuery[], pairsOnly = false): void => {
    const documents = docs.filter(keepDoc).map((d) => ({ id: d.id, text: clip(d.text, options.documentChars) }));
    const ids = new Set(documents.map((d) => d.id));
    let kept = queries.filter(keepQuery).map((q) => ({ ...q, positives: q.positives.filter((p) => ids.has(p)) }));
    if (kind !== 'unlabelled') kept = kept.filter((q) => q.positives.length > 0);
    const random = streamFor(options.seed, `task:${name}`);
    const ordered = sample(kept, kept.length, random);
    const pool = limitPool(documents, ordered, options.maxPool, random);
    const inPool = new Set(pool.map((d) => d.id));
    const usable = kind === 'unlabelled' ? ordered : ordered.filter((q) => q.positives.some((p) => inPool.has(p)));
    if (pool.length >= 2 && usable.length > 0) tasks.push({ name, kind, documents: pool, queries: usable, ...(pairsOnly ? { pairsOnly } : {}) });
  };

  if (sources.packages.length) {
    const withText = sources.packages.filter((p) => p.description !== '');
    add('debian', 'derived',
      withText.map((p) => ({ id: p.name, text: p.description })),
      withText.filter((p) => p.summary.split(' ').length >= 2).map((p) => ({ id: p.name, text: p.summary, positives: [p.name] })));
  }
  const byDictionary = new Map<string, typeof sources.dictionaries[number][]>();
  for (const e of sources.dictionaries) {
    let list = byDictionary.get(e.dictionary);
    if (!list) byDictionary.set(e.dictionary, (list = []));
    list.push(e);
  }
  for (const [name, entries] of [...byDictionary].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const random = streamFor(options.seed, `templates:${name}`);
    const docs = entries.map((e, i) => ({ id: `${i}`, text: options.headwordInDocument ? `${e.headword}: ${e.definition}` : e.definition }));
    const queries = entries
      .map((e, i) => ({ e, i }))
      .filter(({ e }) => /\p{L}{2}/u.test(e.headword) && e.definition.length >= 20)
      .map(({ e, i }) => ({ id: `${i}`, text: HEADWORD_TEMPLATES[Math.floor(random() * HEADWORD_TEMPLATES.length)]!.replace('{}', e.headword), positives: [`${i}`] }));
    add(`dict:${name}`, 'derived', docs, queries);
  }
  if (sources.manPages.length) {
    const pages = sources.manPages.filter((p) => p.sections.has('DESCRIPTION'));
    add('man', 'derived',
      pages.map((p) => ({ id: p.name, text: p.sections.get('DESCRIPTION')! })),
      pages.filter((p) => p.summary.split(' ').length >= 2).map((p) => ({ id: p.name, text: p.summary, positives: [p.name] })));
  }
  for (const dataset of sources.beir) {
    const docs = dataset.corpus.map((d) => ({ id: d.id, text: documentText(d) }));
    const queries: TaskQuery[] = [];
    for (const [id, text] of dataset.queries) {
      const grades = dataset.qrels.get(id);
      const positives = grades ? [...grades].filter(([, g]) => g >= 1).map(([doc]) => doc) : [];
      queries.push({ id, text, positives });
    }
    add(`beir:${dataset.name}`, 'labelled', docs, queries);
    add(`beir:${dataset.name}-titles`, 'unlabelled', docs,
      dataset.corpus.filter((d) => d.title.split(' ').length >= 3).map((d) => ({ id: d.id, text: squash(d.title), positives: [] })));
    if (options.titlePairs?.includes(dataset.name)) {
      const papers = dataset.corpus.filter((d) => d.title.split(' ').length >= 3 && d.text.trim() !== '');
      add(`beir:${dataset.name}-title-abstract`, 'derived',
        papers.map((d) => ({ id: d.id, text: squash(d.text) })),
        papers.map((d) => ({ id: d.id, text: squash(d.title), positives: [d.id] })), true);
    }
  }
  for (const dataset of sources.rag) {
    add(`rag:${dataset.name}`, 'labelled',
      [...dataset.corpus].map(([id, text]) => ({ id, text: squash(text) })),
      [...dataset.queries].map(([id, text]) => ({ id, text: squash(text), positives: [...(dataset.relevant.get(id) ?? [])] })));
  }
  const terms = sources.dictionaries.filter((e) => e.dictionary === 'foldoc' || e.dictionary === 'jargon');
  if (terms.length && (sources.packages.length || sources.manPages.length)) {
    const docs = [
      ...sources.packages.filter((p) => p.description !== '').map((p) => ({ id: `debian:${p.name}`, text: `${p.summary}. ${p.description}` })),
      ...sources.manPages.filter((p) => p.sections.has('DESCRIPTION')).map((p) => ({ id: `man:${p.name}`, text: `${p.summary}. ${p.sections.get('DESCRIPTION')}` })),
    ];
    const random = streamFor(options.seed, 'templates:software-terms');
    const seen = new Set<string>();
    const queries: TaskQuery[] = [];
    for (const e of terms) {
      const term = e.headword.toLowerCase();
      if (seen.has(term) || !/\p{L}{2}/u.test(term)) continue;
      seen.add(term);
      queries.push({ id: `${e.dictionary}:${term}`, text: HEADWORD_TEMPLATES[Math.floor(random() * HEADWORD_TEMPLATES.length)]!.replace('{}', e.headword), positives: [] });
    }
    add('software-terms', 'unlabelled', docs, queries);
  }
  return { tasks, dropped };
}

/**
 * A pool no larger than `max`: the positives of the queries (in their seeded order, as many as
 * fit in half the pool), then other documents drawn at random, so BM25 finds both true
 * answers and plausible distractors without indexing a whole dictionary.
 */
function limitPool(documents: TaskDocument[], queries: readonly TaskQuery[], max: number, random: () => number): TaskDocument[] {
  if (documents.length <= max) return documents;
  const byId = new Map(documents.map((d) => [d.id, d]));
  const chosen = new Set<string>();
  for (const q of queries) {
    if (chosen.size + q.positives.length > max / 2) break;
    for (const p of q.positives) chosen.add(p);
  }
  const rest = sample(documents.filter((d) => !chosen.has(d.id)), max - chosen.size, random);
  const pool = [...chosen].map((id) => byId.get(id)!).concat(rest);
  // Index order is by id so that BM25's tie-breaking does not depend on the sampling order.
  return pool.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
