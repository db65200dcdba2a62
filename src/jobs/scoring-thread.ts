/**
 * A scorer thread: one Reranker, scoring one shard at a time. onnxruntime-node runs inference
 * synchronously on the calling thread; on the worker's event loop that would starve BullMQ's
 * lock renewal, and a long shard would be declared stalled and scored twice. Here it cannot.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, TurborankError } from '../errors.js';
import { Reranker } from '../rerank/index.js';
import { scoreShard } from './score-shard.js';
import type { ScorerReply, ScorerRequest, ScorerSetup } from './scorer-protocol.js';

const port = parentPort!;
const setup = workerData as ScorerSetup;

function send(reply: ScorerReply): void {
  port.postMessage(reply);
}

function describe(err: unknown): { message: string; expected: boolean } {
  return { message: err instanceof Error ? err.message : String(err), expected: err instanceof TurborankError };
}

async function main(): Promise<void> {
  let reranker: Reranker;
  try {
    reranker = await Reranker.load(setup.model, { threads: setup.threads, env: setup.env });
  } catch (err) {
    send({ type: 'load-failed', ...describe(err) });
    return;
  }
  send({ type: 'ready', modelName: reranker.info.name, isTestModel: reranker.info.isTestModel });
  port.on('message', (request: ScorerRequest) => {
    if (request.type === 'close') {
      void reranker.close().finally(() => port.close());
      return;
    }
    scoreShard(reranker, request.shard).then(
      (text) => send({ type: 'scored', id: request.id, text }),
      (err: unknown) => send({ type: 'failed', id: request.id, input: err instanceof InputError, ...describe(err) }),
    );
  });
}

void main();
