/**
 * The library face: load a cross-encoder from disk, score (query, document) pairs, and
 * rank documents for a query.
 *
 *   const reranker = await Reranker.load('jinaai/jina-reranker-v1-turbo-en');
 *   const ranked = await reranker.rerank('what is ALiBi?', docs, { topN: 3 });
 */
import fs from 'node:fs';
import { loadCheckpoint, locateModel, type LocatedModel } from '../checkpoint/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import { InputError, MaxLengthError, ModelConfigError } from '../errors.js';
import { CrossEncoderSession, DEFAULT_BATCH_PLAN, planBatches, sessionForCheckpoint, type BatchPlanOptions, type Precision, type RuntimeOptions } from '../runtime/index.js';
import { PairTokenizer, packBatch, type EncodedPair } from '../tokenizer/index.js';
import { defaultModelPath, isBundledTestModel } from './default-model.js';

export type { EncodedPair } from '../tokenizer/index.js';
export type { BatchPlanOptions } from '../runtime/index.js';

/** A document as the API takes it: plain text, or an object with `text`. */
export type DocumentInput = string | { readonly text: string };

export interface LoadOptions extends RuntimeOptions {
  /** Default token budget per (query, document) pair; see `defaultMaxLength`. */
  readonly maxLength?: number;
  /** Most pairs per inference batch (default 32). */
  readonly batchSize?: number;
  /** Environment for Hugging Face cache lookup (HF_HOME, HF_HUB_CACHE). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RerankOptions {
  /** Keep only the best N results (default: all). */
  readonly topN?: number;
  /** Include each document's text in its result. */
  readonly returnDocuments?: boolean;
  /** Tokens per pair, special tokens included; longer pairs are truncated longest-first. */
  readonly maxLength?: number;
  readonly batchSize?: number;
}

export interface RerankResult {
  /** Position of the document in the input list. */
  readonly index: number;
  /** sigmoid(logit) in [0, 1], what Jina's API reports as relevance_score. */
  readonly score: number;
  readonly logit: number;
  readonly document?: { readonly text: string };
}

export interface ScoreOptions {
  readonly maxLength?: number;
  readonly batchSize?: number;
}

export interface RerankerInfo {
  /** What the user asked for (a path or hub name), or the shipped default model's path. */
  readonly name: string;
  readonly format: 'safetensors' | 'onnx';
  readonly spec: ModelSpec | undefined;
  readonly tokenizerKind: 'wordpiece' | 'bpe' | 'unigram';
  readonly maxLength: number;
  readonly modelMaxLength: number;
  /** True for the random-weight model bundled for tests and demos: its scores mean nothing. */
  readonly isTestModel: boolean;
  /** Arithmetic of the weight products (LoadOptions.precision). */
  readonly precision: Precision;
}

/**
 * The default token budget for a pair. ALiBi models accept 8192 tokens, but attention cost
 * grows with the square of the length and reranked passages are rarely that long: we use
 * 1024 (as Jina's own compute_score helpers do for later rerankers), and the model's limit
 * for absolute-position models. `maxLength` raises it up to the model's limit.
 */
export function defaultMaxLength(modelMaxLength: number, positionEmbedding: ModelSpec['positionEmbedding'] | undefined): number {
  return positionEmbedding === 'absolute' ? modelMaxLength : Math.min(1024, modelMaxLength);
}

export class Reranker {
  private constructor(
    private readonly session: CrossEncoderSession,
    private readonly tokenizer: PairTokenizer,
    readonly info: RerankerInfo,
    private readonly batchSize: number,
  ) {}

  /**
   * Loads a model from a directory (config.json, model.safetensors, tokenizer.json), an ONNX
   * file or a repository with onnx/model.onnx, or a Hugging Face hub name found in the local
   * cache. With no name, loads the shipped default model.
   */
  static async load(modelPathOrName?: string, options: LoadOptions = {}): Promise<Reranker> {
    const name = modelPathOrName ?? defaultModelPath();
    const located = locateModel(name, options.env ?? process.env);
    const tokenizer = await PairTokenizer.load(located.tokenizerPath);
    const { session, spec, limits, format } = await openSession(located, options);
    const modelMaxLength = limits.maxTokens;
    const maxLength = options.maxLength ?? defaultMaxLength(modelMaxLength, limits.positionEmbedding);
    try {
      checkMaxLength(maxLength, modelMaxLength, name);
      if (spec && tokenizer.vocabSize > spec.vocabSize) {
        throw new ModelConfigError(located.tokenizerPath,
          `the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has ${spec.vocabSize} rows`,
          'tokenizer.json and the weights come from different models: use the tokenizer that shipped with the model');
      }
    } catch (err) {
      await session.close(); // a long-lived caller (the server) must not keep a refused model's session
      throw err;
    }
    const info: RerankerInfo = {
      name, format, spec, tokenizerKind: tokenizer.kind, maxLength, modelMaxLength,
      isTestModel: isBundledTestModel(located.dir), precision: options.precision ?? 'fp32',
    };
    return new Reranker(session, tokenizer, info, options.batchSize ?? DEFAULT_BATCH_PLAN.maxBatchSize);
  }

  /** Raw logits for (query, document) pairs, in input order. */
  async score(pairs: readonly { readonly query: string; readonly document: string }[], options: ScoreOptions = {}): Promise<Float32Array> {
    const maxLength = options.maxLength ?? this.info.maxLength;
    checkMaxLength(maxLength, this.info.modelMaxLength, this.info.name);
    if (pairs.length === 0) return new Float32Array(0);
    const encoded = await this.tokenizer.encodePairs(pairs, maxLength);
    return this.scoreEncoded(encoded, { maxBatchSize: options.batchSize ?? this.batchSize });
  }

  /**
   * Raw logits for pairs already tokenized (by the model's tokenizer, as `score` does), in
   * input order, run in length-bucketed batches under `plan` (default: this reranker's batch
   * size). For callers that batch across requests themselves, such as the server's queue: a
   * plan as large as the input runs it as one batch. Pairs over the model's limit are refused.
   */
  async scoreEncoded(encoded: readonly EncodedPair[], plan: Partial<BatchPlanOptions> = {}): Promise<Float32Array> {
    const tooLong = encoded.findIndex((pair) => pair.length > this.info.modelMaxLength);
    if (tooLong >= 0) {
      throw new InputError(`pair ${tooLong} has ${encoded[tooLong]!.length} tokens; ${this.info.name} accepts at most ${this.info.modelMaxLength}`,
        `truncate pairs to at most ${this.info.modelMaxLength} tokens`);
    }
    const maxBatchSize = plan.maxBatchSize ?? this.batchSize;
    const maxBatchTokens = plan.maxBatchTokens ?? Math.max(DEFAULT_BATCH_PLAN.maxBatchTokens, maxBatchSize * 64);
    const logits = new Float32Array(encoded.length);
    for (const indices of planBatches(encoded, { maxBatchSize, maxBatchTokens, batchOverheadTokens: plan.batchOverheadTokens })) {
      const batch = packBatch(indices.map((i) => encoded[i]!), this.tokenizer.padId);
      const out = await this.session.run(batch);
      indices.forEach((original, row) => {
        logits[original] = relevanceLogit(out.logits, row, out.numLabels);
      });
    }
    return logits;
  }

  /** Documents ranked by relevance to the query, best first; ties keep input order. */
  async rerank(query: string, documents: readonly DocumentInput[], options: RerankOptions = {}): Promise<RerankResult[]> {
    if (typeof query !== 'string') throw new InputError('query must be a string');
    const texts = documents.map(documentText);
    const topN = options.topN ?? texts.length;
    if (!Number.isInteger(topN) || topN < 0) throw new InputError(`topN must be a non-negative integer, got ${String(options.topN)}`);
    const logits = await this.score(texts.map((document) => ({ query, document })), options);
    const results = texts.map((text, index) => {
      const logit = logits[index]!;
      const result: RerankResult = { index, score: sigmoid(logit), logit };
      return options.returnDocuments ? { ...result, document: { text } } : result;
    });
    // Array.prototype.sort is stable, so equal scores keep input order.
    results.sort((a, b) => b.logit - a.logit);
    return results.slice(0, topN);
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** How many tokens a pair may have, and what kind of positions set that limit. */
interface TokenLimits {
  readonly maxTokens: number;
  readonly positionEmbedding: ModelSpec['positionEmbedding'] | undefined;
}

async function openSession(located: LocatedModel, options: RuntimeOptions): Promise<{ session: CrossEncoderSession; spec: ModelSpec | undefined; limits: TokenLimits; format: RerankerInfo['format'] }> {
  if (located.kind === 'onnx') {
    const session = await CrossEncoderSession.fromFile(located.onnxPath, options);
    return { session, spec: undefined, limits: onnxTokenLimits(located), format: 'onnx' };
  }
  const checkpoint = loadCheckpoint(located);
  const session = await sessionForCheckpoint(checkpoint, options);
  const limits = { maxTokens: checkpoint.spec.maxPositions, positionEmbedding: checkpoint.spec.positionEmbedding };
  return { session, spec: checkpoint.spec, limits, format: 'safetensors' };
}

/**
 * For an ONNX export the graph holds the weights; config.json, when present, only tells the
 * token limit: 8192 for ALiBi, max_position_embeddings for absolute positions, less the
 * pad_token_id + 1 slots RoBERTa-style models reserve before the first position. A config we
 * cannot read is not fatal (the export still runs), and then 8192 is assumed.
 */
function onnxTokenLimits(located: Extract<LocatedModel, { kind: 'onnx' }>): TokenLimits {
  const fallback: TokenLimits = { maxTokens: 8192, positionEmbedding: undefined };
  if (!located.configPath || !fs.existsSync(located.configPath)) return fallback;
  try {
    const config = JSON.parse(fs.readFileSync(located.configPath, 'utf8')) as Record<string, unknown>;
    const max = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : undefined;
    if (config.position_embedding_type === 'alibi') return { maxTokens: Math.max(8192, max ?? 0), positionEmbedding: 'alibi' };
    if (max === undefined) return fallback;
    const roberta = config.model_type === 'xlm-roberta' || config.model_type === 'roberta';
    const reserved = roberta && typeof config.pad_token_id === 'number' ? config.pad_token_id + 1 : 0;
    return { maxTokens: max - reserved, positionEmbedding: 'absolute' };
  } catch {
    return fallback;
  }
}

function checkMaxLength(maxLength: number, modelMaxLength: number, name: string): void {
  // The tokenizer checks the lower bound, which depends on its special tokens.
  if (!Number.isInteger(maxLength) || maxLength > modelMaxLength) {
    throw new MaxLengthError(`maxLength ${maxLength} is out of range for ${name}: the model accepts at most ${modelMaxLength} tokens per pair`,
      `pass an integer maxLength of at most ${modelMaxLength}`);
  }
}

function documentText(doc: DocumentInput, index: number): string {
  if (typeof doc === 'string') return doc;
  if (doc !== null && typeof doc === 'object' && typeof (doc as { text?: unknown }).text === 'string') return doc.text;
  throw new InputError(`document ${index} must be a string or an object with a string "text", got ${JSON.stringify(doc)?.slice(0, 80)}`);
}

/**
 * One relevance logit per row. One label: the logit itself. Two labels (binary classifiers
 * trained with softmax): logit₁ − logit₀, so sigmoid of it equals softmax's p(relevant).
 */
function relevanceLogit(logits: Float32Array, row: number, numLabels: number): number {
  if (numLabels === 1) return logits[row]!;
  if (numLabels === 2) return logits[row * 2 + 1]! - logits[row * 2]!;
  throw new InputError(`the model has ${numLabels} output labels; a reranker needs 1 (or 2: irrelevant, relevant)`);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
