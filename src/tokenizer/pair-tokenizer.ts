/**
 * (query, document) → token ids, with Hugging Face's own tokenizer (the Rust crate through its
 * npm binding `tokenizers`), so ids match what the model was trained and exported with.
 * docs/TOKENIZER.md has the measurement behind that choice.
 */
import { Tokenizer, type Encoding } from 'tokenizers';
import { InputError, MaxLengthError, TokenizerError } from '../errors.js';
import type { EncodedPair } from './batch.js';
import { inspectTokenizerJson, readTokenizerJson, type TokenizerKind } from './tokenizer-json.js';

export interface QueryDocumentPair {
  readonly query: string;
  readonly document: string;
}

/**
 * Which end of a too-long text is cut. 'right' (the default everywhere) keeps the start of the
 * query and of the document; 'left' keeps their ends, as Hugging Face tokenizers'
 * TruncationDirection.Left does and as text-embeddings-inference offers its clients.
 */
export type TruncationDirection = 'right' | 'left';

export class PairTokenizer {
  private constructor(
    private readonly path: string,
    /** Truncation and padding off: encodePairs truncates itself (see longestFirstLengths). */
    private readonly native: Tokenizer,
    readonly kind: TokenizerKind,
    /** Id used for right padding, read from tokenizer.json (never config.json). */
    readonly padId: number,
    /** Classifier token ([CLS] / <s>) the post-processor puts first. */
    readonly clsId: number,
    /** Separator token ([SEP] / </s>) the post-processor puts after each sequence. */
    readonly sepId: number,
    /** Special tokens around a pair: 3 for `[CLS] A [SEP] B [SEP]`, 4 for `<s> A </s></s> B </s>`. */
    readonly numSpecialTokensForPair: number,
    /** Vocabulary size including added tokens: every id is below it. */
    readonly vocabSize: number,
  ) {}

  /** The id of a token in the vocabulary (added tokens included), or undefined. */
  tokenId(token: string): number | undefined {
    return this.native.tokenToId(token) ?? undefined;
  }

  /** The mask token ([MASK] or <mask>) for masked-LM pre-training, if the vocabulary has one. */
  get maskId(): number | undefined {
    return this.tokenId('[MASK]') ?? this.tokenId('<mask>');
  }

  /** Reads tokenizer.json; throws TokenizerError naming the file when it cannot be used. */
  static async load(tokenizerJsonPath: string): Promise<PairTokenizer> {
    const { text, json } = await readTokenizerJson(tokenizerJsonPath);
    const info = inspectTokenizerJson(json, tokenizerJsonPath);
    const native = nativeFromJson(text, tokenizerJsonPath);
    // Encoding an empty pair yields exactly the post-processor's special tokens.
    const numSpecial = (await native.encode('', '')).getLength();
    return new PairTokenizer(tokenizerJsonPath, native, info.kind, info.padId, info.clsId,
      info.sepId, numSpecial, native.getVocabSize(true));
  }

  /** The smallest maxLength that still keeps one token of the query and one of the document. */
  get minMaxLength(): number {
    return this.numSpecialTokensForPair + 2;
  }

  /**
   * Encodes each pair as `[CLS] query [SEP] document [SEP]` (or the tokenizer's own layout),
   * truncated longest-first so the total, special tokens included, is at most maxLength;
   * no padding (packBatch pads). Any truncation or padding in tokenizer.json is ignored.
   * Lone UTF-16 surrogates are replaced by U+FFFD first (see wellFormed).
   *
   * `direction` 'left' keeps the end of each side instead of its start, with the same
   * longest-first split of the budget: Hugging Face tokenizers' LongestFirst strategy with
   * TruncationDirection.Left, which is what text-embeddings-inference runs for a rerank
   * request with truncation_direction "Left".
   */
  async encodePairs(pairs: readonly QueryDocumentPair[], maxLength: number, direction: TruncationDirection = 'right'): Promise<EncodedPair[]> {
    this.checkMaxLength(maxLength);
    if (direction !== 'right' && direction !== 'left') throw new InputError(`truncation direction must be 'right' or 'left', got ${String(direction)}`);
    const budget = maxLength - this.numSpecialTokensForPair;
    // encodeBatch in this binding rejects [a, b] pair inputs; concurrent single encodes
    // run on the libuv pool just the same.
    return Promise.all(pairs.map((pair, i) => encodePair(this.native, pair, i, budget, direction)));
  }

  private checkMaxLength(maxLength: number): void {
    if (!Number.isInteger(maxLength) || maxLength < this.minMaxLength) {
      throw new MaxLengthError(
        `maxLength ${maxLength} is too small for ${this.path}: a pair needs at least ${this.minMaxLength} tokens ` +
          `(${this.numSpecialTokensForPair} special tokens + 1 for the query + 1 for the document)`,
        `use a maxLength of at least ${this.minMaxLength}; cross-encoders are usually run at 512`);
    }
  }
}

/** A native tokenizer with the file's own padding and truncation switched off. */
function nativeFromJson(jsonText: string, path: string): Tokenizer {
  let native: Tokenizer;
  try {
    native = Tokenizer.fromString(jsonText);
  } catch (err) {
    throw new TokenizerError(path, `Hugging Face tokenizers cannot load it: ${(err as Error).message}`,
      'the file may come from a newer tokenizers version or be hand-edited; re-save it with `tokenizers`',
      { cause: err });
  }
  native.disablePadding();
  native.disableTruncation();
  return native;
}

async function encodePair(native: Tokenizer, pair: QueryDocumentPair, index: number, budget: number, direction: TruncationDirection): Promise<EncodedPair> {
  if (typeof pair.query !== 'string' || typeof pair.document !== 'string') {
    throw new InputError(`pair ${index}: query and document must both be strings`);
  }
  const encoding: Encoding = await native.encode(wellFormed(pair.query), wellFormed(pair.document));
  return truncatePair(encoding.getIds(), encoding.getTypeIds(), encoding.getSequenceIds(), budget, direction);
}

/**
 * Hugging Face's longest_first split of `budget` tokens (special tokens excluded) between a query
 * of n1 and a document of n2 tokens, as tokenizers documents and unit-tests truncate_encodings:
 * the shorter side stays whole when the longer one can take the rest; otherwise each gets half
 * and the longer side (the document, on a tie) the odd token. The compiled binding (npm
 * `tokenizers` 0.23.2, and Python tokenizers 0.23.2 on the same Rust core) departs from this for
 * some pairs whose sides both exceed half the budget, and then disagrees with the golden fixtures
 * (deberta-v2-golden's truncate-both-* cases), which follow it. So the binding encodes
 * untruncated and we cut here.
 */
export function longestFirstLengths(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  const swap = n1 > n2;
  let shorter = swap ? n2 : n1;
  let longer = shorter > budget ? shorter : Math.max(shorter, budget - shorter);
  if (shorter + longer > budget) {
    shorter = Math.floor(budget / 2);
    longer = shorter + (budget % 2);
  }
  return swap ? [longer, shorter] : [shorter, longer];
}

/**
 * Keeps the first (direction 'left': the last) n1 tokens of the query, n2 of the document and
 * every special token the post-processor added (sequence id null), each with its type id: the
 * same ids as truncating before post-processing, whatever the template's layout.
 */
function truncatePair(
  ids: readonly number[], typeIds: readonly number[], sequenceIds: readonly (number | null | undefined)[], budget: number,
  direction: TruncationDirection,
): EncodedPair {
  const counts = [0, 0];
  for (const sequence of sequenceIds) if (sequence === 0 || sequence === 1) counts[sequence]!++;
  const limits = longestFirstLengths(counts[0]!, counts[1]!, budget);
  if (limits[0] === counts[0] && limits[1] === counts[1]) return { ids, typeIds, length: ids.length };
  // Tokens of each side kept are those at positions [from, from + limit) within the side.
  const from = direction === 'left' ? [counts[0]! - limits[0], counts[1]! - limits[1]] : [0, 0];
  const kept = { ids: [] as number[], typeIds: [] as number[] };
  const seen = [0, 0];
  sequenceIds.forEach((sequence, i) => {
    if (sequence === 0 || sequence === 1) {
      const position = seen[sequence]!++;
      if (position < from[sequence]! || position >= from[sequence]! + limits[sequence]) return;
    }
    kept.ids.push(ids[i]!);
    kept.typeIds.push(typeIds[i]!);
  });
  return { ids: kept.ids, typeIds: kept.typeIds, length: kept.ids.length };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text cut from the middle of a surrogate pair (a naive `slice` of an emoji) is not valid
 * Unicode, and Python's tokenizers refuses it. We replace each lone surrogate by U+FFFD,
 * as String.prototype.toWellFormed does, so the result is defined here rather than left to
 * the binding's string conversion. BERT's normalizer then drops U+FFFD; byte-level BPE
 * encodes its three UTF-8 bytes.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}
