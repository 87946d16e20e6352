// tsnats as a child process (`node bin/tsnats -c <conf>`), so that its exit status is the real
// one: its log lines (stderr) are collected, its ports file tells where it listens.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/tsnats, relative to this file (dist/src/demo/ or src/demo/). */
export const TSNATS_BIN = fileURLToPath(new URL('../../../bin/tsnats', import.meta.url));

export interface Ports {
  nats: string[];
  monitoring?: string[];
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  /** Resolves with the exit status (or 128 + signal number style text for a signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private partial = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly confFile: string,
    readonly portsDir: string,
    cwd: string,
  ) {
    this.child = spawn(process.execPath, [TSNATS_BIN, '-c', confFile], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    const onData = (d: Buffer): void => {
      this.partial += d.toString('utf8');
      const parts = this.partial.split('\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) this.lines.push(p.replace(/\r$/, ''));
      this.wake();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.lines.push(`(could not run ${TSNATS_BIN}: ${err.message})`);
        this.exitInfo = { code: null, signal: null };
        resolve(this.exitInfo);
        this.wake();
      });
      this.child.once('close', (code, signal) => {
        if (this.partial) this.lines.push(this.partial);
        this.partial = '';
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        this.wake();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Waits until `test` returns something other than undefined, re-testing on every log line and
   * at exit (and every 50 ms, for files). Rejects after `timeoutMs` with `what` in the message.
   */
  waitFor<T>(what: string, timeoutMs: number, test: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
        fn();
      };
      const check = (): void => {
        let v: T | undefined;
        try {
          v = test();
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (v !== undefined) finish(() => resolve(v));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`))), timeoutMs);
      const poll = setInterval(check, 50);
      this.waiters.add(check);
      check();
    });
  }

  /** The ports file tsnats writes just before `Server is ready`. Rejects if the server exits first. */
  waitReady(timeoutMs: number): Promise<Ports> {
    const file = join(this.portsDir, `tsnats_${this.child.pid}.ports`);
    return this.waitFor('tsnats to start (its ports file)', timeoutMs, () => {
      if (existsSync(file)) {
        try {
          return JSON.parse(readFileSync(file, 'utf8')) as Ports;
        } catch {
          return undefined; // being written
        }
      }
      if (!this.running) throw new Error(`tsnats exited during start-up (${describeExit(this.exitInfo!)}); its log is below`);
      return undefined;
    });
  }

  /** The first log line containing `text` (after the first `from` lines). */
  findLine(text: string | RegExp, from = 0): string | undefined {
    for (let i = from; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (typeof text === 'string' ? l.includes(text) : text.test(l)) return l;
    }
    return undefined;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

export function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  if (e.signal) return `killed by ${e.signal}`;
  if (e.code === null) return 'did not run';
  return `exit status ${e.code}`;
}

/** `[1234] 2026/01/02 15:04:05.123456 [INF] msg` → `15:04:05.123 [INF] msg` (short, for the terminal). */
export function shortLogLine(line: string): string {
  const m = /^\[\d+\] (?:\d{4}\/\d\d\/\d\d )?(\d\d:\d\d:\d\d\.\d{3})?\d*\s*(.*)$/.exec(line);
  if (!m) return line;
  return m[1] ? `${m[1]} ${m[2]}` : m[2]!;
}
