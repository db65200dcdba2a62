/**
 * Periodic evaluation on a dev set during training, with the weights as they are now: for
 * pointwise data (labels or teacher logits) the mean loss and, with 0/1 labels, accuracy and
 * the MRR of each query's positives among its pairs. Accuracy alone misleads on relevance
 * pairs: with three negatives per positive, calling everything irrelevant scores 0.75.
 */
import ort from 'onnxruntime-node';
import type { ModelSpec } from '../checkpoint/index.js';
import { toOnnx } from '../graph/index.js';
import { buildCrossEncoder } from '../models/index.js';
import { packBatch, type PairTokenizer, type TokenBatch } from '../tokenizer/index.js';
import type { TrainConfig } from './config.js';
import type { Example } from './data.js';

export interface DevMetrics {
  readonly examples: number;
  /** Fraction of pairs on the right side of 0 (labels), or undefined when targets are not labels. */
  readonly accuracy?: number;
  /** Mean binary cross-entropy (labels) or squared error (teacher logits). */
  readonly loss: number;
  /**
   * Labels only: mean reciprocal rank of the best-scored positive among the pairs of its query
   * (same query text; ties count half), over queries with a positive and a negative.
   */
  readonly mrr?: number;
  /** The queries the MRR is taken over. */
  readonly rankedQueries?: number;
}

const sessions = new WeakMap<object, Promise<ort.InferenceSession>>();

export async function evaluateDev(
  spec: ModelSpec, parameters: readonly { name: string; shape: readonly number[] }[], params: readonly Float32Array[],
  examples: readonly Example[], tokenizer: PairTokenizer, config: TrainConfig,
): Promise<DevMetrics | undefined> {
  const pairs = examples.filter((e): e is Extract<Example, { kind: 'pair' }> => e.kind === 'pair');
  if (pairs.length === 0) return undefined;
  let loss = 0;
  let correct = 0;
  const byQuery = new Map<string, { score: number; label: number }[]>();
  for (let start = 0; start < pairs.length; start += config.batch_size) {
    const chunk = pairs.slice(start, start + config.batch_size);
    const encoded = await tokenizer.encodePairs(chunk, config.max_length);
    const logits = await scoreTokens(spec, parameters, params, packBatch(encoded, tokenizer.padId), config.threads ?? 1);
    chunk.forEach((e, i) => {
      const x = logits[i]!;
      if (config.loss.name === 'bce') {
        loss += Math.max(x, 0) - x * e.target + Math.log1p(Math.exp(-Math.abs(x)));
        if ((x > 0 ? 1 : 0) === e.target) correct++;
        const list = byQuery.get(e.query) ?? [];
        list.push({ score: x, label: e.target });
        byQuery.set(e.query, list);
      } else {
        loss += (x - e.target) ** 2;
      }
    });
  }
  if (config.loss.name !== 'bce') return { examples: pairs.length, loss: loss / pairs.length };
  const ranking = meanReciprocalRank([...byQuery.values()]);
  return { examples: pairs.length, loss: loss / pairs.length, accuracy: correct / pairs.length, ...ranking };
}

/** MRR of the best positive per query, ties with negatives counted half; queries without both kinds skipped. */
export function meanReciprocalRank(queries: readonly (readonly { score: number; label: number }[])[]): { mrr?: number; rankedQueries?: number } {
  let sum = 0;
  let count = 0;
  for (const list of queries) {
    const positives = list.filter((p) => p.label >= 0.5);
    const negatives = list.filter((p) => p.label < 0.5);
    if (positives.length === 0 || negatives.length === 0) continue;
    const best = Math.max(...positives.map((p) => p.score));
    const above = negatives.filter((n) => n.score > best).length + negatives.filter((n) => n.score === best).length / 2;
    sum += 1 / (1 + above);
    count++;
  }
  return count === 0 ? {} : { mrr: sum / count, rankedQueries: count };
}

/**
 * The relevance logits of a token batch with the given weights, without dropout (one
 * inference session per training graph, fed the current weights as inputs).
 */
export async function scoreTokens(
  spec: ModelSpec, parameters: readonly { name: string; shape: readonly number[] }[], params: readonly Float32Array[],
  batch: TokenBatch, threads: number,
): Promise<Float32Array> {
  let session = sessions.get(parameters);
  if (!session) {
    const byName = new Map(parameters.map((p, i) => [p.name, params[i]!]));
    const graph = buildCrossEncoder(spec, (n, shape) => byName.get(n) ?? new Float32Array(shape.reduce((a, b) => a * b, 1)));
    session = ort.InferenceSession.create(toOnnx(graph, { parametersAsInputs: true }), { intraOpNumThreads: threads });
    sessions.set(parameters, session);
  }
  const s = await session;
  const dims = [batch.batchSize, batch.seqLen];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', batch.inputIds, dims),
    attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
    token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, dims),
  };
  parameters.forEach((p, i) => {
    if (s.inputNames.includes(p.name)) feeds[p.name] = new ort.Tensor('float32', params[i]!, [...p.shape]);
  });
  return (await s.run(feeds)).logits!.data as Float32Array;
}
