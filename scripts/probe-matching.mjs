#!/usr/bin/env node
// Can a cross-encoder trained from random weights learn word matching? A probe for the
// teacher's failure to rank (docs/DISTILL.md, "Why the teacher does not rank").
//
//   node scripts/probe-matching.mjs [OUT_DIR (data/build/probe-matching)] [--steps N] [--docs uniform,zipf] [--vocab N] [--seed S]
//        [--query-words 8] [--doc-words 60] [--planted 3] [--max-length 96]
//        [--tied-qk STD] [--no-dropout] [--init CHECKPOINT]
//
// For each document distribution it writes a pair set and trains a 2 x 128 JinaBERT on it with
// `turborank train` (bce, lr 1e-3, 32 pairs a step, 96 tokens): every query is 8 words drawn
// uniformly from the first --vocab words of the committed vocabulary (default: all of its
// ~20,000 whole words of 4+ letters); a document is 60 other words, drawn uniformly
// ("uniform") or from a Zipf law over the same words ("zipf", weight 1/rank, as in real text);
// a positive (every other pair) has 3 of its query's words planted at random places. Nothing
// else tells positives from negatives (the draws come from the trainer's Mulberry32 stream, not
// from an LCG, whose correlated draws leak the label), so dev accuracy above 0.5 means the model
// learnt to match words. Prints each run's dev accuracy at every evaluation. Needs
// `npm run build`. About 1.2 minutes per distribution at 400 steps (2 cores).
//
// Measured 2026-11-26: neither distribution gets off 0.50 in 400 steps, with the full
// vocabulary (seeds 42, 1, 2, 3) or with --vocab 50. What does learn is the curriculum of
// docs/DISTILL.md, each stage starting from the last one's checkpoint (--init):
//   node scripts/probe-matching.mjs p/1 --docs uniform --query-words 1 --doc-words 4 --planted 1 --max-length 32 --tied-qk 0.1 --no-dropout
//   node scripts/probe-matching.mjs p/2 --docs uniform --query-words 1 --doc-words 12 --planted 1 --max-length 32 --no-dropout --steps 600 --init p/1/uniform/run/checkpoint-400
//   node scripts/probe-matching.mjs p/3 --docs uniform --query-words 1 --doc-words 60 --planted 1 --no-dropout --init p/2/uniform/run/checkpoint-600
//   node scripts/probe-matching.mjs p/4 --docs uniform --no-dropout --init p/3/uniform/run/checkpoint-400
// Run this way on 2026-11-26 (final dev accuracy): 0.975, 0.9925, 0.735, 0.82; a first run with
// 20,000 pairs per stage and its own generator reached 0.995 and 0.9975 at stages 3 and 4.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../dist/src/train/data.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => { const i = args.indexOf(name); return i < 0 ? fallback : args.splice(i, 2)[1]; };
const steps = Number(flag('--steps', '400'));
const kinds = flag('--docs', 'uniform,zipf').split(',');
const vocabSize = Number(flag('--vocab', '0'));
const seed = Number(flag('--seed', '42'));
const queryWords = Number(flag('--query-words', '8'));
const docWords = Number(flag('--doc-words', '60'));
const planted = Number(flag('--planted', '3'));
const maxLength = Number(flag('--max-length', '96'));
const tiedQk = flag('--tied-qk', undefined);
const init = flag('--init', undefined);
const noDropout = args.includes('--no-dropout');
if (noDropout) args.splice(args.indexOf('--no-dropout'), 1);
if (planted > queryWords || planted > docWords || planted < 1) { console.error(`probe-matching: --planted ${planted} must be 1 to --query-words (${queryWords}) and --doc-words (${docWords})`); process.exit(2); }
if (init !== undefined && tiedQk !== undefined) { console.error('probe-matching: --tied-qk initialises a new model; it cannot go with --init'); process.exit(2); }
const out = path.resolve(args[0] ?? path.join(root, 'data', 'build', 'probe-matching')); // default: git-ignored
const tokenizer = path.join(root, 'data', 'vocab', 'tokenizer.json');
const vocab = JSON.parse(fs.readFileSync(tokenizer, 'utf8')).model.vocab;
const allWords = Object.keys(vocab).filter((w) => /^[a-z]{4,}$/.test(w));
const words = vocabSize > 0 ? allWords.slice(0, vocabSize) : allWords;
if (words.length < 20) { console.error(`probe-matching: --vocab ${vocabSize} leaves ${words.length} words; give at least 20`); process.exit(2); }

function pairs(kind, n, seed) {
  const random = seededRandom(seed);
  const uniform = () => words[Math.floor(random() * words.length)];
  // Zipf: inverse-CDF sampling over ranks 1..W with weight 1/rank (words in a fixed shuffled order)
  const cumulative = [];
  let total = 0;
  for (let r = 1; r <= words.length; r++) cumulative.push((total += 1 / r));
  const zipf = () => {
    const x = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid] < x) lo = mid + 1; else hi = mid; }
    return words[(lo * 7919) % words.length];
  };
  const draw = kind === 'zipf' ? zipf : uniform;
  return Array.from({ length: n }, (_, i) => {
    const query = Array.from({ length: queryWords }, uniform);
    const document = [];
    while (document.length < docWords) { const w = draw(); if (!query.includes(w)) document.push(w); }
    const label = i % 2;
    if (label === 1) for (let k = 0; k < planted; k++) document[Math.floor(random() * document.length)] = query[k];
    return JSON.stringify({ query: query.join(' '), document: document.join(' '), label });
  }).join('\n') + '\n';
}

for (const kind of kinds) {
  if (kind !== 'uniform' && kind !== 'zipf') { console.error(`probe-matching: unknown document distribution '${kind}' (uniform, zipf)`); process.exit(2); }
  const dir = path.join(out, kind);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train.jsonl'), pairs(kind, Math.max(2000, steps * 32), 1));
  fs.writeFileSync(path.join(dir, 'dev.jsonl'), pairs(kind, 400, 2));
  fs.writeFileSync(path.join(dir, 'train.json'), JSON.stringify({
    model: init !== undefined
      ? { init: path.resolve(init) }
      : { shape: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 512 }, tokenizer, ...(tiedQk !== undefined ? { tied_query_key_std: Number(tiedQk) } : {}) },
    ...(noDropout ? { dropout: { hidden: 0, attention: 0 } } : {}),
    data: { train: 'train.jsonl', dev: 'dev.jsonl' }, loss: { name: 'bce' }, max_length: maxLength, batch_size: 32,
    steps, learning_rate: 1e-3, warmup_steps: 30, decay: 'linear', checkpoint_every: steps, eval_every: Math.max(1, Math.floor(steps / 4)),
    seed, output: 'run',
  }, null, 2));
  const run = spawnSync(process.execPath, [path.join(root, 'bin', 'turborank.js'), 'train', '--config', path.join(dir, 'train.json')], { encoding: 'utf8' });
  if (run.status !== 0) { console.error(run.stderr); process.exit(1); }
  const dev = run.stderr.split('\n').filter((l) => l.includes(' dev: ')).map((l) => l.replace(/^step (\d+) dev: .*accuracy ([\d.]+).*$/, 'step $1: $2'));
  console.log(`${kind.padEnd(8)} dev accuracy  ${dev.join('  ')}`);
}
