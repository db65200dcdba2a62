/**
 * `distill pack`: what is worth committing between sessions, small: each finished model's
 * weights in float16 (config.json, tokenizer files, model.safetensors; no optimizer state),
 * and the labels gzipped with their provenance. A packed model loads with Reranker.load and
 * starts the next stage (model.init), but cannot resume its own training (no AdamW moments).
 * `distill students --from-pack` trains the students again from a pack's teacher and labels.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readSafetensors, writeSafetensors } from '../../checkpoint/safetensors.js';
import { sha256File, writeFileAtomic } from '../../checkpoint/files.js';
import { copyTokenizerFiles, latestCheckpoint } from '../checkpoints.js';
import { FileError, InputError } from '../../errors.js';
import { distillPaths, finalTeacher, type DistillConfig, type ModelShape } from './config.js';
import { LABELS_FILE, PROVENANCE_FILE, queriesOfLabels, readProvenance } from './label.js';

export interface PackedFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly from?: string;
}

/** Writes RUN/pack/ (replacing it) from whatever stages have finished; returns what it wrote. */
export function packRun(c: DistillConfig, log: (line: string) => void): PackedFile[] {
  const p = distillPaths(c);
  const out = path.join(c.run, 'pack');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const written: PackedFile[] = [];
  const describe = (file: string, from?: string): void => {
    written.push({ file: path.relative(out, file), bytes: fs.statSync(file).size, sha256: sha256File(file), ...(from ? { from } : {}) });
  };
  const runs: [string, string][] = [['teacher', finalTeacher(c).folder]];
  for (const s of c.students.models) for (const loss of s.losses) runs.push([`${s.name}-${loss}`, p.student(s.name, loss)]);
  for (const [name, folder] of runs) {
    const checkpoint = latestCheckpoint(folder);
    if (checkpoint === undefined) continue;
    const dir = path.join(out, name);
    fs.mkdirSync(dir);
    const weights = readSafetensors(path.join(checkpoint, 'model.safetensors'));
    writeSafetensors(path.join(dir, 'model.safetensors'), weights.names().map((n) => ({ name: n, dtype: 'F16' as const, shape: weights.shape(n)!, data: weights.float32(n) })),
      { format: 'pt', producer: 'turborank distill pack', source: path.basename(checkpoint) });
    if (fs.existsSync(path.join(checkpoint, 'config.json'))) fs.copyFileSync(path.join(checkpoint, 'config.json'), path.join(dir, 'config.json'));
    copyTokenizerFiles(checkpoint, dir);
    for (const f of fs.readdirSync(dir)) describe(path.join(dir, f), f === 'model.safetensors' ? checkpoint : undefined);
    log(`pack: ${name} (${checkpoint}) in float16`);
  }
  const labels = path.join(p.labels, LABELS_FILE);
  if (fs.existsSync(labels)) {
    const gz = path.join(out, `${LABELS_FILE}.gz`);
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(labels), { level: 9 }));
    fs.copyFileSync(path.join(p.labels, PROVENANCE_FILE), path.join(out, PROVENANCE_FILE));
    describe(gz, labels);
    describe(path.join(out, PROVENANCE_FILE));
    log(`pack: labels (${fs.statSync(labels).size} bytes, gzipped ${fs.statSync(gz).size})`);
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ created: new Date().toISOString(), config: c.configPath, files: written }, null, 2) + '\n');
  return written;
}

/** A pack's files, each checked against the sha256 its manifest gives. */
class CheckedPack {
  private readonly manifestFile: string;
  private readonly files: readonly PackedFile[];

  constructor(readonly dir: string) {
    this.manifestFile = path.join(dir, 'manifest.json');
    if (!fs.existsSync(this.manifestFile)) throw new FileError(this.manifestFile, 'not found: --from-pack needs a folder `turborank distill pack` wrote', 'point --from-pack at RUN/pack or data/distill-pack');
    this.files = (JSON.parse(fs.readFileSync(this.manifestFile, 'utf8')) as { files: readonly PackedFile[] }).files;
  }

  entry(file: string): PackedFile {
    const found = this.files.find((f) => f.file === file);
    if (found === undefined || !fs.existsSync(path.join(this.dir, file))) {
      throw new FileError(path.join(this.dir, file), 'missing from the pack', 'pack a run whose teacher (and, for the students, labels) are finished (`turborank distill pack`)');
    }
    if (sha256File(path.join(this.dir, file)) !== found.sha256) {
      throw new FileError(path.join(this.dir, file), `does not match the sha256 in ${this.manifestFile}`, 'the pack was changed after packing: restore it (git checkout) or pack again');
    }
    return found;
  }
}

/**
 * For `distill weak|students --from-pack DIR`: checks DIR/teacher against DIR's manifest and the
 * config's teacher shape, and returns it with the checkpoint it was packed from. Its weights are
 * the teacher's in float16, so what starts from them differs from what would start from the
 * full checkpoint by float16 rounding.
 */
export function packedTeacher(c: DistillConfig, packDir: string, teacherShape: ModelShape): { dir: string; from: string } {
  return teacherOf(new CheckedPack(packDir), c, teacherShape);
}

function teacherOf(pack: CheckedPack, c: DistillConfig, teacherShape: ModelShape): { dir: string; from: string } {
  const packDir = pack.dir;
  const weights = pack.entry('teacher/model.safetensors');
  pack.entry('teacher/config.json');
  const config = JSON.parse(fs.readFileSync(path.join(packDir, 'teacher', 'config.json'), 'utf8')) as Record<string, unknown>;
  const mismatched = (Object.keys(teacherShape) as (keyof ModelShape)[]).filter((k) => config[k] !== teacherShape[k]);
  if (mismatched.length > 0) {
    throw new InputError(`${packDir}/teacher: ${mismatched.map((k) => `${k} ${String(config[k])}`).join(', ')}, where ${c.configPath}'s teacher has ${mismatched.map((k) => teacherShape[k]).join(', ')}`,
      'use the distillation config the pack was made with');
  }
  return { dir: path.resolve(packDir, 'teacher'), from: weights.from ?? 'an unnamed checkpoint' };
}

/**
 * Whether DIR's labels were made on the query sets `queriesFile` holds now (their provenance's
 * sha256). `distill fuse --from-pack` labels the data again with the pack's teacher when not.
 * The pack itself is checked against its manifest by the call that then takes from it.
 */
export function packLabelsMatchQueries(packDir: string, queriesFile: string): boolean {
  // No provenance (or no pack): unpackTeacherAndLabels says what is missing.
  if (!fs.existsSync(path.join(packDir, PROVENANCE_FILE))) return true;
  const { made, now } = queriesOfLabels(path.join(packDir, PROVENANCE_FILE), queriesFile);
  return made === now;
}

/**
 * For `distill students|fuse --from-pack DIR`: packedTeacher, and the labels made by that teacher
 * (their provenance names the checkpoint it was packed from), restored into `labelsDir` (RUN/labels
 * by default; or found already there). Returns DIR/teacher, the model students are cut from (or
 * that the fusion stage trains further).
 */
export function unpackTeacherAndLabels(c: DistillConfig, packDir: string, teacherShape: ModelShape, log: (line: string) => void,
  stage: 'students' | 'fuse' = 'students', labelsDir: string = distillPaths(c).labels): string {
  const pack = new CheckedPack(packDir);
  const teacher = teacherOf(pack, c, teacherShape);
  const labelsGz = pack.entry(`${LABELS_FILE}.gz`);
  pack.entry(PROVENANCE_FILE);
  const provenance = readProvenance(path.join(packDir, PROVENANCE_FILE));
  if (teacher.from !== provenance.teacher.checkpoint) {
    throw new InputError(`${packDir}: its labels were made by ${provenance.teacher.checkpoint}, its teacher packed from ${teacher.from}`,
      'pack the run again after labelling, so that teacher and labels belong together');
  }
  const labels = zlib.gunzipSync(fs.readFileSync(path.join(packDir, labelsGz.file)));
  const labelsFile = path.join(labelsDir, LABELS_FILE);
  if (fs.existsSync(labelsFile)) {
    if (!fs.readFileSync(labelsFile).equals(labels)) {
      throw new InputError(`${labelsFile} holds other labels than ${packDir}`, `delete ${labelsDir} to take the pack's, or point "run" at a new folder`);
    }
    log(`${stage}: labels from ${packDir} already in ${labelsDir}`);
  } else {
    fs.mkdirSync(labelsDir, { recursive: true });
    fs.copyFileSync(path.join(packDir, PROVENANCE_FILE), path.join(labelsDir, PROVENANCE_FILE));
    writeFileAtomic(labelsFile, labels);
    log(`${stage}: labels from ${packDir} → ${labelsFile}`);
  }
  log(`${stage}: ${stage === 'students' ? 'cutting from' : 'training further'} ${teacher.dir} (float16 of ${teacher.from})`);
  return teacher.dir;
}
