#!/usr/bin/env node
// Dev MRR per task: how a model ranks each dev query's positive among its candidates in
// `turborank data`'s pairs/dev.jsonl (grouped by source and query_id), beside a plain count
// of shared query words (3+ letters, a few stop words removed, the document's first 700
// characters) as a reference. Ties count half. Needs `npm run build`.
//
//   node scripts/dev-mrr.mjs MODEL [DEV_FILE (data/build/pairs/dev.jsonl)] [MAX_LENGTH (192)]
import fs from 'node:fs';
import { Reranker } from '../dist/src/index.js';

const [model, file = 'data/build/pairs/dev.jsonl', maxLength = '192'] = process.argv.slice(2);
if (model === undefined) { console.error('usage: node scripts/dev-mrr.mjs MODEL [DEV_FILE] [MAX_LENGTH]'); process.exit(2); }
const rows = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
const reranker = await Reranker.load(model, { threads: 2 });
const scores = await reranker.score(rows.map((r) => ({ query: r.query, document: r.document })), { maxLength: Number(maxLength) });
await reranker.close();

const stop = new Set('the and for with that this from are was were what which who how why when where into its has have not but all can any use used uses using'.split(' '));
const words = (t) => new Set((t.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => w.length >= 3 && !stop.has(w)));
const overlap = rows.map((r) => { const d = words(r.document.slice(0, 700)); let n = 0; for (const w of words(r.query)) if (d.has(w)) n++; return n; });

function reciprocalRank(list) {
  const best = Math.max(...list.filter((x) => x.label === 1).map((x) => x.score));
  const negatives = list.filter((x) => x.label !== 1);
  if (!Number.isFinite(best) || negatives.length === 0) return undefined;
  return 1 / (1 + negatives.filter((x) => x.score > best).length + negatives.filter((x) => x.score === best).length / 2);
}
const groups = new Map();
rows.forEach((r, i) => {
  const key = `${r.source}\t${r.query_id}`;
  if (!groups.has(key)) groups.set(key, { model: [], overlap: [] });
  groups.get(key).model.push({ score: scores[i], label: r.label });
  groups.get(key).overlap.push({ score: overlap[i], label: r.label });
});
const bySource = new Map();
for (const [key, g] of groups) {
  const [m, o] = [reciprocalRank(g.model), reciprocalRank(g.overlap)];
  if (m === undefined) continue;
  for (const s of [key.split('\t')[0], 'all']) {
    if (!bySource.has(s)) bySource.set(s, { n: 0, model: 0, overlap: 0 });
    const t = bySource.get(s); t.n++; t.model += m; t.overlap += o;
  }
}
console.log('task'.padEnd(16) + 'queries  model MRR  word-overlap MRR');
for (const [s, t] of bySource) console.log(s.padEnd(16) + String(t.n).padStart(7) + (t.model / t.n).toFixed(3).padStart(11) + (t.overlap / t.n).toFixed(3).padStart(18));
