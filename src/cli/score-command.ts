import { UsageError } from '../errors.js';
import { Reranker, SCORE_CHUNK_LINES, TEST_MODEL_WARNING, DEFAULT_MODEL_NOTE, formatScoreLines, DEFAULT_MODEL_NAME } from '../rerank/index.js';
import { parsePairLine, readLines } from './input.js';
import { intOption, stringOption, threadsOption, writeStdout } from './main.js';
import { PRECISION_HELP_LINE, precisionOption } from './precision.js';

export const SCORE_HELP = {
  text: `Usage: turborank score [options] [FILE|-]

Bulk scoring: reads JSON Lines of {"query": …, "document": …} from FILE or stdin and writes
one line {"logit": …, "score": …} per input line, in order (score = sigmoid(logit)).
Input is streamed in chunks, so files larger than memory work.

Options:
  -m, --model M         model directory, .onnx file or cached hub name (default: the shipped ${DEFAULT_MODEL_NAME})
      --max-length N    tokens per pair, longest-first truncation
      --batch-size N    pairs per inference batch (default 32)
      --chunk N         lines read before scoring (default 1024)
      --threads N       ONNX Runtime threads (default: all cores)
${PRECISION_HELP_LINE}
      --json            accepted for symmetry: output is always JSON Lines
  -h, --help            this help`,
  options: {
    model: { type: 'string', short: 'm' },
    'max-length': { type: 'string' },
    'batch-size': { type: 'string' },
    chunk: { type: 'string' },
    threads: { type: 'string' },
    precision: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

export async function runScore(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}`);
  const model = stringOption(values, 'model');
  const maxLength = intOption(values, 'max-length');
  const batchSize = intOption(values, 'batch-size');
  const threads = threadsOption(values);
  const precision = precisionOption(values);
  const chunkSize = intOption(values, 'chunk') ?? SCORE_CHUNK_LINES;
  const file = positionals[0];
  const source = file === undefined || file === '-' ? 'stdin' : file;

  const lines = readLines(file);
  const reranker = await Reranker.load(model, { threads, maxLength, batchSize, precision });
  if (reranker.info.isTestModel) process.stderr.write(TEST_MODEL_WARNING + '\n');
  if (model === undefined) process.stderr.write(DEFAULT_MODEL_NOTE + '\n');
  try {
    let chunk: { query: string; document: string }[] = [];
    const flush = async (): Promise<void> => {
      await writeStdout(formatScoreLines(await reranker.score(chunk)));
      chunk = [];
    };
    for await (const [index, line] of lines) {
      chunk.push(parsePairLine(line, source, index));
      if (chunk.length >= chunkSize) await flush();
    }
    if (chunk.length > 0) await flush();
  } finally {
    await reranker.close();
  }
}
