/**
 * The teacher's listwise fine-tuning data (src/train/distill/lists.ts): relevance pairs
 * regrouped into one list per positive, its query's first negatives after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { POSITIVE_TARGET, relevanceLists } from '../../src/train/distill/lists.js';
import { tempDir } from '../helpers.js';

const pair = (source: string, id: string, query: string, document: string, label: number): string => JSON.stringify({ query, document, label, source, query_id: id });

function pairsFile(lines: readonly string[]): string {
  const file = path.join(tempDir('turborank-lists-'), 'pairs.jsonl');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

test('one list per positive: the positive first, then its query\'s first negatives in file order', async () => {
  const file = pairsFile([
    pair('dict', 'a', 'what is a shell', 'shell: a command interpreter', 1),
    pair('dict', 'a', 'what is a shell', 'bm25 one', 0),
    pair('dict', 'a', 'what is a shell', 'bm25 two', 0),
    pair('dict', 'a', 'what is a shell', 'bm25 three', 0),
    pair('dict', 'a', 'what is a shell', 'random one', 0),
    // the same text under another source is another query, with too few negatives: left out
    pair('man', 'sh', 'what is a shell', 'sh: the shell', 1),
    pair('man', 'sh', 'what is a shell', 'bash: another shell', 0),
    // two positives: two lists with the same negatives
    pair('debian', 'cp', 'copy files', 'cp copies files', 1),
    pair('debian', 'cp', 'copy files', 'rsync copies files too', 1),
    pair('debian', 'cp', 'copy files', 'mv moves files', 0),
    pair('debian', 'cp', 'copy files', 'ls lists files', 0),
    pair('debian', 'cp', 'copy files', 'rm removes files', 0),
  ]);
  const made = await relevanceLists(file, 4);
  assert.deepEqual([made.lists, made.queries, made.skipped], [3, 3, 1]);
  const lists = made.jsonl.trim().split('\n').map((l) => JSON.parse(l) as { query: string; documents: string[]; teacher: number[] });
  assert.deepEqual(lists, [
    { query: 'what is a shell', documents: ['shell: a command interpreter', 'bm25 one', 'bm25 two', 'bm25 three'], teacher: [POSITIVE_TARGET, 0, 0, 0] },
    { query: 'copy files', documents: ['cp copies files', 'mv moves files', 'ls lists files', 'rm removes files'], teacher: [POSITIVE_TARGET, 0, 0, 0] },
    { query: 'copy files', documents: ['rsync copies files too', 'mv moves files', 'ls lists files', 'rm removes files'], teacher: [POSITIVE_TARGET, 0, 0, 0] },
  ]);
  // Under a softmax the target is the positive, to float precision.
  assert.ok(3 * Math.exp(-POSITIVE_TARGET) < 1e-8);
});

test('no list can be made, a list of one, or a bad pair line: an InputError that says what to change', async () => {
  const short = pairsFile([pair('dict', 'a', 'q', 'positive', 1), pair('dict', 'a', 'q', 'negative', 0)]);
  await assert.rejects(relevanceLists(short, 3), (e: unknown) => e instanceof InputError && /no query has 2 negatives for a list of 3/.test(e.message) && /pairs\.negatives/.test(e.hint ?? ''));
  await assert.rejects(relevanceLists(short, 1), (e: unknown) => e instanceof InputError && /list_size 1/.test(e.message));
  const bad = pairsFile([pair('dict', 'a', 'q', 'positive', 1), JSON.stringify({ query: 'q', document: 'd', label: 0.5 })]);
  await assert.rejects(relevanceLists(bad, 2), (e: unknown) => e instanceof InputError && /line 2: a pair needs "query", "document" and a 0\/1 "label"/.test(e.message));
  const broken = pairsFile(['{"query": "q"']);
  await assert.rejects(relevanceLists(broken, 2), (e: unknown) => e instanceof InputError && /line 1: invalid JSON/.test(e.message));
});
