/**
 * Reading tokenizer.json ourselves, before the official binding sees it. The binding's own
 * errors ("expected `,` or `}` at line 1 column 5") do not say which file or what to do; here
 * each way a file can be wrong gets a TokenizerError naming the file and the fix. We also read
 * the special-token ids from the file rather than assuming BERT's or RoBERTa's numbering.
 */
import fs from 'node:fs/promises';
import { TokenizerError } from '../errors.js';

/** The tokenizer families we run: BERT's WordPiece, RoBERTa's byte-level BPE, SentencePiece Unigram (XLM-R, DeBERTa-v3). */
export type TokenizerKind = 'wordpiece' | 'bpe' | 'unigram';

/** What the rest of turborank needs to know about a tokenizer.json, besides encoding it. */
export interface TokenizerFileInfo {
  kind: TokenizerKind;
  padId: number;
  clsId: number;
  sepId: number;
}

type JsonObject = Record<string, unknown>;

const MODEL_KINDS: Record<string, TokenizerKind> = { WordPiece: 'wordpiece', BPE: 'bpe', Unigram: 'unigram' };

/** Reads and parses the file; returns the raw text too, so the binding parses the same bytes. */
export async function readTokenizerJson(path: string): Promise<{ text: string; json: JsonObject }> {
  const text = await readText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TokenizerError(path, `not valid JSON (${(err as Error).message})`,
      'the file is damaged or incomplete: download tokenizer.json again', { cause: err });
  }
  if (!isObject(json)) {
    throw new TokenizerError(path, 'not a tokenizer.json: the top level is not a JSON object');
  }
  return { text, json };
}

async function readText(path: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`;
    throw new TokenizerError(path, problem,
      'a model directory needs the tokenizer.json saved by Hugging Face tokenizers (fast tokenizer)',
      { cause: err });
  }
}

/** Kind and special-token ids, or a TokenizerError saying what is missing. */
export function inspectTokenizerJson(json: JsonObject, path: string): TokenizerFileInfo {
  const kind = modelKind(json, path);
  const { clsId, sepId } = clsAndSep(json.post_processor, path);
  return { kind, padId: padId(json, path), clsId, sepId };
}

function modelKind(json: JsonObject, path: string): TokenizerKind {
  const type = isObject(json.model) ? json.model.type : undefined;
  if (typeof type !== 'string') {
    throw new TokenizerError(path, 'not a tokenizer.json: it has no "model.type"');
  }
  const kind = MODEL_KINDS[type];
  if (kind === undefined) {
    throw new TokenizerError(path,
      `unsupported tokenizer model '${type}': turborank supports WordPiece, BPE (byte-level) and Unigram (SentencePiece) tokenizers`,
      'use the tokenizer.json that Hugging Face transformers saves for the model (a fast tokenizer)');
  }
  return kind;
}

/**
 * The tokenizer's own padding section wins, then the added token `[PAD]` / `<pad>`. A model's
 * config.json `pad_token_id` is deliberately not consulted: jina-reranker-v1-turbo's says 0 while
 * its tokenizer pads with `<pad>` = 1, and the ids the tokenizer produces are what the model saw.
 */
function padId(json: JsonObject, path: string): number {
  if (isObject(json.padding) && isId(json.padding.pad_id)) return json.padding.pad_id;
  const addedTokens = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  for (const content of ['[PAD]', '<pad>']) {
    const token = addedTokens.find((t): t is JsonObject => isObject(t) && t.content === content);
    if (token && isId(token.id)) return token.id;
  }
  throw new TokenizerError(path, 'no padding token: neither a "padding.pad_id" nor an added token [PAD] or <pad>',
    'batching needs a pad id; add the model\'s pad token to tokenizer.json');
}

/**
 * [CLS]/[SEP] (or <s>/</s>) as the post-processor adds them around a pair. Without a
 * post-processor the pair would reach the model with no separators, which a cross-encoder
 * was never trained on, so that is an error rather than a silent mis-encoding.
 */
function clsAndSep(processor: unknown, path: string): { clsId: number; sepId: number } {
  const found = findClsAndSep(processor);
  if (found) return found;
  const type = isObject(processor) ? String(processor.type) : 'none';
  throw new TokenizerError(path,
    `the post_processor (${type}) does not add [CLS]/[SEP]-style special tokens around a pair`,
    'cross-encoders need BertProcessing, RobertaProcessing or a TemplateProcessing with a "pair" template');
}

function findClsAndSep(processor: unknown): { clsId: number; sepId: number } | undefined {
  if (!isObject(processor)) return undefined;
  switch (processor.type) {
    case 'BertProcessing':
    case 'RobertaProcessing':
      return pairIds(processor.cls, processor.sep);
    case 'TemplateProcessing':
      return fromTemplate(processor);
    case 'Sequence': // e.g. [ByteLevel, TemplateProcessing]: the first that adds specials decides
      return Array.isArray(processor.processors)
        ? processor.processors.map(findClsAndSep).find((ids) => ids !== undefined)
        : undefined;
    default:
      return undefined;
  }
}

/** BertProcessing / RobertaProcessing store `cls` and `sep` as [token, id]. */
function pairIds(cls: unknown, sep: unknown): { clsId: number; sepId: number } | undefined {
  const clsId = Array.isArray(cls) ? cls[1] : undefined;
  const sepId = Array.isArray(sep) ? sep[1] : undefined;
  return isId(clsId) && isId(sepId) ? { clsId, sepId } : undefined;
}

/**
 * In a pair template the special token before sequence A is the classifier token and the
 * first one after A is the separator (`[CLS] $A [SEP] $B [SEP]`, `<s> $A </s> </s> $B </s>`).
 */
function fromTemplate(processor: JsonObject): { clsId: number; sepId: number } | undefined {
  const pair = Array.isArray(processor.pair) ? processor.pair : [];
  const sequenceAt = pair.findIndex((item) => isObject(item) && isObject(item.Sequence));
  const specialName = (item: unknown): string | undefined =>
    isObject(item) && isObject(item.SpecialToken) && typeof item.SpecialToken.id === 'string'
      ? item.SpecialToken.id : undefined;
  const clsName = pair.slice(0, Math.max(sequenceAt, 0)).map(specialName).find((n) => n !== undefined);
  const sepName = pair.slice(sequenceAt + 1).map(specialName).find((n) => n !== undefined);
  if (sequenceAt < 0 || clsName === undefined || sepName === undefined) return undefined;
  const clsId = templateTokenId(processor.special_tokens, clsName);
  const sepId = templateTokenId(processor.special_tokens, sepName);
  return clsId !== undefined && sepId !== undefined ? { clsId, sepId } : undefined;
}

function templateTokenId(specialTokens: unknown, name: string): number | undefined {
  const entry = isObject(specialTokens) ? specialTokens[name] : undefined;
  const id = isObject(entry) && Array.isArray(entry.ids) ? entry.ids[0] : undefined;
  return isId(id) ? id : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}
