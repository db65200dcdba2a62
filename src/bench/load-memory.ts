/**
 * What loading a checkpoint costs in memory: writes a random-weight F32 checkpoint with a
 * reference shape (model.safetensors, config.json, and the bundled test model's tokenizer, whose
 * small vocabulary fits any embedding) to a temporary folder, then loads it with Reranker.load in
 * a fresh process, scores one pair, and reports that process's peak RSS next to the file's size.
 *
 *   node dist/src/bench/load-memory.js [shape=bge-reranker-base]
 *
 * Writing happens in this process and loading in the child, so the weights made here never
 * count towards the peak measured there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expectedTensors, specToConfigJson, writeSafetensors } from '../checkpoint/index.js';
import { Reranker, testModelPath } from '../rerank/index.js';
import { REFERENCE_SHAPES, randomWeights, type ShapeName } from './random-model.js';
import { machineDescription } from './throughput.js';

export interface LoadMemoryResult {
  readonly shape: string;
  readonly checkpointBytes: number;
  readonly loadSeconds: number;
  /** Peak resident set of the loading process, after loading and scoring one pair. */
  readonly peakRssMiB: number;
  readonly peakOverCheckpoint: number;
}

/** Writes a random-weight checkpoint of `shape` into `dir`; returns the size of model.safetensors. */
export function writeRandomCheckpoint(shape: ShapeName, dir: string): number {
  const spec = REFERENCE_SHAPES[shape];
  const weights = randomWeights();
  const file = path.join(dir, 'model.safetensors');
  writeSafetensors(file, expectedTensors(spec).map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, data: weights(t.name, t.shape) })));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(specToConfigJson(spec), null, 2));
  fs.copyFileSync(path.join(testModelPath(), 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  return fs.statSync(file).size;
}

/** In the child: load, score one pair, report. */
async function loadAndReport(dir: string): Promise<void> {
  const started = performance.now();
  const reranker = await Reranker.load(dir, { threads: 2 });
  const loadSeconds = (performance.now() - started) / 1000;
  await reranker.rerank('what is the capital of france?', ['Paris is the capital of France.']);
  await reranker.close();
  process.stdout.write(JSON.stringify({ loadSeconds, peakRssMiB: peakRssMiB() }) + '\n');
}

/**
 * This process's peak resident set. On Linux from VmHWM, which a new program image starts afresh:
 * getrusage's maxrss carries over the peak of the parent that forked it (here, the process that
 * had just made 1.1 GB of random weights).
 */
export function peakRssMiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function measureLoadMemory(shape: ShapeName): LoadMemoryResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `turborank-load-${shape}-`));
  try {
    const checkpointBytes = writeRandomCheckpoint(shape, dir);
    const self = fileURLToPath(import.meta.url);
    const out = execFileSync(process.execPath, [self, '--load', dir], { encoding: 'utf8' });
    const { loadSeconds, peakRssMiB } = JSON.parse(out) as { loadSeconds: number; peakRssMiB: number };
    return { shape, checkpointBytes, loadSeconds, peakRssMiB, peakOverCheckpoint: (peakRssMiB * 2 ** 20) / checkpointBytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [flagOrShape = 'bge-reranker-base', dir] = process.argv.slice(2);
  if (flagOrShape === '--load' && dir) {
    await loadAndReport(dir);
  } else {
    if (!(flagOrShape in REFERENCE_SHAPES)) {
      console.error(`usage: node dist/src/bench/load-memory.js [${Object.keys(REFERENCE_SHAPES).join('|')}]`);
      process.exit(2);
    }
    const result = measureLoadMemory(flagOrShape as ShapeName);
    process.stdout.write(JSON.stringify({ machine: machineDescription(), date: new Date().toISOString(), ...result }) + '\n');
  }
}
