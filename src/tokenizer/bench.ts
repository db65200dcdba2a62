/**
 * A reproducible tokenizer throughput benchmark: long synthetic documents, one query,
 * longest-first truncation at 8192 tokens, as a long-document reranker sees them.
 * The method matches the measurement in docs/TOKENIZER.md.
 *
 *   node dist/src/tokenizer/bench.js path/to/tokenizer.json [nDocs=200] [wordsPerDoc=2000]
 *   node dist/src/tokenizer/bench.js path/to/tokenizer.json nDocs wordsPerDoc --truncate MAX_LENGTH
 *
 * With --truncate (`npm run bench:truncation`): the same documents truncated to MAX_LENGTH
 * tokens per pair, tokenized from a prefix (what turborank does for WordPiece tokenizers) and
 * whole, in alternating rounds; the ids must be the same.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EncodedPair } from './batch.js';
import { PairTokenizer } from './pair-tokenizer.js';

export interface TokenizerBenchmark {
  /** Wall-clock milliseconds for encodePairs over all documents (loading excluded). */
  ms: number;
  /** Tokens produced per second, special tokens included. */
  tokensPerSecond: number;
  /** Tokens produced in all. */
  tokens: number;
}

export const BENCH_QUERY = 'what are the side effects of long term caffeine use';
const MAX_LENGTH = 8192;

// English prose words with punctuation and digits, so both WordPiece and byte-level BPE
// do real splitting work; documents are built from them deterministically.
const WORDS = (
  'the study of caffeine metabolism shows that regular intake of 400 mg per day is considered safe ' +
  'for most adults, although sensitivity varies; genetic factors (CYP1A2) influence clearance rates. ' +
  'Researchers reported insomnia, anxiety, tachycardia and headaches in 12.5% of participants! ' +
  'Withdrawal symptoms include fatigue, irritability and difficulty concentrating — usually within ' +
  '24 hours. Coffee, tea, energy-drinks & chocolate contain varying amounts: espresso ≈ 63mg/oz.'
).split(' ');

/** A deterministic document: word j of document i is WORDS[(7i + 13j) mod |WORDS|]. */
export function syntheticDocument(index: number, wordsPerDoc: number): string {
  const words: string[] = [];
  for (let j = 0; j < wordsPerDoc; j++) words.push(WORDS[(index * 7 + j * 13) % WORDS.length] ?? '');
  return words.join(' ');
}

export async function benchmarkTokenizer(
  tokenizerPath: string,
  nDocs: number,
  wordsPerDoc: number,
): Promise<TokenizerBenchmark> {
  const tokenizer = await PairTokenizer.load(tokenizerPath);
  const pairs = Array.from({ length: nDocs }, (_, i) => ({ query: BENCH_QUERY, document: syntheticDocument(i, wordsPerDoc) }));
  await tokenizer.encodePairs(pairs.slice(0, 1), MAX_LENGTH); // warm-up: thread pool, caches
  const start = performance.now();
  const encoded = await tokenizer.encodePairs(pairs, MAX_LENGTH);
  const ms = performance.now() - start;
  const tokens = encoded.reduce((sum, pair) => sum + pair.length, 0);
  return { ms, tokensPerSecond: tokens / (ms / 1000), tokens };
}

export interface TruncationBenchmark {
  /** Median milliseconds for encodePairs over all documents, tokenized from a prefix and whole. */
  readonly prefixMs: number;
  readonly wholeMs: number;
  readonly rounds: number;
  /** Whether every pair got the same ids both ways. */
  readonly sameIds: boolean;
}

/** Long documents truncated to `maxLength`: tokenizing from a prefix against the whole document, alternating rounds. */
export async function benchmarkTruncation(tokenizerPath: string, nDocs: number, wordsPerDoc: number, maxLength: number, rounds = 5): Promise<TruncationBenchmark> {
  const prefix = await PairTokenizer.load(tokenizerPath);
  const whole = await PairTokenizer.load(tokenizerPath, { prefixCut: false });
  const pairs = Array.from({ length: nDocs }, (_, i) => ({ query: BENCH_QUERY, document: syntheticDocument(i, wordsPerDoc) }));
  await prefix.encodePairs(pairs.slice(0, 2), maxLength);
  await whole.encodePairs(pairs.slice(0, 2), maxLength);
  const times: [number[], number[]] = [[], []];
  let sameIds = true;
  for (let round = 0; round < rounds; round++) {
    const encoded: EncodedPair[][] = [];
    for (const [k, tokenizer] of [prefix, whole].entries()) {
      const start = performance.now();
      encoded.push(await tokenizer.encodePairs(pairs, maxLength));
      times[k]!.push(performance.now() - start);
    }
    sameIds &&= encoded[0]!.every((e, i) => e.ids.length === encoded[1]![i]!.ids.length && e.ids.every((id, j) => id === encoded[1]![i]!.ids[j]));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { prefixMs: median(times[0]), wholeMs: median(times[1]), rounds, sameIds };
}

async function main(argv: string[]): Promise<void> {
  const truncate = argv.indexOf('--truncate');
  const maxLength = truncate >= 0 ? Number(argv[truncate + 1]) : undefined;
  const positional = truncate >= 0 ? argv.filter((_, i) => i !== truncate && i !== truncate + 1) : argv;
  const [tokenizerPath, nDocs = '200', wordsPerDoc = '2000'] = positional;
  if (!tokenizerPath || (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0))) {
    console.error('usage: node dist/src/tokenizer/bench.js <tokenizer.json> [nDocs=200] [wordsPerDoc=2000] [--truncate MAX_LENGTH]');
    process.exitCode = 2;
    return;
  }
  if (maxLength !== undefined) {
    const result = await benchmarkTruncation(tokenizerPath, Number(nDocs), Number(wordsPerDoc), maxLength);
    console.log(JSON.stringify({ tokenizer: tokenizerPath, nDocs: Number(nDocs), wordsPerDoc: Number(wordsPerDoc), maxLength, ...result, speedup: Number((result.wholeMs / result.prefixMs).toFixed(2)) }));
    return;
  }
  const result = await benchmarkTokenizer(tokenizerPath, Number(nDocs), Number(wordsPerDoc));
  console.log(JSON.stringify({ tokenizer: tokenizerPath, nDocs: Number(nDocs), wordsPerDoc: Number(wordsPerDoc), ...result }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
