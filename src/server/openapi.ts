/**
 * GET /openapi.json, generated from the zod schemas that validate requests (and the response
 * schemas the tests check), so the document cannot drift from what the server does.
 */
import { z } from 'zod';
import { responseSchemas, type RequestSchemas } from './schemas.js';

type JsonSchema = Record<string, unknown>;

interface Operation {
  readonly method: 'get' | 'post';
  readonly path: string;
  readonly summary: string;
  readonly request?: string;
  readonly response?: string;
  readonly contentType?: string;
}

const OPERATIONS: readonly Operation[] = [
  { method: 'post', path: '/v1/rerank', summary: 'Rerank documents (Jina API; Cohere v1 fields accepted)', request: 'RerankRequest', response: 'RerankResponse' },
  { method: 'post', path: '/v2/rerank', summary: 'Rerank documents (Cohere v2 API)', request: 'CohereV2RerankRequest', response: 'CohereV2RerankResponse' },
  { method: 'post', path: '/rerank', summary: 'Rerank texts (text-embeddings-inference API)', request: 'TeiRerankRequest', response: 'TeiRerankResponse' },
  { method: 'post', path: '/invocations', summary: 'SageMaker inference: the /v1/rerank body', request: 'RerankRequest', response: 'RerankResponse' },
  { method: 'get', path: '/info', summary: 'Served models and limits (TEI-style)', contentType: 'application/json' },
  { method: 'get', path: '/health', summary: '200 when ready, 503 while starting or draining', contentType: 'application/json' },
  { method: 'get', path: '/ping', summary: 'SageMaker health check', contentType: 'application/json' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', contentType: 'text/plain' },
  { method: 'get', path: '/', summary: 'The playground page', contentType: 'text/html' },
];

export function openApiDocument(requests: RequestSchemas, version: string, authRequired: boolean): JsonSchema {
  const components: Record<string, JsonSchema> = {
    RerankRequest: schema(requests.jina, 'input'),
    CohereV2RerankRequest: schema(requests.cohereV2, 'input'),
    TeiRerankRequest: schema(requests.tei, 'input'),
    RerankResponse: schema(responseSchemas.jina, 'output'),
    CohereV2RerankResponse: schema(responseSchemas.cohereV2, 'output'),
    TeiRerankResponse: schema(responseSchemas.tei, 'output'),
    Error: schema(responseSchemas.error, 'output'),
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op);
  return {
    openapi: '3.1.0',
    info: { title: 'turborank', version, description: 'Cross-encoder reranking: Jina-, Cohere- and TEI-compatible endpoints.' },
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    ...(authRequired ? { security: [{ bearer: [] }] } : {}),
  };
}

function operation(op: Operation): Record<string, unknown> {
  const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
  const errors = (codes: readonly number[]): Record<string, unknown> =>
    Object.fromEntries(codes.map((code) => [String(code), { description: ERROR_DESCRIPTIONS[code], content: { 'application/json': { schema: ref('Error') } } }]));
  if (!op.request) {
    return { summary: op.summary, responses: { 200: { description: 'OK', content: { [op.contentType ?? 'application/json']: {} } } } };
  }
  return {
    summary: op.summary,
    requestBody: { required: true, content: { 'application/json': { schema: ref(op.request) } } },
    responses: {
      200: { description: 'Results, best first', content: { 'application/json': { schema: ref(op.response!) } } },
      ...errors([400, 401, 404, 413, 422, 429, 503]),
    },
  };
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Body is not UTF-8 JSON, or a model must be named',
  401: 'Missing or wrong API key',
  404: 'The model is not served here (the error lists those that are)',
  413: 'Body over --max-body-bytes, or a pair over the token limit with truncate: false',
  422: 'A field has the wrong type or value (the error names it)',
  429: 'Too many requests in flight: retry after Retry-After seconds',
  503: 'Deadline passed or server shutting down',
};

function schema(type: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}
