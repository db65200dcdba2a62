#!/usr/bin/env node
// How faithfully each student reproduces its teacher's rankings on queries none of them trained
// on: the evaluation sets' candidate lists, as `scripts/distill-results.sh` reranked them
// (RESULTS_DIR/{beir-scifact,trec-dl19}/reranked.*.run, TREC run format). Per set and student,
// the means over queries of: top-1 agreement (the same best document), top-10 overlap
// (|student top 10 ∩ teacher top 10| / 10) and Kendall's tau-b over all candidates.
// No relevance judgements are read: this is agreement, not quality.
//
//   node scripts/fidelity.mjs [RESULTS_DIR (data/build/results)] [TEACHER_LABEL (teacher)]
import fs from 'node:fs';
import path from 'node:path';

const [dir = 'data/build/results', teacher = 'teacher'] = process.argv.slice(2);

/** qid → Map(docid → score) from a TREC run. */
function readRun(file) {
  const byQuery = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    let scores = byQuery.get(f[0]);
    if (!scores) byQuery.set(f[0], (scores = new Map()));
    scores.set(f[2], Number(f[4]));
  }
  return byQuery;
}

const top = (scores, k) => [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, k).map(([id]) => id);

/** Kendall's tau-b of two score maps over their common documents. */
function kendall(a, b) {
  const ids = [...a.keys()].filter((id) => b.has(id));
  let concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const da = Math.sign(a.get(ids[i]) - a.get(ids[j]));
      const db = Math.sign(b.get(ids[i]) - b.get(ids[j]));
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const n = concordant + discordant;
  const denominator = Math.sqrt((n + tiesA) * (n + tiesB));
  return denominator === 0 ? 0 : (concordant - discordant) / denominator;
}

const sets = [['beir-scifact', /^reranked\.test\.(.+)\.run$/], ['trec-dl19', /^reranked\.(.+)\.run$/]];
const rows = [];
for (const [set, pattern] of sets) {
  const folder = path.join(dir, set);
  if (!fs.existsSync(folder)) continue;
  const runs = new Map(fs.readdirSync(folder).map((f) => [pattern.exec(f)?.[1], f]).filter(([label]) => label !== undefined));
  if (!runs.has(teacher)) { console.error(`fidelity: no run of '${teacher}' in ${folder}`); process.exitCode = 1; continue; }
  const reference = readRun(path.join(folder, runs.get(teacher)));
  for (const [label, file] of [...runs].sort()) {
    if (label === teacher) continue;
    const student = readRun(path.join(folder, file));
    let top1 = 0, overlap = 0, tau = 0, n = 0;
    for (const [qid, scores] of reference) {
      const other = student.get(qid);
      if (!other) continue;
      const [t10, s10] = [top(scores, 10), top(other, 10)];
      top1 += t10[0] === s10[0] ? 1 : 0;
      overlap += s10.filter((id) => t10.includes(id)).length / Math.min(10, t10.length);
      tau += kendall(scores, other);
      n++;
    }
    rows.push(`| ${set} | ${label} | ${n} | ${(top1 / n).toFixed(3)} | ${(overlap / n).toFixed(3)} | ${(tau / n).toFixed(3)} |`);
  }
}
console.log(`| set | student | queries | top-1 agreement | top-10 overlap | Kendall's tau |\n| --- | --- | --- | --- | --- | --- |\n${rows.join('\n')}`);
