import { UsageError } from '../errors.js';
import { TEST_MODEL_WARNING, namesTestModel, DEFAULT_MODEL_NAME } from '../rerank/index.js';
import { DEFAULT_SERVER_OPTIONS, loadApiKeys, parseModelArgument, startServer, type ServerOptions } from '../server/index.js';
import { MAX_THREADS, intOption, stringOption } from './main.js';
import { precisionOption } from './precision.js';

const D = DEFAULT_SERVER_OPTIONS;

export const SERVE_HELP = {
  text: `Usage: turborank serve [--model [NAME=]M …] [options]

Serves rerankers over HTTP: Jina's POST /v1/rerank (Cohere v1 fields accepted), Cohere's
POST /v2/rerank, TEI's POST /rerank, SageMaker's GET /ping and POST /invocations, plus
GET /info, /health, /metrics (Prometheus), /openapi.json and a playground page at /.
Models load before the server reports ready; requests to every model are batched together
by a token budget. SIGTERM drains requests in flight, then exits 0.

Every option can also come from the environment: --max-batch-tokens is
TURBORANK_MAX_BATCH_TOKENS, --sagemaker is TURBORANK_SAGEMAKER=1, and --model and
--cors-origin take comma-separated lists there. Options on the command line win.

Options:
  -m, --model [NAME=]M      model to serve (repeatable): directory, .onnx file or cached hub
                            name; NAME is what clients send as "model" (default: the folder
                            or hub name). Default: the shipped ${DEFAULT_MODEL_NAME}
      --host H              interface to listen on (default ${D.host})
  -p, --port N              port (default ${D.port}; 0 picks a free one)
      --sagemaker           SageMaker hosting: listen on 0.0.0.0, port $SAGEMAKER_BIND_TO_PORT or 8080
      --threads N           ONNX Runtime threads per model (default: all cores)
      --precision P         fp32 (default) or int8 weight products, for every model
      --max-length N        tokens per (query, document) pair; longer pairs are truncated,
                            or refused with 413 when a request says truncate: false
                            (default 1024 for ALiBi models, the model's limit otherwise)
      --max-batch-tokens N  padded tokens per inference batch (default ${D.batching.maxBatchTokens})
      --max-batch-size N    pairs per inference batch (default ${D.batching.maxBatchSize})
      --max-batch-requests N
                            requests sharing one batch (default: no limit; 1 = no
                            cross-request batching)
      --max-documents N     documents per request (default ${D.limits.maxDocuments})
      --max-body-bytes N    request body limit (default ${D.limits.maxBodyBytes})
      --max-concurrent-requests N
                            requests in flight before 429 (default ${D.limits.maxConcurrentRequests})
      --request-timeout S   seconds from arrival to answer before 503 (default ${D.limits.requestTimeoutMs / 1000})
      --api-key-file F      require "Authorization: Bearer KEY" with a key from F (one per
                            line); or put keys in TURBORANK_API_KEY (comma-separated)
      --cors-origin O       allow browser calls from origin O (repeatable; * for any).
                            Default: CORS off
      --quiet               no request logs (default: one JSON line per request on stdout)
  -h, --help                this help

Example:
  turborank serve --model jinaai/jina-reranker-v1-turbo-en --port 8080 &
  curl -s localhost:8080/v1/rerank -H 'Content-Type: application/json' \\
    -d '{"query": "what is ALiBi?", "documents": ["ALiBi biases attention by distance.", "Paris is in France."]}'`,
  options: {
    model: { type: 'string', short: 'm', multiple: true },
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    sagemaker: { type: 'boolean' },
    threads: { type: 'string' },
    precision: { type: 'string' },
    'max-length': { type: 'string' },
    'max-batch-tokens': { type: 'string' },
    'max-batch-size': { type: 'string' },
    'max-batch-requests': { type: 'string' },
    'max-documents': { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'max-concurrent-requests': { type: 'string' },
    'request-timeout': { type: 'string' },
    'api-key-file': { type: 'string' },
    'cors-origin': { type: 'string', multiple: true },
    quiet: { type: 'boolean' },
  },
} as const;

type Values = Record<string, unknown>;

export async function runServe(values: Values, positionals: string[]): Promise<void> {
  if (positionals.length > 0) throw new UsageError(`serve takes no positional arguments, got ${positionals.join(' ')}`, 'name models with --model');
  const options = serveOptions(withEnvironment(values, process.env), process.env);
  if (options.models.some((m) => namesTestModel(m.source))) process.stderr.write(TEST_MODEL_WARNING + '\n');
  const server = await startServer(options);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** `--max-batch-tokens` ↔ TURBORANK_MAX_BATCH_TOKENS. */
export function envName(option: string): string {
  return `TURBORANK_${option.toUpperCase().replace(/-/g, '_')}`;
}

/** Fills each option missing from the command line from its TURBORANK_* variable. */
export function withEnvironment(values: Values, env: NodeJS.ProcessEnv): Values {
  const merged: Values = { ...values };
  for (const [name, spec] of Object.entries(SERVE_HELP.options)) {
    const raw = env[envName(name)];
    if (merged[name] !== undefined || raw === undefined || raw === '') continue;
    if (spec.type === 'boolean') merged[name] = booleanEnv(envName(name), raw);
    else if ('multiple' in spec) merged[name] = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    else merged[name] = raw;
  }
  return merged;
}

function booleanEnv(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new UsageError(`${name} must be 1/true/yes or 0/false/no, got '${raw}'`);
}

export function serveOptions(values: Values, env: NodeJS.ProcessEnv): ServerOptions {
  const sagemaker = values.sagemaker === true;
  const timeoutSeconds = intOption(values, 'request-timeout', 1, 3600);
  return {
    models: listOption(values, 'model').map(parseModelArgument),
    host: sagemaker ? '0.0.0.0' : stringOption(values, 'host') ?? D.host,
    port: sagemaker ? sagemakerPort(env) : intOption(values, 'port', 0, 65535) ?? D.port,
    threads: intOption(values, 'threads', 1, MAX_THREADS),
    maxLength: intOption(values, 'max-length'),
    precision: precisionOption(values),
    batching: {
      maxBatchTokens: intOption(values, 'max-batch-tokens') ?? D.batching.maxBatchTokens,
      maxBatchSize: intOption(values, 'max-batch-size') ?? D.batching.maxBatchSize,
      maxBatchRequests: intOption(values, 'max-batch-requests') ?? D.batching.maxBatchRequests,
    },
    limits: {
      maxDocuments: intOption(values, 'max-documents') ?? D.limits.maxDocuments,
      maxBodyBytes: intOption(values, 'max-body-bytes', 1024) ?? D.limits.maxBodyBytes,
      maxConcurrentRequests: intOption(values, 'max-concurrent-requests') ?? D.limits.maxConcurrentRequests,
      requestTimeoutMs: timeoutSeconds === undefined ? D.limits.requestTimeoutMs : timeoutSeconds * 1000,
    },
    apiKeys: loadApiKeys(env.TURBORANK_API_KEY, stringOption(values, 'api-key-file')),
    corsOrigins: listOption(values, 'cors-origin'),
    logRequests: values.quiet !== true,
  };
}

function listOption(values: Values, name: string): string[] {
  const raw = values[name];
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
}

/** SageMaker sets SAGEMAKER_BIND_TO_PORT for multi-container endpoints; 8080 otherwise. */
function sagemakerPort(env: NodeJS.ProcessEnv): number {
  const raw = env.SAGEMAKER_BIND_TO_PORT;
  if (raw === undefined || raw === '') return 8080;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`SAGEMAKER_BIND_TO_PORT must be a port number, got '${raw}'`);
  return port;
}
