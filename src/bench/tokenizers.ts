/**
 * The tokenizer choice, measured (docs/TOKENIZER.md): Hugging Face's Rust `tokenizers` through
 * its npm binding, as turborank runs it (PairTokenizer), against the pure-TypeScript
 * `@huggingface/tokenizers` (a dev dependency, for this comparison only), on the same
 * tokenizer.json files.
 *
 *   npm run bench:tokenizer                         the five test fixtures
 *   npm run bench:tokenizer -- DIR [DIR…] [--docs N=50] [--words N=2000] [--rounds N=3]
 *
 * Each DIR holds tokenizer.json (and tokenizer_config.json, which the TS library takes too);
 * with an expected.json (the golden fixtures) both are checked against its ids first. Speed:
 * N documents of M words built as src/tokenizer/bench.ts builds them, each paired with one query
 * and encoded without truncation (2,000 words stay under 8,192 tokens, so both do the same
 * work); rounds alternate between the encoders so that a noisy shared machine slows them alike,
 * and the median is reported. Loading is not timed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tokenizer as PureTsTokenizer } from '@huggingface/tokenizers';
import { PairTokenizer } from '../tokenizer/index.js';
import { BENCH_QUERY, syntheticDocument } from '../tokenizer/bench.js';

const FIXTURES = ['jinabert-tiny-golden', 'bert-minilm-golden', 'jinabert-bpe-golden', 'xlmr-golden', 'deberta-v2-golden'];
/** Above any pair here: nothing is truncated. */
const NO_TRUNCATION = 1 << 20;

interface Pair {
  readonly query: string;
  readonly document: string;
}

interface GoldenCases {
  readonly tokenizer: { readonly max_length: number };
  readonly cases: readonly { readonly query: string; readonly document: string; readonly input_ids: number[]; readonly token_type_ids: number[] }[];
}

interface Correctness {
  readonly cases: number;
  readonly rustIdsEqual: number;
  /** Cases short enough to need no truncation: the TS library has none. */
  readonly untruncated: number;
  readonly tsIdsEqual: number;
  readonly tsTypeIdsEqual: number;
  readonly tsIdsDiffer: string[];
}

interface Speed {
  readonly tokens: number;
  readonly tsTokens: number;
  /** Median milliseconds over the rounds. */
  readonly rustBatchMs: number;
  readonly rustSequentialMs: number;
  readonly tsMs: number;
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

function loadPureTs(dir: string): PureTsTokenizer {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as object;
  const configPath = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configPath) ? (JSON.parse(fs.readFileSync(configPath, 'utf8')) as object) : {};
  return new PureTsTokenizer(json, config);
}

function encodeTs(tokenizer: PureTsTokenizer, pair: Pair): { ids: number[]; typeIds: number[] } {
  const encoding = tokenizer.encode(pair.query, { text_pair: pair.document, return_token_type_ids: true });
  return { ids: encoding.ids, typeIds: encoding.token_type_ids };
}

const same = (a: ArrayLike<number | bigint>, b: readonly number[]): boolean =>
  a.length === b.length && Array.from(a, Number).every((v, i) => v === b[i]);

async function checkCorrectness(dir: string, rust: PairTokenizer, ts: PureTsTokenizer): Promise<Correctness | undefined> {
  const expectedPath = path.join(dir, 'expected.json');
  if (!fs.existsSync(expectedPath)) return undefined;
  const golden = JSON.parse(fs.readFileSync(expectedPath, 'utf8')) as GoldenCases;
  const rustEncoded = await rust.encodePairs(golden.cases, golden.tokenizer.max_length);
  const rustUntruncated = await rust.encodePairs(golden.cases, NO_TRUNCATION);
  let rustIdsEqual = 0;
  let untruncated = 0;
  let tsIdsEqual = 0;
  let tsTypeIdsEqual = 0;
  const tsIdsDiffer: string[] = [];
  golden.cases.forEach((c, i) => {
    if (same(rustEncoded[i]!.ids, c.input_ids) && same(rustEncoded[i]!.typeIds, c.token_type_ids)) rustIdsEqual++;
    if (rustUntruncated[i]!.length > golden.tokenizer.max_length) return;
    untruncated++;
    const { ids, typeIds } = encodeTs(ts, c);
    if (same(ids, c.input_ids)) tsIdsEqual++;
    else tsIdsDiffer.push((c as { id?: string }).id ?? String(i));
    if (same(typeIds, c.token_type_ids)) tsTypeIdsEqual++;
  });
  return { cases: golden.cases.length, rustIdsEqual, untruncated, tsIdsEqual, tsTypeIdsEqual, tsIdsDiffer };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measureSpeed(rust: PairTokenizer, ts: PureTsTokenizer, pairs: readonly Pair[], rounds: number): Promise<Speed> {
  // Warm-up: the thread pool, the binding's caches, the TS library's regexes and JIT.
  await rust.encodePairs(pairs.slice(0, 2), NO_TRUNCATION);
  for (const pair of pairs.slice(0, 2)) encodeTs(ts, pair);
  const batch: number[] = [];
  const sequential: number[] = [];
  const pure: number[] = [];
  let tokens = 0;
  let tsTokens = 0;
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    const encoded = await rust.encodePairs(pairs, NO_TRUNCATION); // concurrent, on the libuv pool: how turborank runs it
    batch.push(performance.now() - start);
    tokens = encoded.reduce((sum, pair) => sum + pair.length, 0);

    start = performance.now();
    for (const pair of pairs) await rust.encodePairs([pair], NO_TRUNCATION); // one at a time: one core, like the TS library
    sequential.push(performance.now() - start);

    start = performance.now();
    let count = 0;
    for (const pair of pairs) count += encodeTs(ts, pair).ids.length;
    pure.push(performance.now() - start);
    tsTokens = count;
  }
  return { tokens, tsTokens, rustBatchMs: median(batch), rustSequentialMs: median(sequential), tsMs: median(pure) };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { docs: { type: 'string', default: '50' }, words: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } },
  });
  const nDocs = Number(values.docs);
  const words = Number(values.words);
  const rounds = Number(values.rounds);
  const dirs = positionals.length > 0 ? positionals : FIXTURES.map((f) => path.join(repoRoot(), 'test', 'fixtures', f));
  const pairs = Array.from({ length: nDocs }, (_, i) => ({ query: BENCH_QUERY, document: syntheticDocument(i, words) }));

  console.log(`# Rust tokenizers (npm tokenizers) vs pure-TS @huggingface/tokenizers`);
  console.log(`${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}, ` +
    `UV_THREADPOOL_SIZE ${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'}, load average ${os.loadavg()[0]!.toFixed(1)} at the start`);
  console.log(`speed: ${nDocs} documents x ${words} words, no truncation, median of ${rounds} alternating rounds\n`);
  console.log('| tokenizer | kind | fixture ids: Rust | TS ids (untruncated cases) | TS type ids | tokens | Rust encodePairs | Rust one at a time | pure TS | TS / Rust one at a time |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const dir of dirs) {
    const rust = await PairTokenizer.load(path.join(dir, 'tokenizer.json'));
    const ts = loadPureTs(dir);
    const correct = await checkCorrectness(dir, rust, ts);
    const speed = await measureSpeed(rust, ts, pairs, rounds);
    const tokens = speed.tokens === speed.tsTokens ? `${speed.tokens}` : `${speed.tokens} (TS ${speed.tsTokens})`;
    const ids = correct ? [`${correct.rustIdsEqual}/${correct.cases}`,
      `${correct.tsIdsEqual}/${correct.untruncated}${correct.tsIdsDiffer.length ? ` (differ: ${correct.tsIdsDiffer.join(', ')})` : ''}`,
      `${correct.tsTypeIdsEqual}/${correct.untruncated}`] : ['—', '—', '—'];
    const ms = (v: number): string => `${v.toFixed(0)} ms`;
    console.log(`| ${path.basename(dir)} | ${rust.kind} | ${ids.join(' | ')} | ${tokens} | ${ms(speed.rustBatchMs)} | ${ms(speed.rustSequentialMs)} | ${ms(speed.tsMs)} | ${(speed.tsMs / speed.rustSequentialMs).toFixed(2)} |`);
  }
}

await main(process.argv.slice(2));
