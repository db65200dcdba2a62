/**
 * Every error turborank raises on purpose is a TurborankError: it names what was wrong
 * (the file, the field, the value) and says what to do next. The CLI prints `message`
 * alone for these and exits 1; anything else is a bug and gets a stack trace.
 */
export class TurborankError extends Error {
  /** What the user can do about it, shown after the message. */
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(hint ? `${message}\n  → ${hint}` : message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** A file the user pointed at is missing, unreadable or of the wrong kind. */
export class FileError extends TurborankError {
  readonly path: string;
  constructor(path: string, problem: string, hint?: string, options?: { cause?: unknown }) {
    super(`${path}: ${problem}`, hint, options);
    this.path = path;
  }
}

/** A model.safetensors file whose header or data is inconsistent. */
export class SafetensorsError extends FileError {}

/** config.json (or the weights against it) describes something we cannot run. */
export class ModelConfigError extends FileError {}

/** tokenizer.json is missing or of a kind we do not support. */
export class TokenizerError extends FileError {}

/** A model name or path that resolves to nothing loadable. */
export class ModelNotFoundError extends TurborankError {}

/** Input data (documents, JSON lines, options) that cannot be scored as given. */
export class InputError extends TurborankError {}

/**
 * A token budget per pair (maxLength) that the model or its tokenizer cannot take. An input
 * error to the library; the CLI reports it as bad usage (exit 2) when --max-length gave it.
 */
export class MaxLengthError extends InputError {}

/** Wrong command-line usage: the CLI exits 2 for these. */
export class UsageError extends TurborankError {}

/** A graph that does not type-check: a bug in a model definition, not in user input. */
export class GraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphError';
  }
}
