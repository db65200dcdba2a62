/**
 * Scoring one shard: the same parsing, chunking and output lines as `turborank score`, so the
 * collected output of a job equals `score`'s for the same input, byte for byte.
 */
import { InputError } from '../errors.js';
import { SCORE_CHUNK_LINES, formatScoreLines, parsePairLine, type Reranker, type ScorePair } from '../rerank/index.js';

export interface ShardInput {
  readonly lines: readonly string[];
  /** The input file's name and the 0-based index of the shard's first line in it, for messages. */
  readonly source: string;
  readonly firstLine: number;
  readonly maxLength: number | undefined;
  readonly batchSize: number | undefined;
}

/** The shard's output lines; an InputError names the input line that cannot be scored. */
export async function scoreShard(reranker: Reranker, shard: ShardInput): Promise<string> {
  const pairs = shard.lines.map((line, i) => parsePairLine(line, shard.source, shard.firstLine + i));
  const options = { maxLength: shard.maxLength, batchSize: shard.batchSize };
  let out = '';
  // Chunks aligned as `score` aligns them when shards are a multiple of SCORE_CHUNK_LINES.
  for (let start = 0; start < pairs.length; start += SCORE_CHUNK_LINES) {
    const chunk = pairs.slice(start, start + SCORE_CHUNK_LINES);
    try {
      out += formatScoreLines(await reranker.score(chunk, options));
    } catch (err) {
      if (err instanceof InputError) throw err; // about the whole job, e.g. a --max-length over the model's limit
      throw await nameFailingLine(reranker, chunk, options, shard, start, err);
    }
  }
  return out;
}

/**
 * When a chunk fails as a whole (the tokenizer or the engine refuses one of its pairs), score
 * its pairs one at a time to name the line, so a poisoned shard is reported with its line.
 */
async function nameFailingLine(reranker: Reranker, chunk: readonly ScorePair[], options: { maxLength: number | undefined; batchSize: number | undefined },
  shard: ShardInput, start: number, original: unknown): Promise<unknown> {
  for (let i = 0; i < chunk.length; i++) {
    try {
      await reranker.score([chunk[i]!], options);
    } catch (err) {
      const line = shard.firstLine + start + i + 1;
      return new InputError(`${shard.source} line ${line}: cannot be scored: ${(err as Error).message}`,
        'fix or remove that line and submit again', { cause: err });
    }
  }
  return original; // no single pair fails: not the input's fault (e.g. memory); let it be retried
}
