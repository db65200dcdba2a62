/** The HTTP server: `turborank serve`, and `startServer` for embedding it. */
export { startServer, DEFAULT_SERVER_OPTIONS, SERVER_VERSION, type RunningServer, type ServerLimits, type ServerOptions } from './server.js';
export { parseModelArgument, servedNames, type ModelArgument } from './models.js';
export { loadApiKeys } from './auth.js';
export { silentSink, stdoutSink, type LogSink } from './logging.js';
export type { BatchLimits } from './batch-queue.js';
