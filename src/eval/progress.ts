/**
 * Progress of long runs: a bar on stderr when a person is watching (stderr is a terminal and
 * --quiet was not given), nothing otherwise, so logs and pipes stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, done: number): void;
  advance(by: number): void;
  stop(): void;
}

export const NO_PROGRESS: Progress = { start() {}, advance() {}, stop() {} };

/** A bar counting documents scored, labelled with what is being scored. */
export function progressBar(label: string, options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet || !stream.isTTY) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% | {value}/{total} documents | {rate} docs/s | ETA {eta_formatted}`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  let started = 0;
  let firstValue = 0;
  let value = 0;
  return {
    start(total, done) {
      started = performance.now();
      firstValue = value = done;
      bar.start(total, done, { rate: '-' });
    },
    advance(by) {
      value += by;
      // Rate over this session's work only: documents restored from a cache took no time.
      const seconds = (performance.now() - started) / 1000;
      bar.update(value, { rate: seconds > 0 ? ((value - firstValue) / seconds).toFixed(1) : '-' });
    },
    stop() {
      bar.stop();
    },
  };
}
