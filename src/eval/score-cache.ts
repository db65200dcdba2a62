/**
 * Saved cross-encoder scores, so an interrupted evaluation resumes where it stopped. One JSON
 * line per query, appended (synchronously) as soon as the query is scored: a kill loses at
 * most the query in flight, and a line cut short by the kill is ignored on the next start.
 *
 *   {"scoreCache":1,"model":"…","maxLength":1024,"documents":"title + text"}   ← the key
 *   {"q":"42","d":["doc1","doc2"],"s":[1.25,-3.5]}                              ← per query
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';

/** What the saved scores depend on; a cache made under another key is never mixed in. */
export interface ScoreCacheKey {
  /** The model as the user named it and where it was found on disk. */
  readonly model: string;
  readonly maxLength: number;
  /** How a document's text was formed from the data (e.g. "title + text"). */
  readonly documents: string;
}

interface Header extends ScoreCacheKey {
  readonly scoreCache: 1;
}

export class ScoreCache {
  private readonly scores = new Map<string, Map<string, number>>();

  private constructor(readonly file: string) {}

  /** Opens (and creates, with its key line) the cache at `file`. */
  static open(file: string, key: ScoreCacheKey): ScoreCache {
    const cache = new ScoreCache(file);
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    // Every write ends with a newline: bytes after the last one were cut short by a kill. They
    // are dropped, so the next append starts on a line of its own; with no complete first
    // line there is nothing saved, and we start over.
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (end > 0) {
      if (end < bytes.length) fs.truncateSync(file, end);
      cache.load(bytes.subarray(0, end).toString('utf8'), key);
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const header: Header = { scoreCache: 1, ...key };
      fs.writeFileSync(file, JSON.stringify(header) + '\n');
    }
    return cache;
  }

  /** Saved logits of a query's documents (possibly only some of them). */
  get(queryId: string): ReadonlyMap<string, number> | undefined {
    return this.scores.get(queryId);
  }

  /** Number of queries with saved scores. */
  get queries(): number {
    return this.scores.size;
  }

  save(queryId: string, docIds: readonly string[], logits: Float32Array): void {
    if (docIds.length === 0) return;
    fs.appendFileSync(this.file, JSON.stringify({ q: queryId, d: docIds, s: Array.from(logits) }) + '\n');
    this.remember(queryId, docIds, Array.from(logits));
  }

  private load(content: string, key: ScoreCacheKey): void {
    const lines = content.split('\n');
    lines.pop(); // '' after the final newline
    this.checkHeader(lines[0] ?? '', key);
    lines.slice(1).forEach((line, i) => {
      const entry = parseEntry(line);
      if (!entry) throw new FileError(this.file, `line ${i + 2} is not a saved score line`, 'the file was edited or mixed up: delete it to score again from scratch');
      this.remember(entry.q, entry.d, entry.s);
    });
  }

  private checkHeader(line: string, key: ScoreCacheKey): void {
    let header: Partial<Header> | undefined;
    try {
      header = JSON.parse(line) as Partial<Header>;
    } catch {
      header = undefined;
    }
    if (header?.scoreCache !== 1) throw new FileError(this.file, 'is not a turborank score cache', 'delete it, or pass --out with another folder');
    if (header.model !== key.model || header.maxLength !== key.maxLength || header.documents !== key.documents) {
      throw new FileError(this.file,
        `holds scores of ${header.model} (max length ${header.maxLength}, documents ${header.documents}), not of ${key.model} (max length ${key.maxLength}, documents ${key.documents})`,
        'pass --out with another folder for this model, or delete the file to score again');
    }
  }

  private remember(queryId: string, docIds: readonly string[], logits: readonly number[]): void {
    let scores = this.scores.get(queryId);
    if (!scores) this.scores.set(queryId, (scores = new Map()));
    docIds.forEach((docId, i) => scores.set(docId, logits[i]!));
  }
}

function parseEntry(line: string): { q: string; d: string[]; s: number[] } | undefined {
  try {
    const v = JSON.parse(line) as { q?: unknown; d?: unknown; s?: unknown };
    const ok = typeof v.q === 'string' && Array.isArray(v.d) && Array.isArray(v.s) && v.d.length === v.s.length &&
      v.d.every((d) => typeof d === 'string') && v.s.every((s) => typeof s === 'number');
    return ok ? (v as { q: string; d: string[]; s: number[] }) : undefined;
  } catch {
    return undefined;
  }
}
