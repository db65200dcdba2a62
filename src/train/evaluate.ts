/**
 * Periodic evaluation on a dev set during training, with the weights as they are now: for
 * pointwise data (labels or teacher logits) the mean loss and, with 0/1 labels, accuracy and
 * the MRR of each query's positives among its pairs; for listwise data the mean loss and the
 * MRR of each list's top-target document. Accuracy alone misleads on relevance
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
  /** Mean binary cross-entropy (labels), squared error (teacher logits) or listwise loss (lists). */
  readonly loss: number;
  /**
   * Labels and lists only: mean reciprocal rank of the best-scored positive among the pairs of
   * its query (for lists: of the document(s) with the list's highest target among the list)
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
  const lists = examples.filter((e): e is Extract<Example, { kind: 'list' }> => e.kind === 'list');
  if (lists.length > 0) return evaluateLists(spec, parameters, params, lists, tokenizer, config);
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

/**
 * Listwise dev data: the mean listwise loss of the training (KL or cross-entropy, τ² times) and
 * the MRR of the teacher's top document(s) among each list, as the positives of `bce` dev data.
 */
async function evaluateLists(
  spec: ModelSpec, parameters: readonly { name: string; shape: readonly number[] }[], params: readonly Float32Array[],
  lists: readonly Extract<Example, { kind: 'list' }>[], tokenizer: PairTokenizer, config: TrainConfig,
): Promise<DevMetrics> {
  const tau = config.loss.name === 'listwise-kl' || config.loss.name === 'listwise-ce' ? config.loss.temperature : 1;
  let loss = 0;
  const ranked: { score: number; label: number }[][] = [];
  for (let start = 0; start < lists.length; start += config.batch_size) {
    const chunk = lists.slice(start, start + config.batch_size);
    const pairs = chunk.flatMap((l) => l.documents.map((document) => ({ query: l.query, document })));
    const encoded = await tokenizer.encodePairs(pairs, config.max_length);
    const logits = await scoreTokens(spec, parameters, params, packBatch(encoded, tokenizer.padId), config.threads ?? 1);
    let offset = 0;
    for (const l of chunk) {
      const scores = Array.from(logits.subarray(offset, offset + l.documents.length));
      offset += l.documents.length;
      const target = softmax(l.teacher.map((t) => t / tau));
      const logStudent = logSoftmax(scores.map((x) => x / tau));
      let term = 0;
      target.forEach((p, i) => {
        if (p > 0) term += -p * logStudent[i]! + (config.loss.name === 'listwise-kl' ? p * Math.log(p) : 0);
      });
      loss += tau * tau * term;
      const best = Math.max(...l.teacher);
      ranked.push(scores.map((score, i) => ({ score, label: l.teacher[i] === best ? 1 : 0 })));
    }
  }
  return { examples: lists.length, loss: loss / lists.length, ...meanReciprocalRank(ranked) };
}

function logSoftmax(xs: readonly number[]): number[] {
  const max = Math.max(...xs);
  const log = Math.log(xs.reduce((a, x) => a + Math.exp(x - max), 0)) + max;
  return xs.map((x) => x - log);
}

function softmax(xs: readonly number[]): number[] {
  return logSoftmax(xs).map(Math.exp);
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
