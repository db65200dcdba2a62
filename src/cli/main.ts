/**
 * The `turborank` command. Exit codes: 0 success, 2 bad usage, 1 any other failure (with a
 * message saying what to do). Only unexpected errors print a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MaxLengthError, TurborankError, UsageError } from '../errors.js';

const MAIN_HELP = `turborank: fast cross-encoder rerankers (JinaBERT, BERT, XLM-RoBERTa, DeBERTa-v3) on ONNX Runtime

Usage: turborank <command> [options]

Commands:
  rerank   rank documents for a query
  score    score JSON Lines of {"query","document"} pairs (bulk scoring)
  bench    measure throughput (documents/s, per 50 ms) and GFLOP/s
  eval     benchmarks: BEIR, RAG, TREC DL quality; reranking speed and memory
  report   gather saved eval results into a Markdown report with charts
  serve    HTTP server: Jina, Cohere and TEI rerank APIs, SageMaker, metrics
  train    train or distil a reranker from a JSON config (checkpoints, --resume)
  export   write a Hugging Face-style ONNX folder (fp32 or int8) that transformers.js loads
  data     build training data: corpus, WordPiece vocabulary, pairs, query sets
  distill  the distillation recipe: teacher pre-training, fine-tuning, labels, students
  jobs     bulk scoring across machines on a BullMQ queue: submit, status, wait, collect
  worker   score the shards of submitted jobs (run one or many, on any machines)

Run \`turborank <command> --help\` for a command's options.
A model is a directory (config.json, model.safetensors, tokenizer.json), an ONNX export
(a .onnx file, or a directory with onnx/model.onnx), or a Hugging Face name found in the
local cache (e.g. jinaai/jina-reranker-v1-turbo-en). Without --model, a bundled
random-weight TEST model is used.`;

export interface Command {
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<void>;
}

/**
 * Each command's module is imported only when that command runs: together they pull in ONNX
 * Runtime, tokenizers, BullMQ, Vega and Hono, over a second of CPU at every start.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  rerank: () => import('./rerank-command.js').then((m) => commandOf(m.RERANK_HELP, m.runRerank)),
  score: () => import('./score-command.js').then((m) => commandOf(m.SCORE_HELP, m.runScore)),
  bench: () => import('./bench-command.js').then((m) => commandOf(m.BENCH_HELP, m.runBench)),
  eval: () => import('./eval-command.js').then((m) => commandOf(m.EVAL_HELP, m.runEval)),
  report: () => import('./report-command.js').then((m) => commandOf(m.REPORT_HELP, m.runReport)),
  serve: () => import('./serve-command.js').then((m) => commandOf(m.SERVE_HELP, m.runServe)),
  train: () => import('./train-command.js').then((m) => commandOf(m.TRAIN_HELP, m.runTrain)),
  export: () => import('./export-command.js').then((m) => commandOf(m.EXPORT_HELP, m.runExport)),
  data: () => import('./data-command.js').then((m) => commandOf(m.DATA_HELP, m.runData)),
  distill: () => import('./distill-command.js').then((m) => commandOf(m.DISTILL_HELP, m.runDistill)),
  jobs: () => import('./jobs-command.js').then((m) => commandOf(m.JOBS_HELP, m.runJobs)),
  worker: () => import('./worker-command.js').then((m) => commandOf(m.WORKER_HELP, m.runWorker)),
};

function commandOf(help: { readonly text: string; readonly options: Command['options'] }, run: Command['run']): Command {
  return { help: help.text, options: help.options, run };
}

export async function main(argv: readonly string[]): Promise<number> {
  // A write error on stdout (EPIPE when the reader goes away, as in `turborank score … | head`)
  // is also emitted as an 'error' event, which would crash the process with a stack trace if
  // nobody listened. Commands write through `writeStdout`, which passes the error on to
  // `reportError` instead (EPIPE: exit 0 quietly, like other Unix tools).
  if (!process.stdout.listeners('error').includes(ignoreStdoutError)) process.stdout.on('error', ignoreStdoutError);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(MAIN_HELP + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('turborank 0.1.0\n');
    return 0;
  }
  const load = COMMANDS[name];
  let options: Record<string, unknown> | undefined;
  try {
    if (!load) throw new UsageError(`unknown command '${name}'`, `commands: ${Object.keys(COMMANDS).join(', ')}; see \`turborank --help\``);
    const command = await load();
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message, `see \`turborank ${name} --help\``);
    }
    options = parsed.values;
    if (parsed.values.help) {
      process.stdout.write(command.help + '\n');
      return 0;
    }
    await command.run(parsed.values, parsed.positionals);
    return 0;
  } catch (err) {
    return reportError(usageFromOption(err, options));
  }
}

/**
 * A maxLength the library refuses is bad usage (exit 2) when the user typed it: the commands
 * pass no maxLength but --max-length's, so with the option given, the error is about it.
 */
function usageFromOption(err: unknown, values: Record<string, unknown> | undefined): unknown {
  if (err instanceof MaxLengthError && typeof values?.['max-length'] === 'string') {
    return new UsageError(`--max-length ${values['max-length']}: ${err.message}`);
  }
  return err;
}

function ignoreStdoutError(): void {}

/** Writes to stdout respecting backpressure; rejects with the write error (e.g. EPIPE). */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.destroyed) {
      reject(Object.assign(new Error('stdout is closed'), { code: 'EPIPE' }));
      return;
    }
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`turborank: ${err.message}\n`);
    return 2;
  }
  if (err instanceof TurborankError) {
    process.stderr.write(`turborank: ${err.message}\n`);
    return 1;
  }
  if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') return 0;
  process.stderr.write(`turborank: unexpected error (a bug: please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

/** Parses a positive integer option, or throws a UsageError naming it. */
export function intOption(values: Record<string, unknown>, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${String(raw)}'`);
  }
  if (n > max) throw new UsageError(`--${name} must be at most ${max}, got ${n}`);
  return n;
}

/**
 * Most ONNX Runtime threads we accept. ORT starts every thread it is asked for: a typo such
 * as `--threads 100000` otherwise spends minutes and gigabytes starting threads.
 */
export const MAX_THREADS = 1024;

export function threadsOption(values: Record<string, unknown>): number | undefined {
  return intOption(values, 'threads', 1, MAX_THREADS);
}

export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}
