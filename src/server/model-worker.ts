/**
 * A model worker thread. onnxruntime-node runs `session.run` synchronously on the calling
 * thread (its promise only defers the call with setImmediate), and the tokenizer binding
 * resolves a thousand encodes on the calling thread too: on the server's event loop either
 * would stall every other request, /health included. So each served model gets two workers:
 * one tokenizes (so requests join the queue while a batch runs), one runs inference.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { locateModel } from '../checkpoint/index.js';
import { Reranker, defaultModelPath } from '../rerank/index.js';
import { PairTokenizer } from '../tokenizer/index.js';
import { describeFailure, packPairs, transferList, unpackPairs, type HostMessage, type WorkerMessage, type WorkerSetup } from './worker-protocol.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;

function send(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function serveTokenizer(): Promise<void> {
  const located = locateModel(setup.source ?? defaultModelPath(), setup.env);
  const tokenizer = await PairTokenizer.load(located.tokenizerPath);
  send({ type: 'ready', info: undefined });
  port.on('message', (message: HostMessage) => {
    if (message.type !== 'encode') return answerOther(message);
    tokenizer.encodePairs(message.documents.map((document) => ({ query: message.query, document })), message.maxLength, message.direction).then(
      (encoded) => {
        const pairs = packPairs(encoded);
        send({ type: 'encoded', id: message.id, pairs }, transferList(pairs));
      },
      (err: unknown) => send({ type: 'failed', id: message.id, error: describeFailure(err) }),
    );
  });
}

async function serveInference(): Promise<void> {
  const reranker = await Reranker.load(setup.source, { threads: setup.threads, maxLength: setup.maxLength, precision: setup.precision, env: setup.env });
  send({ type: 'ready', info: reranker.info });
  port.on('message', (message: HostMessage) => {
    if (message.type === 'close') {
      void reranker.close().finally(() => send({ type: 'closed', id: message.id }));
      return;
    }
    if (message.type !== 'score') return answerOther(message);
    const pairs = unpackPairs(message.pairs);
    // The queue has planned this batch: run it as one.
    reranker.scoreEncoded(pairs, { maxBatchSize: pairs.length, maxBatchTokens: Number.POSITIVE_INFINITY }).then(
      (logits) => send({ type: 'scored', id: message.id, logits }, [logits.buffer as ArrayBuffer]),
      (err: unknown) => send({ type: 'failed', id: message.id, error: describeFailure(err) }),
    );
  });
}

function answerOther(message: HostMessage): void {
  if (message.type === 'close') send({ type: 'closed', id: message.id });
  else send({ type: 'failed', id: message.id, error: { name: 'Error', message: `a ${setup.role} worker cannot handle '${message.type}'` } });
}

(setup.role === 'tokenizer' ? serveTokenizer() : serveInference()).catch((err: unknown) => {
  send({ type: 'load-failed', error: describeFailure(err) });
});
