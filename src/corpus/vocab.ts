/**
 * A WordPiece vocabulary trained on the pre-training corpus by Hugging Face's own trainer
 * (the Rust `tokenizers` crate through its npm binding: `Tokenizer.train` with the model's
 * default WordPieceTrainer), written as a BERT-style tokenizer.json: BertNormalizer with
 * lower-casing and accent stripping, BertPreTokenizer, WordPiece with `##` continuations,
 * `[CLS] A [SEP] B [SEP]` with token types 0/1, and [PAD] [UNK] [CLS] [SEP] [MASK] as ids 0-4.
 *
 * The binding exposes no trainer options, so the trainer runs with its defaults (30,000
 * tokens, no special tokens). Its vocabulary comes out ordered: the alphabet, the `##`
 * alphabet, then merged pieces in the order they were learnt; a smaller vocabulary is that
 * list's prefix, which is exactly what training with a smaller target gives, and the
 * special tokens are placed in front.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer } from 'tokenizers';
import { InputError } from '../errors.js';
import { readJsonLines } from '../eval/files.js';
import { PairTokenizer } from '../tokenizer/index.js';
import { writeFileAtomic, type OutputFile } from './output.js';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface VocabResult {
  readonly outputs: OutputFile[];
  readonly counts: Record<string, number>;
  readonly file: string;
}

export async function trainVocabulary(corpusFile: string, outDir: string, root: string, size: number): Promise<VocabResult> {
  if (!fs.existsSync(corpusFile)) throw new InputError(`${corpusFile}: no pre-training corpus`, 'run `turborank data corpus` first');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'turborank-vocab-'));
  try {
    // The trainer reads plain text files; one corpus text per line.
    const textFile = path.join(work, 'corpus.txt');
    const fd = fs.openSync(textFile, 'w');
    let texts = 0;
    for await (const { value, number } of readJsonLines(corpusFile)) {
      if (typeof value.text !== 'string') throw new InputError(`${corpusFile} line ${number}: "text" must be a string`);
      fs.writeSync(fd, value.text.replace(/\s+/g, ' ') + '\n');
      texts++;
    }
    fs.closeSync(fd);
    if (texts === 0) throw new InputError(`${corpusFile}: the corpus is empty`, 'run `turborank data corpus` with sources that have text');

    const trainer = new Tokenizer(WordPiece.empty());
    trainer.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
    trainer.setPreTokenizer(bertPreTokenizer());
    trainer.train([textFile]);
    const trainedFile = path.join(work, 'trained.json');
    trainer.save(trainedFile, false);
    const trained = JSON.parse(fs.readFileSync(trainedFile, 'utf8')) as { model: { vocab: Record<string, number> } };
    const learnt = Object.entries(trained.model.vocab).sort((a, b) => a[1] - b[1]).map(([token]) => token)
      .filter((t) => !(SPECIAL_TOKENS as readonly string[]).includes(t));
    const kept = learnt.slice(0, size - SPECIAL_TOKENS.length);
    const json = tokenizerJson([...SPECIAL_TOKENS, ...kept]);
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, 'tokenizer.json');
    const outputs = [
      writeFileAtomic(file, JSON.stringify(json, null, 2) + '\n', root),
      writeFileAtomic(path.join(outDir, 'vocab.txt'), [...SPECIAL_TOKENS, ...kept].join('\n') + '\n', root),
    ];
    const check = await checkVocabulary(file, corpusFile);
    return { outputs, file, counts: { vocab_size: SPECIAL_TOKENS.length + kept.length, learnt_by_trainer: learnt.length, corpus_texts: texts, ...check } };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A Hugging Face tokenizer.json for a BERT-style uncased WordPiece vocabulary (tokens in id order). */
export function tokenizerJson(tokens: readonly string[]): object {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { if (!(t in vocab)) vocab[t] = i; });
  const id = (t: string): number => vocab[t]!;
  const special = (t: string, typeId: number): object => ({ SpecialToken: { id: t, type_id: typeId } });
  const sequence = (s: 'A' | 'B', typeId: number): object => ({ Sequence: { id: s, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/**
 * Loads the written file the way every model does (our PairTokenizer) and measures it on the
 * first 2,000 corpus texts: tokens per word and the share of [UNK] tokens.
 */
async function checkVocabulary(file: string, corpusFile: string): Promise<Record<string, number>> {
  const tokenizer = await PairTokenizer.load(file);
  const unk = tokenizer.tokenId('[UNK]');
  let words = 0;
  let tokens = 0;
  let unknown = 0;
  let n = 0;
  for await (const { value } of readJsonLines(corpusFile)) {
    if (n++ >= 2000) break;
    const text = String(value.text);
    const [encoded] = await tokenizer.encodePairs([{ query: text.slice(0, 40), document: text }], 100000);
    const ids = encoded!.ids;
    words += text.split(/\s+/).filter((w) => w !== '').length + text.slice(0, 40).split(/\s+/).filter((w) => w !== '').length;
    tokens += ids.length - tokenizer.numSpecialTokensForPair;
    for (const i of ids) if (i === unk) unknown++;
  }
  return { check_texts: Math.min(n, 2000), tokens_per_word: round(tokens / Math.max(1, words)), unk_per_10k_tokens: round((unknown / Math.max(1, tokens)) * 1e4) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
