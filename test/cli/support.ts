/**
 * Runs the real `turborank` CLI (bin/turborank.js, which imports dist/src/cli/main.js) as a
 * child process, feeding stdin and capturing stdout, stderr and the exit code.
 */
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixtureDir, loadExpected, repoRoot, tempDir, type GoldenCase, type GoldenFixture } from '../helpers.js';

export const CLI = path.join(repoRoot, 'bin', 'turborank.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the run was, for assertion messages. */
  readonly label: string;
}

export interface CliOptions {
  /** Bytes or text for stdin; stdin is closed (empty, not a TTY) when absent. */
  readonly input?: string | Uint8Array;
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Called with the child once it has started (e.g. to close its stdout early). */
  readonly onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** Spawns `node bin/turborank.js ...args`; rejects only if it does not finish in time. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const label = `turborank ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    // A neutral working directory: the CLI must not depend on being run from the repository.
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? os.tmpdir(),
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // The CLI may exit before reading stdin (usage errors): that is not a test failure.
    child.stdin.on('error', () => {});
    child.stdout.on('error', () => {});
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label}: no exit within ${timeoutMs} ms\nstderr: ${Buffer.concat(err).toString('utf8')}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), label });
    });
    options.onSpawn?.(child);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // set by `node --test` for its own children, not for ours
  delete env.NODE_OPTIONS;
  return env;
}

function describe(r: CliResult): string {
  return `${r.label}\nexit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout ---\n${r.stdout.slice(0, 2000)}\n--- stderr ---\n${r.stderr.slice(0, 2000)}`;
}

export function assertExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, `expected exit ${code}\n${describe(r)}`);
}

/** Success: exit 0, and nothing on stderr that looks like a crash. */
export function assertOk(r: CliResult): void {
  assertExit(r, 0);
  assertNoStack(r);
}

export function assertNoStack(r: CliResult): void {
  assert.ok(!r.stderr.includes('    at '), `stderr has a stack trace\n${describe(r)}`);
  assert.ok(!/unexpected error|a bug: please report/i.test(r.stderr), `stderr reports an unexpected error\n${describe(r)}`);
}

/** A handled failure: the exit code, a `turborank: ` message matching every pattern, no stack trace, nothing on stdout. */
export function assertFailure(r: CliResult, code: number | readonly number[], ...patterns: RegExp[]): void {
  const codes = typeof code === 'number' ? [code] : code;
  assert.ok(r.code !== null && codes.includes(r.code), `expected exit ${codes.join(' or ')}\n${describe(r)}`);
  assert.match(r.stderr, /^turborank: /m, `stderr does not start a turborank message\n${describe(r)}`);
  for (const p of patterns) assert.match(r.stderr, p, describe(r));
  assertNoStack(r);
  assert.equal(r.stdout, '', `expected nothing on stdout\n${describe(r)}`);
}

export interface RerankJson {
  model: string;
  query: string;
  results: { index: number; score: number; logit: number; document?: { text: string } }[];
}

export function parseJson<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch (e) {
    assert.fail(`stdout is not one JSON document (${(e as Error).message})\n${describe(r)}`);
  }
}

export const LOGIT_TOLERANCE = 1e-4;

export function assertLogit(actual: number, c: Pick<GoldenCase, 'id' | 'logit'>, what = ''): void {
  assert.equal(typeof actual, 'number', `${c.id}${what}: logit is ${JSON.stringify(actual)}`);
  assert.ok(Math.abs(actual - c.logit) < LOGIT_TOLERANCE, `${c.id}${what}: logit ${actual}, reference ${c.logit}`);
}

export function goldenCase(fixture: GoldenFixture, id: string): GoldenCase {
  const c = loadExpected(fixture).cases.find((x) => x.id === id);
  assert.ok(c, `${fixture} has no case ${id}`);
  return c;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** A copy of a fixture model in a fresh temporary directory, to break on purpose. */
export function copyFixture(fixture: GoldenFixture, name: string = fixture): string {
  const dir = path.join(tempDir('turborank-cli-'), name);
  fs.cpSync(fixtureDir(fixture), dir, { recursive: true });
  return dir;
}
