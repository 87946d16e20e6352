// Errors raised while reading a configuration file or the command line.
//
// Every error that can be tied to a place in a file renders as nats-server does:
// `<file>:<line>:<column>: <reason>`. Lines and columns are 1-based. (nats-server
// itself reports 0-based columns on the first line of a file and 1-based columns on
// the others; tsnats is 1-based everywhere.)

/** Stable `code` of every {@link ConfigError}. */
export const CONFIG_ERROR_CODE = 'TSNATS_CONFIG';

/** A place in a configuration file. `line` and `column` are 1-based. */
export interface Position {
  file: string;
  line: number;
  column: number;
}

export function formatPosition(pos: Position): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/**
 * A configuration (file or command line) problem.
 *
 * `file`, `line` and `column` locate the first problem; `reason` is the message
 * without the position prefix. When several problems were found at once (option
 * validation collects all of them, as nats-server does) they are all in `errors`
 * (the first one is this error's own position and reason) and `message` lists them
 * one per line. Errors that have no position (command-line flags) have `file` ''
 * and `line`/`column` 0, and their message is just the reason.
 */
export class ConfigError extends Error {
  readonly code: typeof CONFIG_ERROR_CODE = CONFIG_ERROR_CODE;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  readonly errors: readonly ConfigError[];

  constructor(reason: string, pos?: Position, others?: readonly ConfigError[]) {
    const head = pos ? `${formatPosition(pos)}: ${reason}` : reason;
    const all = others && others.length > 1 ? others : undefined;
    super(all ? all.map((e) => e.headline).join('\n') : head);
    this.name = 'ConfigError';
    this.file = pos?.file ?? '';
    this.line = pos?.line ?? 0;
    this.column = pos?.column ?? 0;
    this.reason = reason;
    this.errors = all ?? [this];
  }

  /** `file:line:col: reason` (or just the reason) for this error alone. */
  get headline(): string {
    return this.line > 0 ? `${this.file}:${this.line}:${this.column}: ${this.reason}` : this.reason;
  }

  get position(): Position | undefined {
    return this.line > 0 ? { file: this.file, line: this.line, column: this.column } : undefined;
  }

  /** One error standing for several: positioned at the first, listing all. */
  static combine(errors: readonly ConfigError[]): ConfigError {
    if (errors.length === 0) throw new Error('ConfigError.combine: no errors');
    if (errors.length === 1) return errors[0]!;
    const first = errors[0]!;
    return new ConfigError(first.reason, first.position, errors);
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}
