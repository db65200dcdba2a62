/**
 * A narrower student cut from the teacher: fewer attention heads (each the teacher's head size)
 * and fewer residual dimensions, chosen from the weights alone, as a starting point that
 * distillation then trains (Jina's Turbo and Tiny are narrower than their base, not just shallower).
 *
 *  - Heads: with ALiBi every head has its own slope, fixed by the head count, so student head i
 *    is the teacher's head with the slope `alibiSlopes(studentHeads)[i]`: each kept head keeps
 *    the distance bias it was trained with (4 → 3 heads drops the 1/64 head, 4 → 2 keeps 1/16
 *    and 1/256). A head count whose slopes the teacher lacks is refused. With absolute
 *    positions, the heads whose value rows and output columns weigh most are kept.
 *  - Residual dimensions: those that the layers read most, scored by Σ |γ_d| · ‖W[:, d]‖ over
 *    every LayerNorm γ and the weights that read its output (queries, keys, values, the
 *    feed-forward input, the pooler).
 *  - Pooler units: those the classifier weighs most (|classifier column| · ‖pooler row‖).
 *
 * LayerNorm then averages over fewer dimensions, so the cut is not function-preserving; it is a
 * start that keeps the teacher's strongest parts in place. Every tensor with a dimension of the
 * teacher's width must be one this file knows how to cut, or the cut is refused.
 */
import { InputError } from '../../errors.js';
import { alibiSlopes } from '../../models/index.js';
import type { ModelShape } from './config.js';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

type Axis = 'residual' | 'heads' | 'pooler' | 'same';

/** How each axis of a known tensor is cut, by name suffix (first match wins: attention.output before output). */
const RULES: ReadonlyArray<readonly [RegExp, readonly Axis[]]> = [
  [/embeddings\.(word|token_type|position)_embeddings\.weight$/, ['same', 'residual']],
  [/(LayerNorm|layernorm)\.(weight|bias)$/, ['residual']],
  [/attention\.self\.(query|key|value)\.weight$/, ['heads', 'residual']],
  [/attention\.self\.(query|key|value)\.bias$/, ['heads']],
  [/attention\.output\.dense\.weight$/, ['residual', 'heads']],
  [/attention\.output\.dense\.bias$/, ['residual']],
  [/(mlp\.gated_layers|intermediate\.dense)\.weight$/, ['same', 'residual']],
  [/(mlp\.wo|\d\.output\.dense)\.weight$/, ['residual', 'same']],
  [/(mlp\.wo|\d\.output\.dense)\.bias$/, ['residual']],
  [/pooler\.dense\.weight$/, ['pooler', 'residual']],
  [/pooler\.dense\.bias$/, ['pooler']],
  [/classifier\.weight$/, ['same', 'pooler']],
];

/** Cuts `tensors` (the teacher's, already cut to the student's layers) in place to `to`'s width and heads; `who` names the student in errors. */
export function narrowResidual(tensors: Map<string, Tensor>, from: ModelShape, to: ModelShape, alibi: boolean, who: string, source: string): void {
  const headSize = from.hidden_size / from.num_attention_heads;
  if (to.hidden_size > from.hidden_size) {
    throw new InputError(`${who}: hidden_size ${to.hidden_size} is wider than the teacher's ${from.hidden_size}`, 'a student cut from the teacher can be at most as wide as the teacher');
  }
  if (to.hidden_size !== to.num_attention_heads * headSize) {
    throw new InputError(`${who}: hidden_size ${to.hidden_size} with ${to.num_attention_heads} heads: a narrower student keeps the teacher's head size ${headSize}`,
      `set num_attention_heads to hidden_size / ${headSize} (e.g. ${from.num_attention_heads - 1} heads for hidden_size ${(from.num_attention_heads - 1) * headSize})`);
  }
  const heads = alibi ? headsBySlope(from.num_attention_heads, to.num_attention_heads, who) : strongestHeads(tensors, from.num_attention_heads, to.num_attention_heads, headSize);
  const keep: Record<Exclude<Axis, 'same'>, number[]> = {
    residual: strongest(residualScores(tensors, from.hidden_size, source), to.hidden_size),
    heads: heads.flatMap((h) => Array.from({ length: headSize }, (_, k) => h * headSize + k)),
    pooler: strongest(poolerScores(tensors, from.hidden_size, source), to.hidden_size),
  };
  for (const [name, t] of tensors) {
    const rule = RULES.find(([pattern]) => pattern.test(name));
    if (rule === undefined) {
      if (t.shape.includes(from.hidden_size)) throw new InputError(`${source}: tensor ${name} ${JSON.stringify(t.shape)} has the teacher's width, and turborank does not know how to cut it`, 'train this student with "init_from_teacher": false, or keep the teacher\'s hidden_size');
      continue;
    }
    const axes = rule[1];
    if (axes.length !== t.shape.length) throw new InputError(`${source}: tensor ${name} has shape ${JSON.stringify(t.shape)}, not ${axes.length}-dimensional`, 'the checkpoint does not look like a BERT/JinaBERT cross-encoder');
    const indices = axes.map((axis, i) => (axis === 'same' ? range(t.shape[i]!) : keep[axis]));
    tensors.set(name, select(t, indices));
  }
}

/** Teacher heads whose ALiBi slopes are the student's, in the student's head order. */
function headsBySlope(from: number, to: number, who: string): number[] {
  const teacher = alibiSlopes(from);
  const used = new Set<number>();
  return alibiSlopes(to).map((slope) => {
    const h = teacher.findIndex((s, i) => !used.has(i) && Math.abs(s - slope) <= 1e-12 * slope);
    if (h < 0) {
      const fits = range(from).map((n) => n + 1).filter((n) => alibiSlopes(n).every((s) => teacher.some((t) => Math.abs(t - s) <= 1e-12 * s)));
      throw new InputError(`${who}: ${to} heads need the ALiBi slopes ${alibiSlopes(to).map((s) => s.toPrecision(4)).join(', ')}, and the teacher's ${from} heads do not have them all`,
        `choose a head count whose slopes the teacher has: ${fits.join(', ')}`);
    }
    used.add(h);
    return h;
  });
}

function strongestHeads(tensors: ReadonlyMap<string, Tensor>, from: number, to: number, headSize: number): number[] {
  const score = new Array<number>(from).fill(0);
  for (const [name, t] of tensors) {
    const value = /attention\.self\.value\.weight$/.test(name);
    const out = /attention\.output\.dense\.weight$/.test(name);
    if (!value && !out) continue;
    for (let h = 0; h < from; h++) {
      let sum = 0;
      for (let k = h * headSize; k < (h + 1) * headSize; k++) sum += value ? rowNormSquared(t, k) : columnNormSquared(t, k);
      score[h]! += Math.sqrt(sum);
    }
  }
  return strongest(score, to);
}

/** Σ over LayerNorms of |γ_d| times the column norms of the weights that read that LayerNorm's output. */
function residualScores(tensors: ReadonlyMap<string, Tensor>, width: number, source: string): number[] {
  const layers = new Set([...tensors.keys()].flatMap((n) => /\.layers?\.(\d+)\./.exec(n)?.[1] ?? [])).size;
  const readers = (l: number): RegExp[] => [new RegExp(`layers?\\.${l}\\.attention\\.self\\.(query|key|value)\\.weight$`)];
  const links: Array<[RegExp, RegExp[]]> = [[/embeddings\.LayerNorm\.weight$/, readers(0)]];
  for (let l = 0; l < layers; l++) {
    links.push([new RegExp(`layers?\\.${l}\\.attention\\.output\\.LayerNorm\\.weight$`), [new RegExp(`layers?\\.${l}\\.(mlp\\.gated_layers|intermediate\\.dense)\\.weight$`)]]);
    links.push([new RegExp(`layers?\\.${l}\\.(mlp\\.layernorm|output\\.LayerNorm)\\.weight$`), l + 1 < layers ? readers(l + 1) : [/pooler\.dense\.weight$/]]);
  }
  const score = new Array<number>(width).fill(0);
  for (const [norm, readerPatterns] of links) {
    const gamma = only(tensors, norm, source);
    for (const pattern of readerPatterns) {
      for (const [, t] of [...tensors].filter(([n]) => pattern.test(n))) {
        for (let d = 0; d < width; d++) score[d]! += Math.abs(gamma.data[d]!) * Math.sqrt(columnNormSquared(t, d));
      }
    }
  }
  return score;
}

function poolerScores(tensors: ReadonlyMap<string, Tensor>, width: number, source: string): number[] {
  const pooler = only(tensors, /pooler\.dense\.weight$/, source);
  const classifier = only(tensors, /classifier\.weight$/, source);
  return range(width).map((j) => Math.sqrt(columnNormSquared(classifier, j) * rowNormSquared(pooler, j)));
}

/** The one tensor whose name matches (several would make the cut ambiguous). */
function only(tensors: ReadonlyMap<string, Tensor>, pattern: RegExp, source: string): Tensor {
  const found = [...tensors].filter(([n]) => pattern.test(n));
  if (found.length !== 1) {
    throw new InputError(`${source}: ${found.length === 0 ? 'no tensor' : `${found.length} tensors (${found.map(([n]) => n).join(', ')})`} matching ${pattern.source}`,
      'cut students from a BERT/JinaBERT sequence-classification (reranker) checkpoint with one pooler and one classifier');
  }
  return found[0]![1];
}

/** The indices of the `count` largest scores, in ascending index order (ties: the lower index). */
function strongest(score: readonly number[], count: number): number[] {
  return range(score.length).sort((a, b) => score[b]! - score[a]! || a - b).slice(0, count).sort((a, b) => a - b);
}

function select(t: Tensor, indices: readonly (readonly number[])[]): Tensor {
  if (indices.length === 1) return { shape: [indices[0]!.length], data: Float32Array.from(indices[0]!, (i) => t.data[i]!) };
  const [rows, cols] = indices as [readonly number[], readonly number[]];
  const width = t.shape[1]!;
  const data = new Float32Array(rows.length * cols.length);
  rows.forEach((r, i) => cols.forEach((c, j) => { data[i * cols.length + j] = t.data[r * width + c]!; }));
  return { shape: [rows.length, cols.length], data };
}

export function rowNormSquared(t: Tensor, row: number): number {
  const width = t.shape[1]!;
  let sum = 0;
  for (let c = 0; c < width; c++) sum += t.data[row * width + c]! ** 2;
  return sum;
}

export function columnNormSquared(t: Tensor, column: number): number {
  const width = t.shape[1]!;
  let sum = 0;
  for (let r = 0; r < t.shape[0]!; r++) sum += t.data[r * width + column]! ** 2;
  return sum;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
