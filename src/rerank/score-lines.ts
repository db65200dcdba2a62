/**
 * Bulk scoring's line format, shared by `turborank score` and the distributed jobs (src/jobs),
 * whose collected output must equal `score`'s byte for byte: JSON Lines of
 * {"query": …, "document": …} in, one {"logit": …, "score": …} line per pair out.
 */
import { InputError } from '../errors.js';
import { sigmoid } from './reranker.js';

/**
 * Lines `turborank score` reads before scoring them together. Jobs score their shards in
 * chunks of the same size, so both run the same batches (their logits are equal either way:
 * padding is masked, and the tests compare the two outputs byte for byte).
 */
export const SCORE_CHUNK_LINES = 1024;

export interface ScorePair {
  readonly query: string;
  readonly document: string;
}

/** One JSON value from line `index` (0-based) of `source`; names the line when it is not JSON. */
export function parseJsonLine(line: string, source: string, index: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch (err) {
    throw new InputError(`${source} line ${index + 1}: invalid JSON (${(err as Error).message}): ${line.slice(0, 80)}`,
      'each line must be one JSON object');
  }
}

/** A (query, document) pair from line `index` (0-based) of `source`. */
export function parsePairLine(line: string, source: string, index: number): ScorePair {
  const value = parseJsonLine(line, source, index);
  const v = value as { query?: unknown; document?: unknown } | null;
  if (v === null || typeof v !== 'object' || typeof v.query !== 'string' || typeof v.document !== 'string') {
    throw new InputError(`${source} line ${index + 1}: expected {"query": string, "document": string}, got ${line.slice(0, 80)}`);
  }
  return { query: v.query, document: v.document };
}

/** The output lines for these logits, in order, each ending in a newline. */
export function formatScoreLines(logits: Float32Array): string {
  let out = '';
  for (const logit of logits) out += JSON.stringify({ logit, score: sigmoid(logit) }) + '\n';
  return out;
}
