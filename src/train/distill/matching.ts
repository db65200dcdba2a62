/**
 * The teacher's word-matching curriculum (docs/DISTILL.md, "Why the teacher does not rank"):
 * synthetic relevance pairs in which the only thing that tells a positive from a negative is
 * that the document contains the query's words. A cross-encoder trained from random weights on
 * real pairs stayed at constant output here; one that first learns to find a query word in a
 * short document, then in longer ones, goes on to rank real pairs. Each stage is a pair set
 * made here from the vocabulary's whole words with a seeded generator (the same config always
 * gives the same files), trained with bce from the previous stage's checkpoint.
 */
import fs from 'node:fs';
import { InputError } from '../../errors.js';
import { seededRandom } from '../data.js';
import type { MatchingStageConfig } from './config.js';

/** Lower-case whole words of four or more letters in the tokenizer's vocabulary, in vocabulary order. */
export function matchingWords(tokenizerFile: string): string[] {
  let vocab: unknown;
  try {
    vocab = (JSON.parse(fs.readFileSync(tokenizerFile, 'utf8')) as { model?: { vocab?: unknown } }).model?.vocab;
  } catch (err) {
    throw new InputError(`${tokenizerFile}: cannot read the vocabulary (${(err as Error).message})`, 'give the teacher\'s tokenizer.json in "tokenizer"');
  }
  if (vocab === null || typeof vocab !== 'object') throw new InputError(`${tokenizerFile}: no model.vocab`, 'give a WordPiece tokenizer.json (turborank data vocab writes one)');
  const words = Object.keys(vocab).filter((w) => /^[a-z]{4,}$/.test(w));
  if (words.length < 20) throw new InputError(`${tokenizerFile}: only ${words.length} whole words of 4+ letters for the matching stages`, 'train the vocabulary on more text, or leave teacher.matching out');
  return words;
}

/**
 * `n` pairs as JSONL for the bce loss, two per query: a negative, whose document holds none of
 * the query's words, then a positive, whose document holds `planted` of them at distinct
 * random places (so the dev MRR ranks each query's positive against its negative).
 * Documents' other words are drawn uniformly from `words` minus the query's. With
 * `pairedQueries` false every pair draws its own query instead, as the training sets do: the
 * 6 x 128 teacher took off on those and fell back on paired ones (docs/DISTILL.md).
 */
export function matchingPairs(words: readonly string[], stage: Pick<MatchingStageConfig, 'query_words' | 'document_words' | 'planted'>, n: number, seed: number, pairedQueries = true): string {
  if (stage.planted > stage.query_words || stage.planted > stage.document_words) {
    throw new InputError(`a matching stage plants ${stage.planted} words, more than its query (${stage.query_words}) or document (${stage.document_words}) has`, 'lower planted, or raise query_words and document_words');
  }
  if (stage.query_words >= words.length / 2) throw new InputError(`query_words ${stage.query_words} is too many for a vocabulary of ${words.length} words`, 'lower query_words');
  const random = seededRandom(seed);
  const pick = (): string => words[Math.floor(random() * words.length)]!;
  const lines: string[] = [];
  let query = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0 || !pairedQueries) {
      query = new Set<string>();
      while (query.size < stage.query_words) query.add(pick());
    }
    const queryWords = [...query];
    const document: string[] = [];
    while (document.length < stage.document_words) {
      const w = pick();
      if (!query.has(w)) document.push(w);
    }
    const label = i % 2;
    if (label === 1) {
      const places = document.map((_, k) => k);
      for (let k = 0; k < stage.planted; k++) {
        const j = k + Math.floor(random() * (places.length - k));
        [places[k], places[j]] = [places[j]!, places[k]!];
        document[places[k]!] = queryWords[k]!;
      }
    }
    lines.push(JSON.stringify({ query: queryWords.join(' '), document: document.join(' '), label }));
  }
  return lines.join('\n') + '\n';
}
