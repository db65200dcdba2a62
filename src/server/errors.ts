/**
 * Errors the HTTP layer answers with: a status, a machine-readable type, and a message that
 * names the field that was wrong and what is allowed.
 */
import { TurborankError } from '../errors.js';

export type ApiErrorType =
  | 'invalid_json'
  | 'validation'
  | 'payload_too_large'
  | 'unauthorized'
  | 'model_not_found'
  | 'not_found'
  | 'method_not_allowed'
  | 'overloaded'
  | 'timeout'
  | 'unavailable'
  | 'internal';

export interface ApiErrorDetails {
  /** The request field at fault, as a path: `documents[3].text`. */
  readonly field?: string;
  /** What the field accepts, when the message alone would not say. */
  readonly allowed?: string;
  /** For model_not_found and a missing model: the models this server serves. */
  readonly models?: readonly string[];
  /** Seconds a client should wait before retrying (429, 503). */
  readonly retryAfterSeconds?: number;
}

export class ApiError extends TurborankError {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly details: ApiErrorDetails = {},
  ) {
    super(message);
  }
}

/**
 * The JSON body of an error response. The message is repeated under the key each client
 * family reads: TEI's `error` (with `error_type`), Cohere's `message`, and Jina's (FastAPI's)
 * `detail`, which LangChain's JinaRerank raises with.
 */
export interface ErrorBody {
  readonly error: string;
  readonly error_type: ApiErrorType;
  readonly message: string;
  readonly detail: string;
  readonly field?: string;
  readonly allowed?: string;
  readonly models?: readonly string[];
}

export function errorBody(err: ApiError): ErrorBody {
  const { field, allowed, models } = err.details;
  return {
    error: err.message, error_type: err.type, message: err.message, detail: err.message,
    ...(field === undefined ? {} : { field }),
    ...(allowed === undefined ? {} : { allowed }),
    ...(models === undefined ? {} : { models }),
  };
}

export function validationError(field: string, message: string, allowed?: string): ApiError {
  return new ApiError(422, 'validation', `${field}: ${message}`, allowed === undefined ? { field } : { field, allowed });
}

/** The client went away before its answer was ready: nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the answer was ready');
    this.name = 'ClientGoneError';
  }
}
