import { UsageError } from '../errors.js';
import { Reranker, TEST_MODEL_WARNING, DEFAULT_MODEL_NAME, DEFAULT_MODEL_NOTE, type RerankResult } from '../rerank/index.js';
import { decodeUtf8, parseDocuments, readInputBytes, type DocumentFormat } from './input.js';
import { intOption, stringOption, threadsOption, writeStdout } from './main.js';
import { PRECISION_HELP_LINE, precisionOption } from './precision.js';

export const RERANK_HELP = {
  text: `Usage: turborank rerank --query Q [options] [FILE|-]

Ranks documents by relevance to a query. Documents come from FILE or stdin: one per line,
JSON Lines with "text", or a JSON array of strings / {"text"} objects.

Options:
  -m, --model M         model directory, .onnx file or cached hub name (default: the shipped ${DEFAULT_MODEL_NAME})
  -q, --query Q         the query (required)
  -n, --top-n N         show only the best N
      --max-length N    tokens per (query, document) pair, longest-first truncation
                        (default 1024 for ALiBi models, the model's limit otherwise)
      --batch-size N    pairs per inference batch (default 32)
      --threads N       ONNX Runtime threads (default: all cores)
${PRECISION_HELP_LINE}
      --format F        auto | lines | jsonl | json (default auto)
      --json            print JSON instead of a table
  -h, --help            this help`,
  options: {
    model: { type: 'string', short: 'm' },
    query: { type: 'string', short: 'q' },
    'top-n': { type: 'string', short: 'n' },
    'max-length': { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    precision: { type: 'string' },
    format: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

const FORMATS: readonly DocumentFormat[] = ['auto', 'lines', 'jsonl', 'json'];

export async function runRerank(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  const query = stringOption(values, 'query');
  if (query === undefined) throw new UsageError('--query is required', 'e.g. `turborank rerank --query "what is ALiBi?" docs.txt`');
  if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}: ${positionals.join(' ')}`);
  const format = (stringOption(values, 'format') ?? 'auto') as DocumentFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
  const topN = intOption(values, 'top-n', 0);
  const maxLength = intOption(values, 'max-length');
  const batchSize = intOption(values, 'batch-size');
  const threads = threadsOption(values);
  const precision = precisionOption(values);
  const model = stringOption(values, 'model');

  const { bytes, source } = await readInputBytes(positionals[0]);
  const documents = parseDocuments(decodeUtf8(bytes, source), source, format);
  const reranker = await Reranker.load(model, { threads, maxLength, batchSize, precision });
  if (reranker.info.isTestModel) process.stderr.write(TEST_MODEL_WARNING + '\n');
  if (model === undefined) process.stderr.write(DEFAULT_MODEL_NOTE + '\n');
  const started = performance.now();
  const results = await reranker.rerank(query, documents, { topN, returnDocuments: true });
  const ms = performance.now() - started;
  await reranker.close();

  if (values.json === true) {
    await writeStdout(JSON.stringify({ model: reranker.info.name, query, results }) + '\n');
  } else {
    await writeStdout(formatTable(results) + '\n');
    process.stderr.write(`${documents.length} documents scored in ${ms.toFixed(1)} ms\n`);
  }
}

function formatTable(results: readonly RerankResult[]): string {
  const width = Math.max(20, (process.stdout.columns ?? 100) - 36);
  const rows = results.map((r, rank) => {
    const text = (r.document?.text ?? '').replace(/\s+/g, ' ');
    const shown = text.length > width ? text.slice(0, width - 1) + '…' : text;
    return `${String(rank + 1).padStart(4)}  ${String(r.index).padStart(5)}  ${r.score.toFixed(4)}  ${r.logit.toFixed(4).padStart(8)}  ${shown}`;
  });
  return ['rank  index   score     logit  document', ...rows].join('\n');
}
