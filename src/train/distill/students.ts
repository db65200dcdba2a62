/**
 * What the students train on, made from the teacher's labels: Margin-MSE pairs (the teacher's
 * best candidate against others, with the teacher's two logits) and listwise lists (the best
 * candidate and list_size − 1 others, with the teacher's logits), in the formats of the
 * `margin-mse` and `listwise-kl` losses; and a student's starting checkpoint cut from the
 * teacher (embeddings, its first N layers, the head).
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { InputError, TurborankError } from '../../errors.js';
import { readSafetensors, writeSafetensors } from '../../checkpoint/safetensors.js';
import { sha256File } from '../../checkpoint/files.js';
import { TOKENIZER_COMPANIONS } from '../checkpoints.js';
import { seededRandom } from '../data.js';
import { distillPaths, type DistillConfig, type ModelShape, type StudentConfig } from './config.js';
import { LABELS_FILE, readLabels, type LabelLine } from './label.js';

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
 * A student's starting checkpoint from the teacher: every tensor but those of layers ≥ the
 * student's depth, with config.json saying the new depth. Only the depth may differ.
 */
export function cutTeacher(teacher: string, student: StudentConfig, teacherShape: ModelShape, dir: string): string {
  const shape = { ...teacherShape, ...student.shape };
  const changed = (['hidden_size', 'num_attention_heads', 'intermediate_size'] as const).filter((k) => shape[k] !== teacherShape[k]);
  if (changed.length > 0) {
    throw new InputError(`student ${student.name}: init_from_teacher needs the teacher's width, but ${changed.join(', ')} differ`, 'set "init_from_teacher": false for a narrower student, or keep the teacher\'s width');
  }
  if (shape.num_hidden_layers > teacherShape.num_hidden_layers) {
    throw new InputError(`student ${student.name}: ${shape.num_hidden_layers} layers, more than the teacher's ${teacherShape.num_hidden_layers}`, 'give the student fewer layers than the teacher');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const weights = readSafetensors(path.join(teacher, 'model.safetensors'));
  const kept = weights.names().filter((name) => {
    const m = /\.layers?\.(\d+)\./.exec(name);
    return m === null || Number(m[1]) < shape.num_hidden_layers;
  });
  writeSafetensors(path.join(dir, 'model.safetensors'), kept.map((name) => ({ name, dtype: 'F32' as const, shape: weights.shape(name)!, data: weights.float32(name) })), { format: 'pt', producer: 'turborank distill' });
  const config = JSON.parse(fs.readFileSync(path.join(teacher, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: shape.num_hidden_layers }, null, 2) + '\n');
  for (const f of ['tokenizer.json', ...TOKENIZER_COMPANIONS]) {
    if (fs.existsSync(path.join(teacher, f))) fs.copyFileSync(path.join(teacher, f), path.join(dir, f));
  }
  return dir;
}

async function readTexts(file: string, field: 'query' | 'text', ids: ReadonlySet<string>): Promise<Map<string, string>> {
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
