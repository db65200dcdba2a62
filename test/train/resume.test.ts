import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Reranker } from '../../src/rerank/index.js';
import { assertFailure, assertOk, runCli, type CliResult } from '../cli/support.js';
import { readLatest, readLog, tinyConfig, trainingFolder, waitFor, writeConfig } from './support.js';

const STEPS = 300;
const CHECKPOINT_FILES = ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'trainer_state.json'];

/** Starts `turborank train`, waits until `ready` holds, sends `signal`, and returns the finished run. */
async function interrupt(args: string[], ready: () => boolean, signal: NodeJS.Signals): Promise<CliResult> {
  let child: ChildProcess | undefined;
  const run = runCli(args, { timeoutMs: 60_000, onSpawn: (c) => { child = c; } });
  await waitFor(() => ready() || (child !== undefined && child.exitCode !== null), 'the run to reach the point to interrupt it');
  child!.kill(signal);
  return run;
}

async function assertScores(checkpoint: string): Promise<void> {
  const reranker = await Reranker.load(checkpoint, { threads: 1 });
  try {
    const logits = await reranker.score([{ query: 'cover', document: 'some words cover here' }, { query: 'cover', document: 'alpha beta' }]);
    assert.equal(logits.length, 2);
    assert.ok(logits.every(Number.isFinite), `${checkpoint} scores ${Array.from(logits)}`);
  } finally {
    await reranker.close();
  }
}

test('kill -9 mid-run, then --resume: continues from the last checkpoint, nothing corrupted, losses as if never killed', async () => {
  const dir = trainingFolder();
  const output = path.join(dir, 'run');
  // No dropout: then the killed and resumed run must log exactly the losses of an uninterrupted
  // one (data order, weights and AdamW moments all come back from the checkpoint). The
  // uninterrupted reference runs alongside.
  const config = writeConfig(dir, tinyConfig({ steps: STEPS, checkpoint_every: 10, log_every: 100 }));
  const reference = runCli(['train', '--config', writeConfig(dir, tinyConfig({ steps: STEPS, checkpoint_every: 100, output: 'reference' }), 'reference.json'), '--quiet'], { timeoutMs: 60_000 });
  const lastStep = (): number => readLog(output).at(-1)?.step ?? 0;

  const killed = await interrupt(['train', '--config', config, '--quiet'], () => lastStep() >= 35, 'SIGKILL');
  assert.equal(killed.signal, 'SIGKILL', `the run was still going when killed (exit ${killed.code}, stderr ${killed.stderr})`);
  const before = readLog(output);
  const latest = readLatest(output);
  assert.ok(latest, 'latest.json exists');
  assert.match(latest.checkpoint, /^checkpoint-\d+$/);
  assert.ok(latest.step >= 30 && latest.step % 10 === 0 && latest.step <= before.at(-1)!.step, `latest ${JSON.stringify(latest)}, log up to ${before.at(-1)!.step}`);
  assert.ok(before.at(-1)!.step < STEPS, 'killed before the end');
  const saved = path.join(output, latest.checkpoint);
  for (const f of CHECKPOINT_FILES) assert.ok(fs.existsSync(path.join(saved, f)), `${latest.checkpoint}/${f}`);
  await assertScores(saved);

  // A half-written checkpoint, as a kill during a save leaves one, must never be taken for one.
  const stale = path.join(output, `.checkpoint-${latest.step + 10}.999999.tmp`);
  fs.mkdirSync(stale);
  fs.writeFileSync(path.join(stale, 'model.safetensors'), 'half-written');

  const resumed = await runCli(['train', '--config', config, '--resume'], { timeoutMs: 60_000 });
  assertOk(resumed);
  assert.match(resumed.stderr, new RegExp(`^resuming from .*${latest.checkpoint} at step ${latest.step} of ${STEPS}\n`));
  assert.ok(!fs.existsSync(stale), 'stale temporary folder removed');

  const log = readLog(output);
  const firstRun = log.slice(0, before.length);
  const secondRun = log.slice(before.length);
  assert.deepEqual(firstRun, before, 'lines already logged are kept');
  assert.deepEqual(secondRun.map((l) => l.step), range(latest.step + 1, STEPS), 'continues at the checkpoint step + 1, to the end');
  assertOk(await reference);
  const uninterrupted = new Map(readLog(path.join(dir, 'reference')).map((l) => [l.step, l.loss]));
  assert.equal(uninterrupted.size, STEPS);
  for (const l of firstRun) assert.equal(l.loss, uninterrupted.get(l.step), `step ${l.step} before the kill`);
  for (const l of secondRun) assert.equal(l.loss, uninterrupted.get(l.step), `step ${l.step} after resuming from step ${latest.step}`);
  assert.equal(readLatest(output)!.step, STEPS);
  assert.match(resumed.stdout, new RegExp(`^trained steps ${latest.step + 1}–${STEPS} of ${STEPS} `));
  await assertScores(path.join(output, `checkpoint-${STEPS}`));
  assert.deepEqual(fs.readdirSync(output).filter((n) => n.startsWith('checkpoint-')).sort(), [`checkpoint-${STEPS - 10}`, `checkpoint-${STEPS}`], 'keep_checkpoints: 2');
});

test('SIGINT checkpoints the step in progress and exits 130; --resume with a changed config is refused', async () => {
  const dir = trainingFolder();
  const output = path.join(dir, 'run');
  const config = writeConfig(dir, tinyConfig({ steps: STEPS, checkpoint_every: 1000 }));
  const stopped = await interrupt(['train', '--config', config], () => readLog(output).length >= 5, 'SIGINT');
  assert.equal(stopped.code, 130, stopped.stderr);
  const log = readLog(output);
  const last = log.at(-1)!;
  assert.ok(last.step < STEPS);
  assert.equal(last.checkpoint, path.join(output, `checkpoint-${last.step}`), 'the last step logged carries the checkpoint');
  assert.deepEqual(readLatest(output), { checkpoint: `checkpoint-${last.step}`, step: last.step });
  assert.match(stopped.stderr, new RegExp(`turborank: SIGINT at step ${last.step}: saved .*checkpoint-${last.step}; continue with --resume`));
  assert.match(stopped.stdout, new RegExp(`^interrupted after steps 1–${last.step} of ${STEPS} `));

  const changed = writeConfig(dir, tinyConfig({ steps: STEPS, checkpoint_every: 1000, batch_size: 16 }), 'changed.json');
  assertFailure(await runCli(['train', '--config', changed, '--resume']), 1, /the training config changed since this checkpoint/, /batch size/);

  const terminated = await interrupt(['train', '--config', config, '--resume', '--quiet'], () => readLog(output).at(-1)!.step >= last.step + 3, 'SIGTERM');
  assert.equal(terminated.code, 143, terminated.stderr);
  const after = readLog(output).slice(log.length);
  assert.equal(after[0]!.step, last.step + 1);
  assert.deepEqual(readLatest(output)!.step, after.at(-1)!.step);
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
