/**
 * The HTTP face (TEI's router): routes, the shapes each API family expects, and the
 * middleware around them (request id, log line and metrics; CORS; API keys). Routes turn
 * requests into RerankJobs and outcomes into responses; the service does the rest.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import type { ApiKeys } from './auth.js';
import { readJsonBody } from './body.js';
import { ApiError, ClientGoneError, errorBody } from './errors.js';
import type { Logger, RequestLogFields } from './logging.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelRegistry } from './models.js';
import { PLAYGROUND_CSP, PLAYGROUND_HTML } from './playground.js';
import type { RerankOutcome, RerankService } from './rerank-service.js';
import { jobFromCohereV2, jobFromJina, jobFromTei, parseRequest, type DocumentItem, type RequestSchemas, type RerankJob } from './schemas.js';

export interface RouterDeps {
  readonly registry: ModelRegistry;
  readonly service: RerankService;
  readonly schemas: RequestSchemas;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly apiKeys: ApiKeys;
  readonly corsOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly logRequests: boolean;
  /** GET /info's body, built once at start-up. */
  readonly info: object;
  readonly openApi: object;
}

type Env = { Variables: { requestId: string; log: RequestLogFields } };

/** Every route, for metric labels (never raw paths), 405 answers and the 404 message. */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/v1/rerank': ['POST'], '/v2/rerank': ['POST'], '/rerank': ['POST'], '/invocations': ['POST'],
  '/info': ['GET'], '/health': ['GET'], '/ping': ['GET'], '/metrics': ['GET'], '/openapi.json': ['GET'], '/': ['GET'],
};

/** Load balancers, SageMaker and browsers reach these without a key; they reveal nothing. */
const PUBLIC_PATHS = new Set(['/', '/health', '/ping', '/openapi.json']);

/** nginx's code for "client closed the request": logged, never seen by anyone. */
const CLIENT_CLOSED = 499;

export function buildRouter(deps: RouterDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.use('*', observe(deps));
  if (deps.corsOrigins.length > 0) {
    app.use('*', cors({
      origin: deps.corsOrigins.includes('*') ? '*' : [...deps.corsOrigins],
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposeHeaders: ['X-Request-Id', 'Retry-After', 'Server-Timing'],
      maxAge: 600,
    }));
  }
  if (deps.apiKeys.enabled) {
    app.use('*', async (c, next) => {
      if (PUBLIC_PATHS.has(c.req.path) || deps.apiKeys.accepts(c.req.header('authorization'))) return next();
      throw new ApiError(401, 'unauthorized', 'a valid API key is required: send it as "Authorization: Bearer KEY"');
    });
  }
  addRerankRoutes(app, deps);
  addServiceRoutes(app, deps);
  app.notFound((c) => respondError(c, routeNotFound(c.req.method, c.req.path)));
  app.onError((err, c) => handleError(err, c, deps.logger));
  return app;
}

/** Request id, Server-Timing, one log line and the request metrics, for every request. */
function observe(deps: RouterDeps) {
  return async (c: Context<Env>, next: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    const id = requestId(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.set('log', {});
    await next();
    const ms = performance.now() - started;
    c.header('X-Request-Id', id);
    c.header('Server-Timing', `total;dur=${ms.toFixed(1)}`);
    const route = c.req.path in ROUTES ? c.req.path : 'other';
    deps.metrics.observeRequest(route, c.res.status, ms / 1000);
    if (!deps.logRequests) return;
    deps.logger.info('request', {
      id, method: c.req.method, route, status: c.res.status, latency_ms: Number(ms.toFixed(2)), ...c.get('log'),
    });
  };
}

/** A client's own X-Request-Id is kept when it is a sane token, so logs join up across services. */
function requestId(offered: string | undefined): string {
  return offered !== undefined && /^[\w.:-]{1,128}$/.test(offered) ? offered : randomUUID();
}

function addRerankRoutes(app: Hono<Env>, deps: RouterDeps): void {
  const jina = (c: Context<Env>): Promise<Response> => admitted(c, deps, async (signal) => {
    const request = parseRequest(deps.schemas.jina, await readJsonBody(c.req.raw, deps.maxBodyBytes, signal));
    const outcome = await rerank(c, deps, jobFromJina(request), 'documents', signal);
    const withDocuments = request.return_documents ?? true;
    return c.json({
      id: c.get('requestId'),
      model: outcome.model.name,
      usage: { total_tokens: outcome.tokens },
      results: outcome.results.map((r) => ({
        index: r.index, relevance_score: r.score,
        ...(withDocuments ? { document: echoDocument(request.documents[r.index]!) } : {}),
      })),
      meta: cohereMeta('1'),
    });
  });
  app.post('/v1/rerank', jina);
  app.post('/invocations', jina);

  app.post('/v2/rerank', (c) => admitted(c, deps, async (signal) => {
    const request = parseRequest(deps.schemas.cohereV2, await readJsonBody(c.req.raw, deps.maxBodyBytes, signal));
    const outcome = await rerank(c, deps, jobFromCohereV2(request), 'documents', signal);
    return c.json({
      id: c.get('requestId'),
      results: outcome.results.map((r) => ({ index: r.index, relevance_score: r.score })),
      meta: cohereMeta('2'),
    });
  }));

  app.post('/rerank', (c) => admitted(c, deps, async (signal) => {
    const request = parseRequest(deps.schemas.tei, await readJsonBody(c.req.raw, deps.maxBodyBytes, signal));
    const job = jobFromTei(request);
    // TEI serves one model; here its clients get the first, which /info reports as model_id.
    const outcome = await rerank(c, deps, { ...job, model: job.model ?? deps.registry.names[0] }, 'texts', signal);
    return c.json(outcome.results.map((r) => ({
      index: r.index, score: request.raw_scores ? r.logit : r.score,
      ...(request.return_text ? { text: request.texts[r.index]! } : {}),
    })));
  }));
}

/** Admitted on arrival (429 when full, 503 when draining); the deadline covers reading the body. */
function admitted(c: Context<Env>, deps: RouterDeps, work: (signal: AbortSignal) => Promise<Response>): Promise<Response> {
  return deps.service.admitted(c.req.raw.signal, work);
}

async function rerank(c: Context<Env>, deps: RouterDeps, job: RerankJob, documentsField: string, signal: AbortSignal): Promise<RerankOutcome> {
  const log = c.get('log');
  log.documents = job.texts.length;
  log.model = job.model;
  const outcome = await deps.service.rerank(job, documentsField, signal);
  log.model = outcome.model.name;
  log.tokens = outcome.tokens;
  return outcome;
}

/** Strings come back as Jina's {text}; objects (Cohere's structured documents) as sent. */
function echoDocument(document: DocumentItem): Record<string, unknown> {
  return typeof document === 'string' ? { text: document } : document;
}

/** Cohere's SDKs read `meta`; billed units mean nothing here but their parsers expect them. */
function cohereMeta(version: string): { api_version: { version: string }; billed_units: { search_units: number } } {
  return { api_version: { version }, billed_units: { search_units: 1 } };
}

function addServiceRoutes(app: Hono<Env>, deps: RouterDeps): void {
  const health = (c: Context<Env>): Response => {
    if (deps.service.isDraining) return c.json({ status: 'draining' }, 503);
    if (!deps.registry.isHealthy) return c.json({ status: 'unhealthy', models: deps.registry.names }, 503);
    return c.json({ status: 'ok', models: deps.registry.names });
  };
  app.get('/health', health);
  app.get('/ping', health);
  app.get('/info', (c) => c.json(deps.info));
  app.get('/openapi.json', (c) => c.json(deps.openApi));
  app.get('/metrics', async (c) => c.body(await deps.metrics.text(), 200, { 'Content-Type': deps.metrics.contentType }));
  app.get('/', (c) => c.html(PLAYGROUND_HTML, 200, { 'Content-Security-Policy': PLAYGROUND_CSP }));
}

function routeNotFound(method: string, path: string): ApiError {
  const allowed = ROUTES[path];
  if (allowed) return new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${path}: use ${allowed.join(', ')}`, { allowed: allowed.join(', ') });
  const routes = Object.entries(ROUTES).map(([p, methods]) => `${methods.join('|')} ${p}`).join(', ');
  return new ApiError(404, 'not_found', `no route ${method} ${path.slice(0, 200)}; routes: ${routes}`);
}

function respondError(c: Context<Env>, err: ApiError): Response {
  const headers: Record<string, string> = {};
  if (err.details.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.details.retryAfterSeconds);
  if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer';
  if (err.status === 405 && err.details.allowed) headers.Allow = err.details.allowed;
  c.get('log').error = err.type;
  return c.json(errorBody(err), err.status as 400, headers);
}

function handleError(err: Error, c: Context<Env>, logger: Logger): Response {
  if (err instanceof ApiError) return respondError(c, err);
  if (err instanceof ClientGoneError) {
    c.get('log').error = 'client_closed';
    return c.body(null, CLIENT_CLOSED as 200);
  }
  const id = c.get('requestId');
  logger.error('unexpected error', { id, error: err.stack ?? String(err) });
  return respondError(c, new ApiError(500, 'internal', `internal error (request id ${id}): this is a turborank bug, please report it with the server log`));
}
