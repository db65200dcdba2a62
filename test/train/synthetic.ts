/**
 * A synthetic relevance task a cross-encoder must learn from the tokens themselves: is the
 * query's word in the document? Words come from the fixture tokenizer's vocabulary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fixtureDir } from '../helpers.js';

export const SYNTHETIC_TOKENIZER = path.join(fixtureDir('jinabert-tiny-golden'), 'tokenizer.json');

/** The words the synthetic task draws from: lower-case whole words of the fixture vocabulary. */
export function vocabularyWords(): string[] {
  const json = JSON.parse(fs.readFileSync(SYNTHETIC_TOKENIZER, 'utf8')) as { model: { vocab: Record<string, number> } };
  return Object.keys(json.model.vocab).filter((w) => /^[a-z]{3,}$/.test(w)).slice(0, 200);
}

/** n examples {"query", "document", "label"}: half contain the query word somewhere. */
export function containsWordExamples(n: number, seed: number): { query: string; document: string; label: number }[] {
  const words = vocabularyWords();
  let a = seed >>> 0;
  const random = (): number => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const pick = (): string => words[Math.floor(random() * words.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const query = pick();
    const doc = Array.from({ length: 6 }, pick).filter((w) => w !== query);
    const label = i % 2;
    if (label === 1) doc.splice(Math.floor(random() * (doc.length + 1)), 0, query);
    return { query, document: doc.join(' '), label };
  });
}

export function writeJsonl(file: string, rows: readonly object[]): void {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
