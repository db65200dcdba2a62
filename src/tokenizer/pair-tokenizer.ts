/**
 * (query, document) → token ids, with Hugging Face's own tokenizer (the Rust crate through its
 * npm binding `tokenizers`), so ids match what the model was trained and exported with.
 * docs/TOKENIZER.md has the measurement behind that choice.
 */
import { Tokenizer, TruncationStrategy, type Encoding } from 'tokenizers';
import { InputError, TokenizerError } from '../errors.js';
import type { EncodedPair } from './batch.js';
import { inspectTokenizerJson, readTokenizerJson, type TokenizerKind } from './tokenizer-json.js';

export interface QueryDocumentPair {
  readonly query: string;
  readonly document: string;
}

/**
 * The binding keeps its truncation setting on the native tokenizer and reads it when an
 * encode task runs on the thread pool, not when `encode` is called: a setTruncation between
 * two calls changes the earlier one too. So each maxLength gets its own native tokenizer,
 * configured once and never changed; a handful covers every bucket the runtime uses.
 */
const MAX_NATIVE_TOKENIZERS = 8;

export class PairTokenizer {
  /** Native tokenizers by the maxLength they truncate to; insertion order = age. */
  private readonly nativeByMaxLength = new Map<number, Tokenizer>();
  /** The one built while loading, handed to the first maxLength asked for. */
  private spareNative: Tokenizer | undefined;

  private constructor(
    private readonly path: string,
    private readonly jsonText: string,
    loadedNative: Tokenizer,
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
  ) {
    this.spareNative = loadedNative;
    this.lookup = loadedNative;
  }

  /** For vocabulary lookups only (they do not depend on truncation settings). */
  private readonly lookup: Tokenizer;

  /** The id of a token in the vocabulary (added tokens included), or undefined. */
  tokenId(token: string): number | undefined {
    return this.lookup.tokenToId(token) ?? undefined;
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
    return new PairTokenizer(tokenizerJsonPath, text, native, info.kind, info.padId, info.clsId,
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
   */
  async encodePairs(pairs: readonly QueryDocumentPair[], maxLength: number): Promise<EncodedPair[]> {
    this.checkMaxLength(maxLength);
    const native = this.nativeFor(maxLength);
    // encodeBatch in this binding rejects [a, b] pair inputs; concurrent single encodes
    // run on the libuv pool just the same.
    return Promise.all(pairs.map((pair, i) => encodePair(native, pair, i)));
  }

  private checkMaxLength(maxLength: number): void {
    if (!Number.isInteger(maxLength) || maxLength < this.minMaxLength) {
      throw new InputError(
        `maxLength ${maxLength} is too small for ${this.path}: a pair needs at least ${this.minMaxLength} tokens ` +
          `(${this.numSpecialTokensForPair} special tokens + 1 for the query + 1 for the document)`,
        `use a maxLength of at least ${this.minMaxLength}; cross-encoders are usually run at 512`);
    }
  }

  private nativeFor(maxLength: number): Tokenizer {
    const cached = this.nativeByMaxLength.get(maxLength);
    if (cached) return cached;
    const native = this.spareNative ?? nativeFromJson(this.jsonText, this.path);
    this.spareNative = undefined;
    native.setTruncation(maxLength, { strategy: TruncationStrategy.LongestFirst });
    if (this.nativeByMaxLength.size >= MAX_NATIVE_TOKENIZERS) {
      // Encodes in flight keep their reference; the evicted tokenizer is never reconfigured.
      const oldest = this.nativeByMaxLength.keys().next().value as number;
      this.nativeByMaxLength.delete(oldest);
    }
    this.nativeByMaxLength.set(maxLength, native);
    return native;
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

async function encodePair(native: Tokenizer, pair: QueryDocumentPair, index: number): Promise<EncodedPair> {
  if (typeof pair.query !== 'string' || typeof pair.document !== 'string') {
    throw new InputError(`pair ${index}: query and document must both be strings`);
  }
  const encoding: Encoding = await native.encode(wellFormed(pair.query), wellFormed(pair.document));
  return { ids: encoding.getIds(), typeIds: encoding.getTypeIds(), length: encoding.getLength() };
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
