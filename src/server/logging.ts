/**
 * Structured logs: one JSON object per line, so log shippers need no parsing rules. One line
 * per request (id, route, model, documents, tokens, latency, status), plus start-up and
 * shutdown events.
 */

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/** Where log lines go; the default writes them to stdout. */
export type LogSink = (line: string) => void;

export const stdoutSink: LogSink = (line) => {
  process.stdout.write(line + '\n');
};

export const silentSink: LogSink = () => {};

export class Logger {
  constructor(private readonly sink: LogSink = stdoutSink) {}

  info(event: string, fields: LogFields = {}): void {
    this.write('info', event, fields);
  }

  warn(event: string, fields: LogFields = {}): void {
    this.write('warn', event, fields);
  }

  error(event: string, fields: LogFields = {}): void {
    this.write('error', event, fields);
  }

  private write(level: LogLevel, event: string, fields: LogFields): void {
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, event };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) line[key] = value;
    this.sink(JSON.stringify(line));
  }
}

/** What a handler learns about a request, for its log line. */
export interface RequestLogFields {
  model?: string;
  documents?: number;
  tokens?: number;
  error?: string;
}
