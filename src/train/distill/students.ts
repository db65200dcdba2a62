/**
 * What the students train on, made from the teacher's labels: Margin-MSE pairs (the teacher's
 * best candidate against others, with the teacher's two logits) and listwise lists (the best
 * candidate and list_size − 1 others, with the teacher's logits), in the formats of the
 * `margin-mse` and `listwise-kl` losses; and a student's starting checkpoint cut from the
 * teacher (embeddings, its first N layers, the head; optionally fewer feed-forward units).
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { InputError, TurborankError } from '../../errors.js';
import { readSafetensors, writeSafetensors } from '../../checkpoint/safetensors.js';
import { sha256File } from '../../checkpoint/files.js';
import { copyTokenizerFiles } from '../checkpoints.js';
import { seededRandom } from '../data.js';
import { distillPaths, type DistillConfig, type ModelShape, type StudentConfig } from './config.js';
import { checkLabelsMatchQueries, LABELS_FILE, readLabels, type LabelLine } from './label.js';
import { columnNormSquared, narrowResidual, rowNormSquared, type Tensor } from './narrow.js';

export interface StudentData {
  readonly marginMse: string;
  readonly listwise: string;
  readonly listSize: number;
}

/** Writes student-data/{margin-mse,listwise}.jsonl from the labels (kept while labels and settings are unchanged). */
export async function buildStudentData(c: DistillConfig, log: (line: string) => void): Promise<StudentData> {
  const p = distillPaths(c);
  const labelsFile = path.join(p.labels, LABELS_FILE);
  if (!fs.existsSync(labelsFile)) throw new TurborankError(`no labels in ${p.labels}`, 'run `turborank distill label` first');
  checkLabelsMatchQueries(p.labels, p.queries);
  const out: StudentData = { marginMse: path.join(p.studentData, 'margin-mse.jsonl'), listwise: path.join(p.studentData, 'listwise.jsonl'), listSize: c.students.list_size };
  // Made again only when the labels or the settings changed (a student resumed on other data would mix the two).
  const settingsFile = path.join(p.studentData, 'settings.json');
  const settings = JSON.stringify({ labels_sha256: sha256File(labelsFile), pairs_per_query: c.students.pairs_per_query, list_size: c.students.list_size, seed: c.students.seed });
  if (fs.existsSync(settingsFile) && fs.readFileSync(settingsFile, 'utf8') === settings && fs.existsSync(out.marginMse) && fs.existsSync(out.listwise)) {
    log(`students: training data up to date in ${p.studentData}`);
    return out;
  }
  const labels = readLabels(labelsFile).filter((l) => l.doc_ids.length >= 2);
  if (labels.length === 0) throw new TurborankError(`${labelsFile}: no query has two labelled candidates`, 'label more queries (or queries with more candidates)');
  const queryIds = new Set(labels.map((l) => l.query_id));
  const docIds = new Set(labels.flatMap((l) => l.doc_ids));
  const queries = await readTexts(p.queries, 'query', queryIds);
  const documents = await readTexts(p.documents, 'text', docIds);
  const random = seededRandom(c.students.seed);
  const k = c.students.list_size;
  fs.mkdirSync(p.studentData, { recursive: true });
  const pairLines: string[] = [];
  const listLines: string[] = [];
  for (const label of labels) {
    const query = text(queries, label.query_id, p.queries);
    const order = label.logits.map((_, i) => i).sort((a, b) => label.logits[b]! - label.logits[a]!);
    const best = order[0]!;
    const others = shuffle(order.slice(1), random);
    for (const j of others.slice(0, c.students.pairs_per_query)) {
      pairLines.push(JSON.stringify({ query, positive: doc(documents, label, best, p.documents), negative: doc(documents, label, j, p.documents), teacher_positive: label.logits[best], teacher_negative: label.logits[j] }) + '\n');
    }
    // A query with fewer candidates than the list size trains the pairs only: every list has k.
    if (order.length < k) continue;
    const list = [best, ...others.slice(0, k - 1)];
    listLines.push(JSON.stringify({ query, documents: list.map((i) => doc(documents, label, i, p.documents)), teacher: list.map((i) => label.logits[i]) }) + '\n');
  }
  if (listLines.length === 0 && c.students.models.some((m) => m.losses.includes('listwise-kl'))) throw new InputError(`${labelsFile}: no query has ${k} labelled candidates for listwise training`, 'lower students.list_size (at most the data\'s queries.candidates)');
  writeAtomic(out.marginMse, pairLines.join(''));
  writeAtomic(out.listwise, listLines.join(''));
  writeAtomic(settingsFile, settings);
  log(`students: ${pairLines.length} margin-MSE pairs and ${listLines.length} lists of ${k} from ${labels.length} labelled queries`);
  return out;
}

/**
 * A student's starting checkpoint from the teacher: the embeddings, the head and the teacher's
 * first N layers, with config.json saying the student's shape. A narrower hidden_size (fewer
 * heads of the teacher's head size) is cut by narrow.ts. A smaller intermediate_size keeps,
 * in every layer, the feed-forward units (GEGLU: a gate row, an up row, a column of the
 * output weight) with the largest product of those three norms: a weight-only estimate of
 * what a unit contributes, so the cut needs no data.
 */
export function cutTeacher(teacher: string, student: StudentConfig, teacherShape: ModelShape, dir: string): string {
  const shape = { ...teacherShape, ...student.shape };
  if (shape.num_hidden_layers > teacherShape.num_hidden_layers) {
    throw new InputError(`student ${student.name}: ${shape.num_hidden_layers} layers, more than the teacher's ${teacherShape.num_hidden_layers}`, 'give the student fewer layers than the teacher');
  }
  if (shape.intermediate_size > teacherShape.intermediate_size) {
    throw new InputError(`student ${student.name}: intermediate_size ${shape.intermediate_size}, more than the teacher's ${teacherShape.intermediate_size}`, 'a student cut from the teacher can keep at most the teacher\'s feed-forward units');
  }
  const config = JSON.parse(fs.readFileSync(path.join(teacher, 'config.json'), 'utf8')) as Record<string, unknown>;
  const weights = readSafetensors(path.join(teacher, 'model.safetensors'));
  const kept = weights.names().filter((name) => {
    const m = /\.layers?\.(\d+)\./.exec(name);
    return m === null || Number(m[1]) < shape.num_hidden_layers;
  });
  const tensors = new Map(kept.map((name) => [name, { shape: [...weights.shape(name)!], data: weights.float32(name) }]));
  if (shape.hidden_size !== teacherShape.hidden_size || shape.num_attention_heads !== teacherShape.num_attention_heads) {
    narrowResidual(tensors, { ...teacherShape, num_hidden_layers: shape.num_hidden_layers }, shape, config.position_embedding_type === 'alibi', `student ${student.name}`, teacher);
  }
  if (shape.intermediate_size < teacherShape.intermediate_size) {
    pruneFeedForward(tensors, shape.num_hidden_layers, teacherShape.intermediate_size, shape.intermediate_size, teacher);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })), { format: 'pt', producer: 'turborank distill' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, hidden_size: shape.hidden_size, num_attention_heads: shape.num_attention_heads, num_hidden_layers: shape.num_hidden_layers, intermediate_size: shape.intermediate_size }, null, 2) + '\n');
  copyTokenizerFiles(teacher, dir);
  return dir;
}

/** Keeps `to` of the `from` GEGLU units of each layer's mlp (see cutTeacher), in their original order. */
function pruneFeedForward(tensors: Map<string, Tensor>, layers: number, from: number, to: number, teacher: string): void {
  for (let l = 0; l < layers; l++) {
    const gatedName = [...tensors.keys()].find((n) => n.endsWith(`layer.${l}.mlp.gated_layers.weight`));
    const outName = gatedName?.replace('gated_layers.weight', 'wo.weight');
    const gated = gatedName === undefined ? undefined : tensors.get(gatedName);
    const out = outName === undefined ? undefined : tensors.get(outName);
    if (!gated || !out || gated.shape[0] !== 2 * from || out.shape[1] !== from) {
      throw new InputError(`${teacher}: layer ${l} has no GEGLU feed-forward of ${from} units (mlp.gated_layers, mlp.wo)`,
        'a smaller intermediate_size can only be cut from a JinaBERT teacher with feed_forward_type geglu; train this student with "init_from_teacher": false');
    }
    const hidden = gated.shape[1]!;
    const outRows = out.shape[0]!;
    const score = Array.from({ length: from }, (_, j) => Math.sqrt(rowNormSquared(gated, j) * rowNormSquared(gated, from + j) * columnNormSquared(out, j)));
    const keep = score.map((_, j) => j).sort((a, b) => score[b]! - score[a]! || a - b).slice(0, to).sort((a, b) => a - b);
    const newGated = new Float32Array(2 * to * hidden);
    keep.forEach((j, k) => {
      newGated.set(gated.data.subarray(j * hidden, (j + 1) * hidden), k * hidden);
      newGated.set(gated.data.subarray((from + j) * hidden, (from + j + 1) * hidden), (to + k) * hidden);
    });
    const newOut = new Float32Array(outRows * to);
    for (let r = 0; r < outRows; r++) keep.forEach((j, k) => { newOut[r * to + k] = out.data[r * from + j]!; });
    tensors.set(gatedName!, { shape: [2 * to, hidden], data: newGated });
    tensors.set(outName!, { shape: [outRows, to], data: newOut });
  }
}

export async function readTexts(file: string, field: 'query' | 'text', ids: ReadonlySet<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    if (typeof o.id === 'string' && ids.has(o.id) && typeof o[field] === 'string') out.set(o.id, o[field]);
  }
  return out;
}

function text(map: ReadonlyMap<string, string>, id: string, file: string): string {
  const t = map.get(id);
  if (t === undefined) throw new InputError(`the labels name ${id}, which is not in ${file}`, 'the labels come from another data build: delete the labels folder and label again');
  return t;
}

function doc(documents: ReadonlyMap<string, string>, label: LabelLine, i: number, file: string): string {
  return text(documents, label.doc_ids[i]!, file);
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
