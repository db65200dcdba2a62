/**
 * Training data: JSON Lines examples for each loss, a seeded shuffled order that can resume
 * at any position, and batches tokenized into the training graph's inputs.
 *
 *   bce          {"query", "document", "label": 0|1}
 *   mse          {"query", "document", "teacher": logit}
 *   margin-mse   {"query", "positive", "negative", "teacher_margin"}  (or teacher_positive/teacher_negative)
 *   listwise-*   {"query", "documents": [k], "teacher": [k]}
 *   mlm          {"text"}
 */
import fs from 'node:fs';
import { InputError } from '../errors.js';
import { packBatch, type EncodedPair, type PairTokenizer, type TokenBatch } from '../tokenizer/index.js';
import type { LossConfig } from './training-graph.js';

export type Example =
  | { readonly kind: 'pair'; readonly query: string; readonly document: string; readonly target: number }
  | { readonly kind: 'margin'; readonly query: string; readonly positive: string; readonly negative: string; readonly margin: number }
  | { readonly kind: 'list'; readonly query: string; readonly documents: readonly string[]; readonly teacher: readonly number[] }
  | { readonly kind: 'text'; readonly text: string };

export interface TrainBatch {
  readonly tokens: TokenBatch;
  readonly target: Float32Array | BigInt64Array;
  readonly targetDims: readonly number[];
  /** Real (unpadded) tokens in the batch, for tokens/s. */
  readonly realTokens: number;
}

/** Reads a JSON Lines file of examples for `loss`; errors name the file and line. */
export function readExamples(path: string, loss: LossConfig): Example[] {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read training data (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'check the data path in the training config');
  }
  const examples: Example[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new InputError(`${path} line ${i + 1}: invalid JSON (${(err as Error).message})`);
    }
    examples.push(parseExample(value, loss, `${path} line ${i + 1}`));
  });
  if (examples.length === 0) throw new InputError(`${path}: no examples`, 'the file must hold one JSON object per line');
  if (loss.name === 'listwise-kl' || loss.name === 'listwise-ce') {
    examples.forEach((e, i) => {
      if (e.kind === 'list' && e.documents.length !== loss.listSize) {
        throw new InputError(`${path}: example ${i + 1} has ${e.documents.length} documents; list_size is ${loss.listSize}`, 'give every query exactly list_size candidates');
      }
    });
  }
  return examples;
}

function parseExample(value: unknown, loss: LossConfig, where: string): Example {
  const o = (value ?? {}) as Record<string, unknown>;
  const str = (key: string): string => {
    if (typeof o[key] !== 'string') throw new InputError(`${where}: "${key}" must be a string for loss ${loss.name}`);
    return o[key] as string;
  };
  const num = (key: string): number => {
    if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) throw new InputError(`${where}: "${key}" must be a finite number for loss ${loss.name}`);
    return float32(o[key] as number, `"${key}"`);
  };
  // Targets are fed to the graph as float32: a number beyond its range would arrive as infinity.
  const float32 = (x: number, what: string): number => {
    if (!Number.isFinite(Math.fround(x))) throw new InputError(`${where}: ${what} is ${x}, beyond float32's range (±3.4e38)`, 'rescale the teacher scores');
    return x;
  };
  switch (loss.name) {
    case 'bce': return { kind: 'pair', query: str('query'), document: str('document'), target: num('label') };
    case 'mse': return { kind: 'pair', query: str('query'), document: str('document'), target: num('teacher') };
    case 'margin-mse': {
      const margin = typeof o.teacher_margin === 'number' ? num('teacher_margin') : float32(num('teacher_positive') - num('teacher_negative'), 'the teacher margin');
      return { kind: 'margin', query: str('query'), positive: str('positive'), negative: str('negative'), margin };
    }
    case 'listwise-kl':
    case 'listwise-ce': {
      const docs = o.documents;
      const teacher = o.teacher;
      if (!Array.isArray(docs) || !docs.every((d) => typeof d === 'string')) throw new InputError(`${where}: "documents" must be an array of strings`);
      if (!Array.isArray(teacher) || teacher.length !== docs.length || !teacher.every((t) => typeof t === 'number' && Number.isFinite(t))) {
        throw new InputError(`${where}: "teacher" must be an array of ${docs.length} finite numbers`);
      }
      (teacher as number[]).forEach((t, i) => float32(t, `"teacher"[${i}]`));
      return { kind: 'list', query: str('query'), documents: docs as string[], teacher: teacher as number[] };
    }
    case 'mlm': return { kind: 'text', text: str('text') };
  }
}

/** Mulberry32, the project's seeded generator (bench/random-model.ts has the same). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a loader stands: epoch and index into that epoch's permutation. */
export interface DataPosition {
  readonly epoch: number;
  readonly index: number;
}

/**
 * Examples in a seeded order, reshuffled each epoch (the permutation depends only on the seed
 * and the epoch, so a resumed run picks up exactly where it stopped).
 */
export class ExampleStream {
  private order: number[];
  private epoch: number;
  private index: number;

  constructor(private readonly examples: readonly Example[], private readonly seed: number, start: DataPosition = { epoch: 0, index: 0 }) {
    this.epoch = start.epoch;
    this.index = start.index;
    this.order = this.permutation(this.epoch);
  }

  get position(): DataPosition {
    return { epoch: this.epoch, index: this.index };
  }

  take(n: number): Example[] {
    const out: Example[] = [];
    while (out.length < n) {
      if (this.index >= this.order.length) {
        this.epoch++;
        this.index = 0;
        this.order = this.permutation(this.epoch);
      }
      out.push(this.examples[this.order[this.index++]!]!);
    }
    return out;
  }

  private permutation(epoch: number): number[] {
    const random = seededRandom(this.seed * 1000003 + epoch);
    const order = this.examples.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }
}

export interface BatchOptions {
  readonly maxLength: number;
  /** For MLM masking; its stream advances with the data so runs reproduce. */
  readonly random: () => number;
  readonly maskProbability?: number;
}

/** Tokenizes examples into the graph's inputs: token ids plus the loss's target tensor. */
export async function makeBatch(examples: readonly Example[], tokenizer: PairTokenizer, loss: LossConfig, options: BatchOptions): Promise<TrainBatch> {
  const pairs: { query: string; document: string }[] = [];
  const target: number[] = [];
  for (const e of examples) {
    if (e.kind === 'pair') {
      pairs.push({ query: e.query, document: e.document });
      target.push(e.target);
    } else if (e.kind === 'margin') {
      pairs.push({ query: e.query, document: e.positive }, { query: e.query, document: e.negative });
      target.push(e.margin);
    } else if (e.kind === 'list') {
      for (const d of e.documents) pairs.push({ query: e.query, document: d });
      target.push(...e.teacher);
    } else {
      pairs.push(splitText(e.text));
    }
  }
  const encoded = await tokenizer.encodePairs(pairs, options.maxLength);
  const realTokens = encoded.reduce((n, p) => n + p.length, 0);
  if (loss.name === 'mlm') {
    const masked = maskTokens(encoded, tokenizer, options);
    const tokens = packBatch(masked.inputs, tokenizer.padId);
    return { tokens, target: labelsFor(masked.labels, tokens), targetDims: [tokens.batchSize * tokens.seqLen], realTokens };
  }
  const targetDims = loss.name === 'listwise-kl' || loss.name === 'listwise-ce' ? [examples.length, target.length / examples.length] : [target.length];
  return { tokens: packBatch(encoded, tokenizer.padId), target: Float32Array.from(target), targetDims, realTokens };
}

/** A plain text as a pair: its two halves split at a space, as BERT pre-training pairs segments. */
function splitText(text: string): { query: string; document: string } {
  const middle = text.indexOf(' ', Math.floor(text.length / 2));
  return middle < 0 ? { query: text, document: '' } : { query: text.slice(0, middle), document: text.slice(middle + 1) };
}

/**
 * BERT's masking: each non-special token is chosen with probability 15%; a chosen token becomes
 * the mask token 80% of the time, a random token 10%, and stays 10%. Labels keep the original
 * id at chosen positions and −100 elsewhere.
 */
function maskTokens(encoded: readonly EncodedPair[], tokenizer: PairTokenizer, options: BatchOptions): { inputs: EncodedPair[]; labels: number[][] } {
  const maskId = tokenizer.maskId;
  if (maskId === undefined) throw new InputError('masked-LM training needs a [MASK] or <mask> token in tokenizer.json');
  const special = new Set([tokenizer.clsId, tokenizer.sepId, tokenizer.padId]);
  const p = options.maskProbability ?? 0.15;
  const inputs: EncodedPair[] = [];
  const labels: number[][] = [];
  for (const pair of encoded) {
    const ids = Array.from(pair.ids);
    const rowLabels = ids.map(() => -100);
    ids.forEach((id, i) => {
      if (special.has(id) || options.random() >= p) return;
      rowLabels[i] = id;
      const r = options.random();
      if (r < 0.8) ids[i] = maskId;
      else if (r < 0.9) ids[i] = Math.floor(options.random() * tokenizer.vocabSize);
    });
    inputs.push({ ids, typeIds: pair.typeIds, length: pair.length });
    labels.push(rowLabels);
  }
  return { inputs, labels };
}

/** Labels laid out like the padded batch, flattened to [batch·seq]; padding is −100. */
function labelsFor(labels: readonly number[][], tokens: TokenBatch): BigInt64Array {
  const out = new BigInt64Array(tokens.batchSize * tokens.seqLen).fill(-100n);
  labels.forEach((row, b) => row.forEach((id, i) => {
    out[b * tokens.seqLen + i] = BigInt(id);
  }));
  return out;
}
