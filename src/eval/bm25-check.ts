/**
 * `npm run check:bm25 -- --data path/to/scifact`: our BM25 against Pyserini's on a BEIR
 * dataset, query by query, from the per-query trec_eval output of Pyserini's run
 * (`trec_eval -q -c -m ndcg_cut.10 …`, default `<data>/reference/pyserini-bm25-flat.per-query.eval`).
 * Too slow for the fast suite on large corpora, so it is a command; its output is recorded in
 * docs/EVALUATION.md. Exits 1 when the mean NDCG@10 differs by more than 1 point.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { InputError, TurborankError } from '../errors.js';
import { documentText, loadBeir } from './beir.js';
import { Bm25Index, bm25Tag, PYSERINI_BM25, searchAll } from './bm25.js';
import { checkFile, readLines } from './files.js';
import { evaluateRun } from './metrics.js';

export interface Bm25Check {
  readonly dataset: string;
  readonly parameters: string;
  readonly documents: number;
  readonly queries: number;
  readonly indexSeconds: number;
  readonly searchSeconds: number;
  readonly ours: number;
  readonly reference: number;
  /** Queries whose NDCG@10 is within 0.001 of the reference's (trec_eval prints 4 decimals). */
  readonly agreeing: number;
  /** The queries that differ most, worst first. */
  readonly largest: readonly { readonly queryId: string; readonly ours: number; readonly reference: number }[];
}

/** One measure of `trec_eval -q` output: query id → value (and "all" → the mean). */
export async function readTrecEvalPerQuery(file: string, measure = 'ndcg_cut_10'): Promise<Map<string, number>> {
  checkFile(file, 'per-query trec_eval output', 'make it with `trec_eval -q -c -m ndcg_cut.10 qrels run`');
  const values = new Map<string, number>();
  for await (const { line, number } of readLines(file)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    if (fields.length !== 3 || !Number.isFinite(Number(fields[2]))) throw new InputError(`${file} line ${number}: expected "measure query value", got ${JSON.stringify(line.slice(0, 80))}`);
    if (fields[0] === measure) values.set(fields[1]!, Number(fields[2]));
  }
  if (values.size === 0) throw new InputError(`${file}: no ${measure} lines`, `pass trec_eval output with -m ${measure.replace('_cut_', '_cut.')}`);
  return values;
}

export async function checkBm25(dataDir: string, referenceFile: string): Promise<Bm25Check> {
  const reference = await readTrecEvalPerQuery(referenceFile);
  const dataset = await loadBeir(dataDir);
  let started = performance.now();
  const index = Bm25Index.build(dataset.corpus.map((d) => ({ id: d.id, text: documentText(d) })));
  const indexSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  // Pyserini's reference keeps documents whose id is the query's: so do we, to compare like with like.
  const run = searchAll(index, dataset.queries, 100);
  const searchSeconds = (performance.now() - started) / 1000;
  const evaluation = evaluateRun(run, dataset.qrels);
  const compared = evaluation.perQuery.map((m) => ({ queryId: m.queryId, ours: m['ndcg@10'], reference: reference.get(m.queryId) }));
  const missing = compared.find((c) => c.reference === undefined);
  if (missing) throw new InputError(`${referenceFile}: no ndcg_cut_10 for query ${missing.queryId}`, 'the reference must be trec_eval -q output for the same qrels');
  const referenceMean = compared.reduce((sum, c) => sum + c.reference!, 0) / compared.length;
  return {
    dataset: dataset.name, parameters: bm25Tag(PYSERINI_BM25), documents: index.size, queries: compared.length, indexSeconds, searchSeconds,
    ours: evaluation.mean['ndcg@10'], reference: referenceMean,
    agreeing: compared.filter((c) => Math.abs(c.ours - c.reference!) <= 0.001).length,
    largest: compared.map((c) => ({ queryId: c.queryId, ours: c.ours, reference: c.reference! }))
      .sort((a, b) => Math.abs(b.ours - b.reference) - Math.abs(a.ours - a.reference))
      .filter((c) => Math.abs(c.ours - c.reference) > 0.001).slice(0, 5),
  };
}

export function formatBm25Check(check: Bm25Check, command: string): string {
  const points = 100 * (check.ours - check.reference);
  return [
    `command      ${command}`,
    `date         ${new Date().toISOString()}`,
    `machine      ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}`,
    `BM25         ${check.parameters}`,
    `dataset      ${check.dataset}: ${check.documents} documents indexed in ${check.indexSeconds.toFixed(2)} s; ${check.queries} queries searched in ${check.searchSeconds.toFixed(2)} s`,
    `NDCG@10      ours ${check.ours.toFixed(4)}, Pyserini ${check.reference.toFixed(4)} (${points >= 0 ? '+' : ''}${points.toFixed(2)} points)`,
    `per query    ${check.agreeing} of ${check.queries} within 0.001 of Pyserini's`,
    ...check.largest.map((c) => `  query ${c.queryId}: ours ${c.ours.toFixed(4)}, Pyserini ${c.reference.toFixed(4)}`),
    `verdict      ${Math.abs(points) <= 1 ? 'PASS' : 'FAIL'}: within 1 NDCG@10 point is required`,
  ].join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, reference: { type: 'string' } } });
  if (values.data === undefined) {
    process.stderr.write('usage: npm run check:bm25 -- --data path/to/beir/scifact [--reference trec_eval-per-query-file]\n');
    return 2;
  }
  const reference = values.reference ?? path.join(values.data, 'reference', 'pyserini-bm25-flat.per-query.eval');
  const check = await checkBm25(values.data, reference);
  process.stdout.write(formatBm25Check(check, `npm run check:bm25 -- --data ${values.data}${values.reference ? ` --reference ${values.reference}` : ''}`));
  return Math.abs(check.ours - check.reference) <= 0.01 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`check:bm25: ${err instanceof TurborankError ? err.message : (err as Error).stack}\n`);
      process.exitCode = 1;
    },
  );
}
