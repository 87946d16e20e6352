// Logging in nats-server's format:
//   [pid] 2026/11/29 10:02:43.123456 [INF] message      (logtime on, the default)
//   [pid] [INF] message                                 (logtime off)
// Labels INF/DBG/TRC/WRN/ERR/FTL, coloured as nats-server does when stderr is a terminal and no
// log file is used. Writes are synchronous (fs.writeSync) so lines are never lost at exit and keep
// their order with respect to the process' other output.

import { closeSync, openSync, writeSync } from 'node:fs';

/** What other modules (e.g. the OCSP engine) need to log through the server. */
export interface LogSink {
  debug(msg: string): void;
  notice(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface LoggerOptions {
  debug?: boolean;
  trace?: boolean;
  /** Prefix lines with the local (or UTC) time. Default true. */
  logtime?: boolean;
  logtimeUtc?: boolean;
  /** Append to this file instead of writing to stderr. */
  logFile?: string;
  /** Force colours on/off. Default: on when writing to a TTY stderr. */
  colors?: boolean;
  /** Custom destination (tests, embedding). Gets each full line including the trailing `\n`. */
  write?: (line: string) => void;
  /** Drop everything (embedding default when the user passes `log: false`). */
  silent?: boolean;
}

const PLAIN = { INF: '[INF] ', DBG: '[DBG] ', TRC: '[TRC] ', WRN: '[WRN] ', ERR: '[ERR] ', FTL: '[FTL] ' };
const COLORED = {
  INF: '[\x1b[32mINF\x1b[0m] ',
  DBG: '[\x1b[36mDBG\x1b[0m] ',
  TRC: '[\x1b[33mTRC\x1b[0m] ',
  WRN: '[\x1b[0;93mWRN\x1b[0m] ',
  ERR: '[\x1b[31mERR\x1b[0m] ',
  FTL: '[\x1b[31mFTL\x1b[0m] ',
};

function pad(n: number, w: number): string {
  let s = String(n);
  while (s.length < w) s = '0' + s;
  return s;
}

/** `2006/01/02 15:04:05.000000` with microseconds (the sub-millisecond part from the monotonic clock). */
export function formatLogTime(nowMs: number, utc: boolean): string {
  const d = new Date(Math.floor(nowMs));
  const micros = Math.floor((nowMs - Math.floor(nowMs / 1000) * 1000) * 1000) % 1000000;
  if (utc) {
    return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(micros, 6)}`;
  }
  return `${d.getFullYear()}/${pad(d.getMonth() + 1, 2)}/${pad(d.getDate(), 2)} ${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(micros, 6)}`;
}

function nowMicros(): number {
  return performance.timeOrigin + performance.now();
}

export class Logger implements LogSink {
  debugEnabled = false;
  traceEnabled = false;
  private logtime = true;
  private utc = false;
  private labels: typeof PLAIN = PLAIN;
  private prefix = `[${process.pid}] `;
  private fd = 2;
  private ownFd = false;
  private custom: ((line: string) => void) | undefined;
  private silent = false;
  private opts: LoggerOptions = {};

  constructor(opts: LoggerOptions = {}) {
    this.configure(opts);
  }

  /** (Re)applies options: used at start and on reload (debug/trace/logtime/log_file). */
  configure(opts: LoggerOptions): void {
    const fileChanged = opts.logFile !== this.opts.logFile;
    this.opts = { ...opts };
    this.debugEnabled = !!opts.debug;
    this.traceEnabled = !!opts.trace;
    this.logtime = opts.logtime ?? true;
    this.utc = !!opts.logtimeUtc;
    this.custom = opts.write;
    this.silent = !!opts.silent;
    if (fileChanged) this.reopen();
    const colors = opts.colors ?? (!opts.logFile && !opts.write && process.stderr.isTTY === true);
    this.labels = colors ? COLORED : PLAIN;
  }

  /** Changes some options, keeping the others (reload: debug/trace/logtime/log_file). */
  update(opts: Partial<LoggerOptions>): void {
    const merged: LoggerOptions = { ...this.opts };
    for (const [k, v] of Object.entries(opts)) (merged as Record<string, unknown>)[k] = v;
    this.configure(merged);
  }

  /** Reopens the log file (SIGUSR1 in nats-server; also used after configure). */
  reopen(): void {
    if (this.ownFd) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.ownFd = false;
      this.fd = 2;
    }
    if (this.opts.logFile) {
      this.fd = openSync(this.opts.logFile, 'a', 0o640);
      this.ownFd = true;
    }
  }

  close(): void {
    if (this.ownFd) {
      try {
        closeSync(this.fd);
      } catch {
        /* ignore */
      }
      this.ownFd = false;
      this.fd = 2;
    }
  }

  private out(label: string, msg: string): void {
    if (this.silent) return;
    const line = this.logtime
      ? `${this.prefix}${formatLogTime(nowMicros(), this.utc)} ${label}${msg}\n`
      : `${this.prefix}${label}${msg}\n`;
    if (this.custom) {
      this.custom(line);
      return;
    }
    try {
      writeSync(this.fd, line);
    } catch {
      /* a broken stderr must not take the server down */
    }
  }

  notice(msg: string): void {
    this.out(this.labels.INF, msg);
  }
  /** Alias of notice (nats-server's Noticef). */
  info(msg: string): void {
    this.out(this.labels.INF, msg);
  }
  warn(msg: string): void {
    this.out(this.labels.WRN, msg);
  }
  error(msg: string): void {
    this.out(this.labels.ERR, msg);
  }
  fatal(msg: string): void {
    this.out(this.labels.FTL, msg);
  }
  debug(msg: string): void {
    if (this.debugEnabled) this.out(this.labels.DBG, msg);
  }
  trace(msg: string): void {
    if (this.traceEnabled) this.out(this.labels.TRC, msg);
  }
}
