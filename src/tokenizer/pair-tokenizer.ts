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
    /**
     * Whether a long document may be tokenized from a prefix cut at a space (see
     * prefixSafe): true for WordPiece tokenizers with BERT-style normalizing and splitting.
     */
    readonly prefixCut: boolean,
  ) {}

  /** The id of a token in the vocabulary (added tokens included), or undefined. */
  tokenId(token: string): number | undefined {
    return this.native.tokenToId(token) ?? undefined;
  }

  /** The mask token ([MASK] or <mask>) for masked-LM pre-training, if the vocabulary has one. */
  get maskId(): number | undefined {
    return this.tokenId('[MASK]') ?? this.tokenId('<mask>');
  }

  /**
   * Reads tokenizer.json; throws TokenizerError naming the file when it cannot be used.
   * `prefixCut: false` always tokenizes whole documents (for checking the shortcut).
   */
  static async load(tokenizerJsonPath: string, options: { readonly prefixCut?: boolean } = {}): Promise<PairTokenizer> {
    const { text, json } = await readTokenizerJson(tokenizerJsonPath);
    const info = inspectTokenizerJson(json, tokenizerJsonPath);
    const native = nativeFromJson(text, tokenizerJsonPath);
    // Encoding an empty pair yields exactly the post-processor's special tokens.
    const numSpecial = (await native.encode('', '')).getLength();
    return new PairTokenizer(tokenizerJsonPath, native, info.kind, info.padId, info.clsId,
      info.sepId, numSpecial, native.getVocabSize(true), (options.prefixCut ?? true) && prefixSafe(json));
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
    const cutAt = this.prefixCut && direction === 'right' ? PREFIX_CHARS_PER_TOKEN * budget : Infinity;
    return Promise.all(pairs.map((pair, i) => encodePair(this.native, pair, i, budget, direction, cutAt)));
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

async function encodePair(native: Tokenizer, pair: QueryDocumentPair, index: number, budget: number, direction: TruncationDirection, cutAt: number): Promise<EncodedPair> {
  if (typeof pair.query !== 'string' || typeof pair.document !== 'string') {
    throw new InputError(`pair ${index}: query and document must both be strings`);
  }
  const query = wellFormed(pair.query);
  const space = pair.document.length > cutAt ? pair.document.indexOf(' ', cutAt) : -1;
  if (space > 0) {
    const cut = await native.encode(query, wellFormed(pair.document.slice(0, space)));
    const sequenceIds = cut.getSequenceIds();
    const [queryTokens, documentTokens] = sideLengths(sequenceIds);
    // With more document tokens than the budget and at least as many as the query's, the
    // longest-first split is the one the whole document gets (longestFirstLengths reads the
    // longer side's length only through these comparisons), and the tokens kept are the same.
    if (documentTokens > budget && documentTokens >= queryTokens) return truncatePair(cut.getIds(), cut.getTypeIds(), sequenceIds, budget, direction);
  }
  const encoding: Encoding = await native.encode(query, wellFormed(pair.document));
  return truncatePair(encoding.getIds(), encoding.getTypeIds(), encoding.getSequenceIds(), budget, direction);
}

/**
 * A document is cut (at the first space after this many characters per token of the budget)
 * before tokenizing; English WordPiece averages under 5 characters a token, so the cut almost
 * always holds more tokens than the budget, and when it does not, the whole document is
 * tokenized after all. Long documents (RAG chunks, web pages) are then tokenized in time
 * proportional to what is kept, not to their length.
 */
const PREFIX_CHARS_PER_TOKEN = 8;

/** Normalizers that map each character on its own (or, for NFD/NFKD, each run up to the next starter). */
const PREFIX_SAFE_NORMALIZERS = new Set(['BertNormalizer', 'Lowercase', 'StripAccents', 'NFD', 'NFKD']);
/** Pre-tokenizers for which a space always ends a word, and whitespace makes no tokens. */
const PREFIX_SAFE_PRE_TOKENIZERS = new Set(['BertPreTokenizer', 'Whitespace', 'WhitespaceSplit']);

/**
 * Whether the tokens of a document cut just before a space are exactly the first tokens of the
 * whole document: true when the model is WordPiece (each word tokenized on its own), the
 * pre-tokenizer splits at every space and drops whitespace, and the normalizer works
 * character by character, so nothing after the cut can change the words before it. Byte-level
 * BPE and SentencePiece-style tokenizers (whose spaces become part of tokens), and any step
 * not listed, keep tokenizing whole documents.
 */
function prefixSafe(json: Record<string, unknown>): boolean {
  const typeOf = (step: unknown): string | undefined => (typeof step === 'object' && step !== null && typeof (step as { type?: unknown }).type === 'string' ? (step as { type: string }).type : undefined);
  const steps = (step: unknown, key: 'normalizers' | 'pretokenizers'): unknown[] => (typeOf(step) === 'Sequence' ? ((step as Record<string, unknown>)[key] as unknown[] | undefined) ?? [undefined] : [step]);
  const model = json.model as { type?: unknown } | undefined;
  if (model?.type !== 'WordPiece') return false;
  const normalizers = json.normalizer === null || json.normalizer === undefined ? [] : steps(json.normalizer, 'normalizers');
  if (!normalizers.every((n) => PREFIX_SAFE_NORMALIZERS.has(typeOf(n) ?? ''))) return false;
  const pre = steps(json.pre_tokenizer, 'pretokenizers');
  return pre.length > 0 && pre.every((p) => PREFIX_SAFE_PRE_TOKENIZERS.has(typeOf(p) ?? ''));
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
  const counts = sideLengths(sequenceIds);
  const limits = longestFirstLengths(counts[0], counts[1], budget);
  if (limits[0] === counts[0] && limits[1] === counts[1]) return { ids, typeIds, length: ids.length };
  // Tokens of each side kept are those at positions [from, from + limit) within the side.
  const from = direction === 'left' ? [counts[0] - limits[0], counts[1] - limits[1]] : [0, 0];
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

/** Tokens of the query (sequence 0) and of the document (sequence 1); special tokens have no sequence. */
function sideLengths(sequenceIds: readonly (number | null | undefined)[]): [number, number] {
  const counts: [number, number] = [0, 0];
  for (const sequence of sequenceIds) if (sequence === 0 || sequence === 1) counts[sequence]++;
  return counts;
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
