/**
 * Small text helpers shared by the data pipeline: whitespace clean-up, the normal form the
 * evaluation-overlap check compares, chunking long texts for pre-training, and a seeded
 * shuffle (the project's Mulberry32, so a build is the same on every machine).
 */
import { seededRandom } from '../train/data.js';

/** Collapses runs of whitespace (newlines included) to one space and trims. */
export function squash(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/**
 * The form two texts are compared in by the overlap check: Unicode NFKC, lower case, accents
 * removed, every run of non-letters/digits one space. "What is ALiBi?" and "what is alibi"
 * compare equal; so do the same claim with different punctuation or spacing.
 */
export function matchKey(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * Splits a long text at whitespace into pieces of at most `maxChars` characters (a piece is
 * longer only when one word is). Pre-training examples are cut to a token budget anyway;
 * cutting here keeps each JSON line a useful, whole example instead of a long text's head.
 */
export function chunkText(text: string, maxChars: number): string[] {
  const clean = text.trim();
  if (clean.length <= maxChars) return clean === '' ? [] : [clean];
  const chunks: string[] = [];
  let start = 0;
  while (start < clean.length) {
    let end = Math.min(start + maxChars, clean.length);
    if (end < clean.length) {
      // Prefer a sentence end in the second half of the window, else any whitespace.
      const window = clean.slice(start, end);
      const sentence = Math.max(window.lastIndexOf('. '), window.lastIndexOf('? '), window.lastIndexOf('! '));
      const space = window.lastIndexOf(' ');
      if (sentence > maxChars / 2) end = start + sentence + 1;
      else if (space > 0) end = start + space;
    }
    const piece = clean.slice(start, end).trim();
    if (piece !== '') chunks.push(piece);
    start = end;
  }
  return chunks;
}

/** Cuts a text to at most `maxChars` characters at a word boundary (documents in pairs). */
export function clip(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  return (space > maxChars / 2 ? cut.slice(0, space) : cut).trim();
}

/** A seeded generator for one named purpose: the same seed and name give the same stream. */
export function streamFor(seed: number, name: string): () => number {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return seededRandom((seed ^ h) >>> 0);
}

/** Fisher-Yates shuffle in place with the given generator. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** `count` items drawn without replacement, in a seeded order (all of them if fewer). */
export function sample<T>(items: readonly T[], count: number, random: () => number): T[] {
  return shuffle([...items], random).slice(0, Math.max(0, count));
}
