/**
 * The masked-LM pre-training corpus: every source's text cut into pieces of at most
 * `chunk_chars` characters, duplicates and evaluation matches dropped, shuffled with the
 * seed and cut to `max_megabytes`. Lines are `{"text", "source"}`, which the trainer's `mlm`
 * loss reads (it ignores `source`).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { documentText } from '../eval/beir.js';
import type { DataConfig } from './config.js';
import type { EvalGuard } from './eval-guard.js';
import { JsonlWriter, type StepResult } from './output.js';
import type { Sources } from './sources.js';
import { chunkText, matchKey, shuffle, streamFor } from './text.js';

/** Sections of a man page that are lists of names and options rather than prose. */
const SKIPPED_MAN_SECTIONS = new Set(['SYNOPSIS', 'SEE ALSO', 'COLOPHON', 'AUTHOR', 'AUTHORS', 'REPORTING BUGS', 'COPYRIGHT']);

export function buildPretrainCorpus(config: DataConfig, sources: Sources, guard: EvalGuard): StepResult {
  const pieces: { text: string; source: string }[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let evalMatches = 0;
  const add = (source: string, text: string): void => {
    for (const chunk of chunkText(text, config.corpus.chunk_chars)) {
      if (chunk.length < 20) continue;
      const key = matchKey(chunk);
      if (guard.documentMatch(chunk) !== undefined) { evalMatches++; continue; }
      const hash = crypto.createHash('sha1').update(key).digest('base64');
      if (seen.has(hash)) { duplicates++; continue; }
      seen.add(hash);
      pieces.push({ text: chunk, source });
    }
  };
  for (const p of sources.packages) add('debian', p.description ? `${p.name}: ${p.summary}. ${p.description}` : `${p.name}: ${p.summary}.`);
  for (const e of sources.dictionaries) add(`dict:${e.dictionary}`, `${e.headword}: ${e.definition}`);
  for (const page of sources.manPages) {
    const parts = [...page.sections].filter(([h]) => !SKIPPED_MAN_SECTIONS.has(h)).map(([h, t]) => (h === 'NAME' ? t : `${h.toLowerCase()}: ${t}`));
    add('man', parts.join('\n'));
  }
  for (const dataset of sources.beir) for (const d of dataset.corpus) add(`beir:${dataset.name}`, documentText(d));
  for (const dataset of sources.rag) for (const text of dataset.corpus.values()) add(`rag:${dataset.name}`, text);

  shuffle(pieces, streamFor(config.seed, 'pretrain'));
  const shares = fairShares(pieces, config.corpus.max_megabytes * 1e6);
  const file = path.join(config.output, 'corpus', 'pretrain.jsonl');
  const writer = new JsonlWriter(file, config.output);
  let bytes = 0;
  const used: Record<string, number> = {};
  const perSource: Record<string, number> = {};
  let cut = 0;
  for (const piece of pieces) {
    const size = Buffer.byteLength(piece.text, 'utf8');
    if ((used[piece.source] ?? 0) + size > shares.get(piece.source)!) { cut++; continue; }
    used[piece.source] = (used[piece.source] ?? 0) + size;
    bytes += size;
    writer.write(piece);
    perSource[piece.source] = (perSource[piece.source] ?? 0) + 1;
  }
  const output = writer.close();
  return {
    outputs: [output],
    counts: { texts: output.lines, text_bytes: bytes, by_source: perSource, bytes_by_source: used, duplicates_dropped: duplicates, eval_matches_dropped: evalMatches, over_budget_dropped: cut },
  };
}

/**
 * Each source's byte budget when the whole exceeds `budget`: an equal share each, a source
 * smaller than its share kept whole and its unused share split among the others (water
 * filling). Small prose sources (man pages, SciFact, package descriptions) are so kept
 * whole, and the two big dictionaries are what gets cut, rather than every source alike.
 */
export function fairShares(pieces: readonly { text: string; source: string }[], budget: number): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const p of pieces) sizes.set(p.source, (sizes.get(p.source) ?? 0) + Buffer.byteLength(p.text, 'utf8'));
  const shares = new Map<string, number>();
  let left = budget;
  const open = [...sizes].sort((a, b) => a[1] - b[1]);
  while (open.length) {
    const share = left / open.length;
    const [source, size] = open[0]!;
    if (size <= share) {
      shares.set(source, size);
      left -= size;
      open.shift();
    } else {
      for (const [s] of open) shares.set(s, share);
      break;
    }
  }
  return shares;
}
