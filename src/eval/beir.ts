/**
 * The BEIR dataset layout: corpus.jsonl ({"_id", "title", "text"}), queries.jsonl ({"_id",
 * "text"}) and qrels/<split>.tsv (query-id, corpus-id, score; a header line; tabs; LF or CRLF).
 * As BEIR's GenericDataLoader does, only queries that have qrels in the split are kept.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import { checkFile, idField, readJsonLines, readLines, stringField } from './files.js';
import { addQrel, type Qrels } from './metrics.js';

export interface BeirDocument {
  readonly id: string;
  readonly title: string;
  readonly text: string;
}

export interface BeirDataset {
  /** The data folder's name, e.g. "scifact". */
  readonly name: string;
  readonly dir: string;
  readonly split: string;
  /** In file order (BM25 ties between equal scores never depend on it: they go by id). */
  readonly corpus: readonly BeirDocument[];
  readonly documents: ReadonlyMap<string, BeirDocument>;
  /** Query id → text, for the queries with qrels in the split, in qrels order. */
  readonly queries: ReadonlyMap<string, string>;
  readonly qrels: Qrels;
}

const LAYOUT_HINT = 'a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/test.tsv (see https://github.com/beir-cellar/beir)';

export function beirFiles(dir: string, split: string): { corpus: string; queries: string; qrels: string } {
  return {
    corpus: path.join(dir, 'corpus.jsonl'),
    queries: path.join(dir, 'queries.jsonl'),
    qrels: path.join(dir, 'qrels', `${split}.tsv`),
  };
}

export async function loadBeir(dir: string, split = 'test'): Promise<BeirDataset> {
  const files = beirFiles(dir, split);
  checkFile(files.corpus, 'BEIR corpus', LAYOUT_HINT);
  checkFile(files.queries, 'BEIR queries', LAYOUT_HINT);
  checkFile(files.qrels, `BEIR qrels of the ${split} split`, `${LAYOUT_HINT}; pass --split for another split`);
  const qrels = await loadQrelsTsv(files.qrels);
  const allQueries = await loadQueries(files.queries);
  const queries = new Map<string, string>();
  for (const queryId of qrels.keys()) {
    const text = allQueries.get(queryId);
    if (text === undefined) {
      throw new InputError(`${files.qrels}: query ${queryId} has qrels but is not in ${files.queries}`,
        'the qrels and queries come from different datasets or versions');
    }
    queries.set(queryId, text);
  }
  const corpus = await loadCorpus(files.corpus);
  const documents = new Map(corpus.map((d) => [d.id, d]));
  return { name: path.basename(path.resolve(dir)), dir, split, corpus, documents, queries, qrels };
}

async function loadCorpus(file: string): Promise<BeirDocument[]> {
  const corpus: BeirDocument[] = [];
  const seen = new Set<string>();
  for await (const { value, number } of readJsonLines(file)) {
    const id = idField(value, '_id', file, number);
    if (seen.has(id)) throw new InputError(`${file} line ${number}: document id "${id}" appears twice`, 'document ids must be unique');
    seen.add(id);
    corpus.push({ id, title: stringField(value, 'title', file, number, true), text: stringField(value, 'text', file, number) });
  }
  if (corpus.length === 0) throw new InputError(`${file}: the corpus is empty`, LAYOUT_HINT);
  return corpus;
}

async function loadQueries(file: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  for await (const { value, number } of readJsonLines(file)) {
    queries.set(idField(value, '_id', file, number), stringField(value, 'text', file, number));
  }
  return queries;
}

/** BEIR qrels: `query-id<TAB>corpus-id<TAB>score` after an optional header line. */
export async function loadQrelsTsv(file: string): Promise<Qrels> {
  const qrels = new Map<string, Map<string, number>>();
  for await (const { line, number } of readLines(file)) {
    if (line.trim() === '') continue;
    const fields = line.split('\t').map((f) => f.trim());
    if (number === 1 && !/^-?\d+$/.test(fields[2] ?? '')) continue; // the header
    if (fields.length < 3 || fields[0] === '' || fields[1] === '' || !/^-?\d+$/.test(fields[2]!)) {
      throw new InputError(`${file} line ${number}: expected query-id<TAB>corpus-id<TAB>integer score, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    addQrel(qrels, fields[0]!, fields[1]!, Number(fields[2]));
  }
  if (qrels.size === 0) throw new InputError(`${file}: no qrels`, LAYOUT_HINT);
  return qrels;
}

/** What BEIR's reranking feeds the cross-encoder: title and text joined by a space. */
export function documentText(document: BeirDocument): string {
  return `${document.title} ${document.text}`.trim();
}
