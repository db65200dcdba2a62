/**
 * The wire contracts, as zod schemas: they validate requests, give the error messages, and
 * generate /openapi.json, so the three cannot drift apart. Request shapes follow the APIs
 * clients already speak: Jina's (and Cohere v1's) /v1/rerank, Cohere's /v2/rerank, and
 * text-embeddings-inference's /rerank.
 */
import { z } from 'zod';
import type { TruncationDirection } from '../tokenizer/pair-tokenizer.js';
import { ApiError, validationError } from './errors.js';

export interface RequestLimits {
  /** Most documents in one request (Jina, Cohere) or texts (TEI's max_client_batch_size). */
  readonly maxDocuments: number;
}

/** What every rerank route turns its request into: the queue does not know which API asked. */
export interface RerankJob {
  readonly model: string | undefined;
  readonly query: string;
  readonly texts: readonly string[];
  /** Keep the best N (clamped to the number of documents, as Jina and Cohere do). */
  readonly topN: number | undefined;
  /** false: a pair over the token limit is refused (413) instead of truncated. */
  readonly truncate: boolean;
  /** Cohere v2: tokens kept per document (the query keeps its own). */
  readonly maxTokensPerDoc: number | undefined;
  /** TEI's truncation_direction: 'left' keeps the end of each text; 'right' (default) its start. */
  readonly truncationDirection: TruncationDirection;
}

const DOCUMENT_SHAPE = 'a string or an object with a string "text" (other fields: strings, numbers, booleans or null)';

const optionalBoolean = z.boolean({ error: 'must be true or false' }).nullish();
const positiveInt = z.number({ error: 'must be an integer ≥ 1' }).int('must be an integer ≥ 1').min(1, 'must be an integer ≥ 1');
const model = z.string({ error: 'must be a string naming a model this server serves (see GET /info)' }).nullish()
  .describe('Model to rank with: one of the names GET /info lists. May be omitted when the server serves one model.');
// A query of spaces tokenizes to nothing but special tokens: its scores would rank nothing.
const query = z.string({ error: (issue) => (issue.input === undefined ? 'is required: a non-empty string' : 'must be a non-empty string') })
  .min(1, 'must be a non-empty string')
  .refine((text) => text.trim().length > 0, 'must be a non-empty string, not only whitespace')
  .describe('The search query (not empty, not only whitespace).');

/**
 * A document object: Jina's {text}, or Cohere v1's object whose rank_fields are scored. Other
 * fields are echoed back, so they are kept flat: a deeply nested value would parse but could
 * not be serialized again.
 */
const documentObject = z.object({ text: z.string().optional() }).catchall(z.union([z.string(), z.number(), z.boolean(), z.null()]));
const documentItem = z.union([z.string(), documentObject], { error: `must be ${DOCUMENT_SHAPE}` });

function documentList<T extends z.ZodType>(item: T, limits: RequestLimits, what: string) {
  const max = limits.maxDocuments;
  return z.array(item, { error: `must be an array of ${what}` })
    .min(1, `must hold at least one document (1 to ${max})`)
    .max(max, { error: (issue) => `holds ${(issue.input as unknown[]).length} documents; this server accepts 1 to ${max} per request (--max-documents)` });
}

export function requestSchemas(limits: RequestLimits) {
  const topN = positiveInt.nullish().describe('Return only the N best documents (default: all).');
  const object = { error: 'the request body must be a JSON object' };
  return {
    /** POST /v1/rerank and /invocations: Jina's request, with Cohere v1's extra fields. */
    jina: z.object({
      model,
      query,
      documents: documentList(documentItem, limits, `documents (${DOCUMENT_SHAPE})`),
      top_n: topN,
      return_documents: optionalBoolean.describe('Include each document in its result (default true, as Jina does).'),
      truncate: optionalBoolean.describe('false: refuse a (query, document) pair over the token limit with 413 instead of truncating it (default true).'),
      max_chunks_per_doc: positiveInt.nullish().describe('Cohere v1: accepted for compatibility; long documents are truncated, not chunked.'),
      rank_fields: z.array(z.string().min(1), { error: 'must be an array of field names' }).min(1).nullish()
        .describe('Cohere v1: the fields of object documents to score, in order (default ["text"]).'),
    }, object),
    /** POST /v2/rerank: Cohere's v2 request. */
    cohereV2: z.object({
      model,
      query,
      documents: documentList(documentItem, limits, `documents (${DOCUMENT_SHAPE})`),
      top_n: topN,
      max_tokens_per_doc: positiveInt.nullish().describe('Tokens kept per document; longer documents are truncated (capped by the server\'s limit).'),
    }, object),
    /** POST /rerank: text-embeddings-inference's request. */
    tei: z.object({
      model: model.describe('turborank extension: TEI serves one model; without it, the first model served (GET /info\'s model_id).'),
      query,
      texts: documentList(z.string({ error: 'must be a string' }), limits, 'strings'),
      raw_scores: optionalBoolean.describe('Report the raw logit instead of sigmoid(logit).'),
      return_text: optionalBoolean.describe('Include each text in its result.'),
      truncate: optionalBoolean.describe('false: refuse a pair over the token limit with 413 (default true).'),
      truncation_direction: z.enum(['Right', 'Left', 'right', 'left'], { error: 'must be "Right" or "Left"' }).nullish()
        .describe('Which end of a too-long pair is cut, longest text first, as TEI does: "Right" (default) keeps the start of the query and of the text, "Left" their ends.'),
    }, object),
  };
}

export type RequestSchemas = ReturnType<typeof requestSchemas>;
export type JinaRequest = z.infer<RequestSchemas['jina']>;
export type CohereV2Request = z.infer<RequestSchemas['cohereV2']>;
export type TeiRequest = z.infer<RequestSchemas['tei']>;
export type DocumentItem = z.infer<typeof documentItem>;

const usage = z.object({ total_tokens: z.number().int().describe('Tokens scored, special tokens included, after truncation.') });
const cohereMeta = z.object({
  api_version: z.object({ version: z.string() }),
  billed_units: z.object({ search_units: z.number() }),
});

/** Response shapes: for /openapi.json, and for tests to check what the server sends. */
export const responseSchemas = {
  jina: z.object({
    id: z.string().describe('Request id (Cohere reads it; also in the X-Request-Id header).'),
    model: z.string(),
    usage,
    results: z.array(z.object({
      index: z.number().int(),
      relevance_score: z.number().describe('sigmoid(logit), in [0, 1].'),
      document: documentObject.optional(),
    })),
    meta: cohereMeta,
  }),
  cohereV2: z.object({
    id: z.string(),
    results: z.array(z.object({ index: z.number().int(), relevance_score: z.number() })),
    meta: cohereMeta,
  }),
  tei: z.array(z.object({ index: z.number().int(), score: z.number(), text: z.string().optional() })),
  error: z.object({
    error: z.string(), error_type: z.string(), message: z.string(), detail: z.string(),
    field: z.string().optional(), allowed: z.string().optional(), models: z.array(z.string()).optional(),
  }),
};

/** Parses `body` with `schema`, or throws a 422 naming the first wrong field and what it allows. */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const first = issues[0]!;
  const field = fieldPath(first.path);
  const rest = issues.slice(1, 4).map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  const more = issues.length > 4 ? `; and ${issues.length - 4} more` : '';
  const message = `${field}: ${first.message}${rest.length ? `; ${rest.join('; ')}` : ''}${more}`;
  throw new ApiError(422, 'validation', message, { field });
}

/** ['documents', 3, 'text'] → documents[3].text; the root is "body". */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
}

export function jobFromJina(request: JinaRequest): RerankJob {
  const texts = documentTexts(request.documents, request.rank_fields ?? undefined);
  return {
    model: request.model ?? undefined, query: checkText(request.query, 'query'), texts,
    topN: request.top_n ?? undefined, truncate: request.truncate ?? true, maxTokensPerDoc: undefined, truncationDirection: 'right',
  };
}

export function jobFromCohereV2(request: CohereV2Request): RerankJob {
  return {
    model: request.model ?? undefined, query: checkText(request.query, 'query'), texts: documentTexts(request.documents, undefined),
    topN: request.top_n ?? undefined, truncate: true, maxTokensPerDoc: request.max_tokens_per_doc ?? undefined, truncationDirection: 'right',
  };
}

export function jobFromTei(request: TeiRequest): RerankJob {
  const direction = request.truncation_direction;
  return {
    model: request.model ?? undefined, query: checkText(request.query, 'query'), texts: request.texts.map((t, i) => checkText(t, `texts[${i}]`)),
    topN: undefined, truncate: request.truncate ?? true, maxTokensPerDoc: undefined,
    truncationDirection: direction === 'Left' || direction === 'left' ? 'left' : 'right',
  };
}

/**
 * The text scored for each document. Objects give their `text`, or with Cohere's rank_fields
 * the named fields: one field alone is its value; several are "field: value" lines in the
 * order given, the way Cohere flattens structured documents.
 */
function documentTexts(documents: readonly DocumentItem[], rankFields: readonly string[] | undefined): string[] {
  return documents.map((doc, i) => {
    if (typeof doc === 'string') return checkText(doc, `documents[${i}]`);
    const fields = rankFields ?? ['text'];
    const values = fields.map((name) => {
      const value = (doc as Record<string, unknown>)[name];
      const field = `documents[${i}].${name}`;
      if (typeof value !== 'string') {
        const problem = value === undefined ? 'is missing' : `must be a string, got ${typeof value}`;
        throw validationError(field, rankFields ? `${problem} (named in rank_fields)` : problem, DOCUMENT_SHAPE);
      }
      return checkText(value, field);
    });
    return values.length === 1 ? values[0]! : fields.map((name, k) => `${name}: ${values[k]}`).join('\n');
  });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text worth ranking. NUL is valid JSON (\u0000) but means a client sent binary data. A lone
 * surrogate escape ("\ud800") is valid JSON too, but not Unicode: it usually means a client cut
 * an emoji in half, and the tokenizer could only score a replacement character in its place.
 * TEI's JSON parser (serde_json) refuses it and Python's tokenizers cannot encode it, so a
 * 422 naming the field and position beats a silently different score.
 */
function checkText(text: string, field: string): string {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) throw validationError(field, `contains a NUL character (U+0000) at position ${nul}`, 'text without NUL characters');
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate) {
    const code = surrogate[0].charCodeAt(0).toString(16).toUpperCase();
    throw validationError(field, `contains a lone UTF-16 surrogate (\\u${code}) at position ${surrogate.index}: not valid Unicode`,
      'valid Unicode text; characters beyond U+FFFF as a surrogate pair (\\ud83d\\ude00) or as UTF-8');
  }
  return text;
}
