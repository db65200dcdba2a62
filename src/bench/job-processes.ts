/**
 * Real processes for the jobs tests and `npm run bench:jobs`: a throwaway redis-server (on a
 * free loopback port, no persistence) and `turborank worker` processes whose JSON log lines
 * are collected as they arrive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TURBORANK_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'turborank.js');

export interface LocalRedis {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `redis-server` (Debian's; npm test installs it with scripts/ensure-debian-package.sh) and resolves once it accepts connections. */
export async function startLocalRedis(timeoutMs = 15_000): Promise<LocalRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} not ready in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (b: Buffer): void => {
      output += b.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (${err.message}): install Debian's redis-server (npm test does it with scripts/ensure-debian-package.sh)`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited before it was ready:\n${output}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export type WorkerLogLine = { event?: string; shard?: number; run?: string } & Record<string, unknown>;

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly logs: WorkerLogLine[];
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line (from now on or already seen) that `match` accepts. */
  waitFor(match: (line: WorkerLogLine) => boolean, timeoutMs?: number): Promise<WorkerLogLine>;
  kill(signal?: NodeJS.Signals): void;
}

function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT; // set by `node --test` for its own children, not for ours
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `turborank worker …args` and resolves once it logs "started". */
export async function startWorkerProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [TURBORANK_BIN, 'worker', ...args], { cwd: os.tmpdir(), env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: WorkerLogLine[] = [];
  const waiters: { match: (line: WorkerLogLine) => boolean; resolve: (line: WorkerLogLine) => void }[] = [];
  let stderr = '';
  let partial = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  child.stdout!.on('data', (b: Buffer) => {
    partial += b.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      let line: WorkerLogLine;
      try {
        line = JSON.parse(text) as WorkerLogLine;
      } catch {
        line = { event: 'unparsed', text };
      }
      logs.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(line)) waiters.splice(i, 1)[0]!.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (match: (line: WorkerLogLine) => boolean, ms = 60_000): Promise<WorkerLogLine> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${args.join(' ')}: no matching log line in ${ms} ms\nstderr: ${stderr}\nlogs: ${JSON.stringify(logs.slice(-5))}`)), ms);
      waiters.push({ match, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${code ?? signal}) before the awaited log line\nstderr: ${stderr}`));
      });
    });
  };
  const kill = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const worker: WorkerProcess = { child, logs, stderr: () => stderr, exited, waitFor, kill };
  try {
    await waitFor((line) => line.event === 'started', timeoutMs);
  } catch (err) {
    kill();
    throw err;
  }
  return worker;
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `turborank …args` to its end. */
export function runTurborank(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TURBORANK_BIN, ...args], { cwd: os.tmpdir(), env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`turborank ${args.join(' ')}: no exit in ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Deterministic short (query, document) pairs of varied lengths, as JSON Lines. */
export function syntheticPairs(count: number, seed = 1): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'paris', 'france', 'rerank'];
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const phrase = (n: number): string => Array.from({ length: n }, () => words[Math.floor(next() * words.length)]!).join(' ');
  let out = '';
  for (let i = 0; i < count; i++) {
    out += JSON.stringify({ query: `q${i % 37} ${phrase(1 + Math.floor(next() * 6))}`, document: phrase(1 + Math.floor(next() * 60)) }) + '\n';
  }
  return out;
}

/** CPU seconds (user + system, all threads) a live process has used, from /proc (Linux). */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state, field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const CLOCK_TICKS = 100; // USER_HZ, 100 on every Linux we run on
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
