/**
 * `turborank train --config FILE`: runs the trainer from a JSON config, shows progress, logs
 * every step as JSON Lines, and checkpoints on SIGINT/SIGTERM so the run can be resumed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { TurborankError, UsageError } from '../errors.js';
import { Trainer, latestCheckpoint, readTrainConfig, type StepReport, type TrainConfig } from '../train/index.js';
import { stringOption, writeStdout } from './main.js';

export const TRAIN_HELP = {
  text: `Usage: turborank train --config FILE [options]

Trains a cross-encoder (or a masked-LM encoder) on ONNX Runtime as the JSON config says:
model shape or starting checkpoint, data, loss, schedule, steps, checkpoint interval. See
docs/TRAINING.md for every key.

Checkpoints are Hugging Face folders in the config's "output" (OUT/checkpoint-<step>, with
OUT/latest.json naming the newest complete one); \`turborank rerank --model OUT/checkpoint-N\`
scores with one. Every step is appended to OUT/train_log.jsonl as one JSON object (step,
loss, learning_rate, grad_norm, tokens_per_second, elapsed_seconds, dev metrics, checkpoint).

Ctrl-C (SIGINT) or SIGTERM finishes the step in progress, saves a checkpoint and exits with
130 or 143; run again with --resume to continue. A second signal exits at once (the last
checkpoint stays intact).

Options:
  -c, --config FILE     training config (JSON)
      --resume          continue from OUT/latest.json (the config must match the run's)
      --quiet           no progress on stderr (the log file is still written)
      --json            print the end-of-run summary as JSON
  -h, --help            this help`,
  options: {
    config: { type: 'string', short: 'c' },
    resume: { type: 'boolean' },
    quiet: { type: 'boolean' },
    json: { type: 'boolean' },
  },
} as const;

export const TRAIN_LOG = 'train_log.jsonl';

/** One line of OUT/train_log.jsonl. */
export interface TrainLogLine {
  readonly step: number;
  readonly loss: number;
  readonly learning_rate: number;
  readonly grad_norm: number;
  /** Tokens per second averaged since this process started training. */
  readonly tokens_per_second: number;
  /** Seconds since this process started training (restarts at 0 on --resume). */
  readonly elapsed_seconds: number;
  readonly dev?: { readonly examples: number; readonly loss: number; readonly accuracy?: number; readonly mrr?: number; readonly ranked_queries?: number };
  readonly checkpoint?: string;
}

export interface TrainSummary {
  readonly status: 'completed' | 'interrupted';
  readonly config: string;
  readonly first_step: number | null;
  readonly last_step: number;
  readonly total_steps: number;
  readonly resumed_from: string | null;
  readonly final_loss: number | null;
  readonly tokens_per_second: number | null;
  readonly elapsed_seconds: number;
  readonly checkpoint: string | null;
  readonly log: string;
  readonly dev: TrainLogLine['dev'] | null;
}

export async function runTrain(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  if (positionals.length > 0) throw new UsageError(`train takes no positional arguments, got ${positionals.join(' ')}`, 'pass the config with --config FILE');
  const configFile = stringOption(values, 'config');
  if (configFile === undefined) throw new UsageError('train needs --config FILE', 'see docs/TRAINING.md for the format, or `turborank train --help`');
  const config = readTrainConfig(configFile);
  const resume = values.resume === true;
  const quiet = values.quiet === true;

  const resumedFrom = resume ? latestCheckpoint(config.output) : undefined;
  if (resume && !resumedFrom) throw new TurborankError(`--resume: no checkpoint in ${config.output}`, 'start without --resume, or point "output" at the run to continue');
  if (!resume) refuseToOverwrite(config.output);
  fs.mkdirSync(config.output, { recursive: true });
  removeStaleTemporaries(config.output);
  if (config.data.dev !== undefined && config.eval_every === undefined && !quiet) {
    process.stderr.write('turborank: data.dev is set but eval_every is not: the dev set will not be evaluated (set "eval_every": N)\n');
  }

  const signals = new SignalWatch();
  let trainer: Trainer | undefined;
  let log: number | undefined;
  let progress: Progress | undefined;
  let interrupted = false;
  try {
    trainer = await Trainer.create(config, { resume });
    signals.onFirst(() => trainer?.stop());
    const startStep = trainer.step;
    const logFile = path.join(config.output, TRAIN_LOG);
    // A fresh run starts a fresh log; a resumed one appends (steps after its checkpoint repeat).
    if (resume) dropPartialLine(logFile);
    log = fs.openSync(logFile, resume ? 'a' : 'w');
    progress = quiet ? NO_PROGRESS : process.stderr.isTTY ? progressBar(config) : plainLines(config);
    progress.start(startStep, resumedFrom);

    let last: StepReport | undefined;
    let lastDev: TrainLogLine['dev'];
    let lastCheckpoint = resumedFrom;
    await trainer.run({
      onStep: (report) => {
        fs.writeSync(log!, JSON.stringify(logLine(report)) + '\n');
        last = report;
        if (report.dev) lastDev = devMetrics(report.dev);
        if (report.checkpoint) lastCheckpoint = report.checkpoint;
        progress!.step(report);
      },
    });
    progress.stop();
    interrupted = signals.received !== undefined && trainer.step < config.steps;
    const summary: TrainSummary = {
      status: interrupted ? 'interrupted' : 'completed',
      config: config.configPath,
      first_step: last ? startStep + 1 : null,
      last_step: trainer.step,
      total_steps: config.steps,
      resumed_from: resumedFrom ?? null,
      final_loss: last?.loss ?? null,
      tokens_per_second: last?.tokensPerSecond ?? null,
      elapsed_seconds: last?.elapsedSeconds ?? 0,
      checkpoint: lastCheckpoint ?? null,
      log: logFile,
      dev: lastDev ?? null,
    };
    if (interrupted && !quiet) {
      const saved = last?.checkpoint ? `saved ${last.checkpoint}` : `no step finished; latest checkpoint ${lastCheckpoint ?? 'none'}`;
      process.stderr.write(`turborank: ${signals.received} at step ${trainer.step}: ${saved}; continue with --resume\n`);
    }
    await writeStdout(values.json === true ? JSON.stringify(summary) + '\n' : describeSummary(summary) + '\n');
  } finally {
    progress?.stop();
    if (log !== undefined) fs.closeSync(log);
    await trainer?.close();
    signals.dispose();
  }
  // The exit status a shell expects of a process stopped by a signal (main() returns only 0, 1, 2).
  if (interrupted) process.exit(signals.exitCode);
}

function logLine(r: StepReport): TrainLogLine {
  return {
    step: r.step, loss: r.loss, learning_rate: r.learningRate, grad_norm: r.gradNorm,
    tokens_per_second: r.tokensPerSecond, elapsed_seconds: r.elapsedSeconds,
    ...(r.dev ? { dev: devMetrics(r.dev) } : {}),
    ...(r.checkpoint ? { checkpoint: r.checkpoint } : {}),
  };
}

function devMetrics(dev: NonNullable<StepReport['dev']>): NonNullable<TrainLogLine['dev']> {
  return { examples: dev.examples, loss: dev.loss, ...(dev.accuracy !== undefined ? { accuracy: dev.accuracy } : {}), ...(dev.mrr !== undefined ? { mrr: dev.mrr, ranked_queries: dev.rankedQueries ?? 0 } : {}) };
}

function describeSummary(s: TrainSummary): string {
  if (s.first_step === null) {
    return `nothing to train: ${s.resumed_from ?? 'the run'} is at step ${s.last_step} of ${s.total_steps} (raise "steps" to train further)`;
  }
  const parts = [
    `${s.status === 'completed' ? 'trained' : 'interrupted after'} steps ${s.first_step}–${s.last_step} of ${s.total_steps} in ${formatDuration(s.elapsed_seconds)}`,
    `final loss ${formatLoss(s.final_loss!)}`,
    `${Math.round(s.tokens_per_second!)} tokens/s`,
    ...(s.dev ? [`dev loss ${formatLoss(s.dev.loss)}${s.dev.accuracy !== undefined ? `, accuracy ${s.dev.accuracy.toFixed(3)}` : ''}${s.dev.mrr !== undefined ? `, MRR ${s.dev.mrr.toFixed(3)}` : ''}`] : []),
    `checkpoint ${s.checkpoint ?? 'none'}`,
    `log ${s.log}`,
  ];
  return parts.join('; ');
}

/** A line cut short by a crash would run into the next one: cut the log back to its last newline. */
function dropPartialLine(file: string): void {
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file);
  const end = text.lastIndexOf(0x0a) + 1;
  if (end < text.length) fs.truncateSync(file, end);
}

/** Starting over in a folder that holds a run would overwrite its checkpoints and log. */
function refuseToOverwrite(output: string): void {
  if (!fs.existsSync(path.join(output, 'latest.json'))) return;
  let where = output;
  try {
    where = latestCheckpoint(output) ?? output;
  } catch {
    // An unreadable latest.json is still a run we must not silently replace.
  }
  throw new UsageError(`${output} already holds a training run (latest: ${path.basename(where)})`,
    'pass --resume to continue it, or set "output" in the config to a new folder (or delete the folder to start over)');
}

/**
 * Temporary checkpoint folders (.checkpoint-<step>.<pid>.tmp) left by a run that was killed
 * while writing one are never named by latest.json; remove them so they do not pile up.
 */
function removeStaleTemporaries(output: string): void {
  for (const name of fs.readdirSync(output)) {
    const m = /^\.checkpoint-\d+\.(\d+)\.tmp$/.exec(name);
    if (m && Number(m[1]) !== process.pid) fs.rmSync(path.join(output, name), { recursive: true, force: true });
  }
}

/** SIGINT/SIGTERM: the first asks the trainer to checkpoint and stop; a second exits at once. */
class SignalWatch {
  received: NodeJS.Signals | undefined;
  private first: (() => void) | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.received !== undefined || this.first === undefined) {
      // Nothing to save yet (still loading), or the user insists: checkpoints are atomic, so
      // leaving now loses only the steps since the last one.
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    }
    this.received = signal;
    this.first();
  };

  constructor() {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  onFirst(action: () => void): void {
    this.first = action;
  }

  get exitCode(): number {
    return 128 + (this.received ? os.constants.signals[this.received] ?? 0 : 0);
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

interface Progress {
  start(step: number, resumedFrom: string | undefined): void;
  step(report: StepReport): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { start() {}, step() {}, stop() {} };

/** A live bar for a person at a terminal. */
function progressBar(config: TrainConfig): Progress {
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: 'train [{bar}] {value}/{total} | loss {loss} | lr {lr} | {tps} tokens/s | ETA {eta_formatted}{dev}',
    barsize: 24,
    hideCursor: true,
    etaBuffer: 50,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  let running = false;
  return {
    start(step, resumedFrom) {
      if (resumedFrom) process.stderr.write(`resuming from ${resumedFrom} at step ${step} of ${config.steps}\n`);
      bar.start(config.steps, step, { loss: '-', lr: '-', tps: '-', dev: '' });
      running = true;
    },
    step(r) {
      bar.update(r.step, { loss: formatLoss(r.loss), lr: r.learningRate.toExponential(2), tps: Math.round(r.tokensPerSecond), ...(r.dev ? { dev: ` | dev loss ${formatLoss(r.dev.loss)}` } : {}) });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** One line every log_every steps (and for evaluations and checkpoints), for logs and pipes. */
function plainLines(config: TrainConfig): Progress {
  let firstStep = 0;
  const write = (line: string): void => {
    process.stderr.write(line + '\n');
  };
  return {
    start(step, resumedFrom) {
      firstStep = step;
      if (resumedFrom) write(`resuming from ${resumedFrom} at step ${step} of ${config.steps}`);
    },
    step(r) {
      if (r.step % config.log_every === 0 || r.step === r.totalSteps || r.step === firstStep + 1) {
        const eta = (r.elapsedSeconds / (r.step - firstStep)) * (r.totalSteps - r.step);
        write(`step ${r.step}/${r.totalSteps}  loss ${formatLoss(r.loss)}  lr ${r.learningRate.toExponential(3)}  grad_norm ${r.gradNorm.toPrecision(4)}  ${Math.round(r.tokensPerSecond)} tokens/s  ETA ${formatDuration(eta)}`);
      }
      if (r.dev) write(`step ${r.step} dev: loss ${formatLoss(r.dev.loss)}${r.dev.accuracy !== undefined ? `  accuracy ${r.dev.accuracy.toFixed(4)}` : ''}${r.dev.mrr !== undefined ? `  MRR ${r.dev.mrr.toFixed(4)} (${r.dev.rankedQueries} queries)` : ''} (${r.dev.examples} examples)`);
      if (r.checkpoint) write(`step ${r.step} checkpoint: ${r.checkpoint}`);
    },
    stop() {},
  };
}

function formatLoss(x: number): string {
  return x.toFixed(4);
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
