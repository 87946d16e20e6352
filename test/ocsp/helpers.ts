// Shared helpers for the OCSP engine tests: a PKI whose AIA points at a programmable responder,
// a recording logger and a fake clock with injectable timers.

import { createTestPki, startResponder, type TestPki, type TestResponder, type StartResponderOptions } from '../../src/testkit/index.js';
import type { OcspLogger, StaplerTimers } from '../../src/ocsp/index.js';

export interface Env {
  pki: TestPki;
  responder: TestResponder;
  close(): Promise<void>;
}

/** Starts a responder, creates a PKI whose AIA URL is the responder, and lets the root sign. */
export async function setup(opts: StartResponderOptions & { keyType?: 'ec' | 'rsa' } = {}): Promise<Env> {
  const responder = await startResponder(opts);
  const pki = await createTestPki({ ocspUrl: responder.url, keyType: opts.keyType });
  responder.setIssuer(pki.root);
  return {
    pki,
    responder,
    async close() {
      await responder.close();
      await pki.cleanup();
    },
  };
}

export interface RecordingLogger extends OcspLogger {
  lines: { level: string; msg: string }[];
  find(re: RegExp): { level: string; msg: string } | undefined;
  all(level: string): string[];
  clear(): void;
}

export function recordingLogger(echo = false): RecordingLogger {
  const lines: { level: string; msg: string }[] = [];
  const rec = (level: string) => (msg: string) => {
    lines.push({ level, msg });
    if (echo) console.log(`[${level}] ${msg}`);
  };
  return {
    lines,
    debug: rec('debug'),
    notice: rec('notice'),
    warn: rec('warn'),
    error: rec('error'),
    find: (re) => lines.find((l) => re.test(l.msg)),
    all: (level) => lines.filter((l) => l.level === level).map((l) => l.msg),
    clear: () => void lines.splice(0),
  };
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** A manual clock: `now()` and timers that fire only when `advance()` passes their time. */
export class FakeClock implements StaplerTimers {
  private t: number;
  private seq = 0;
  private pending: FakeTimer[] = [];
  /** Delays passed to setTimeout, in order (for scheduling assertions). */
  readonly delays: number[] = [];

  constructor(start = Date.now()) {
    this.t = start;
  }
  now = (): number => this.t;
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: ++this.seq, at: this.t + ms, fn };
    this.delays.push(ms);
    this.pending.push(timer);
    return timer.id;
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }
  /** Pending timers (time from now), soonest first. */
  scheduled(): number[] {
    return this.pending.map((p) => p.at - this.t).sort((a, b) => a - b);
  }
  /** Moves the clock forward, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at);
      const next = this.pending[0];
      if (!next || next.at > end) break;
      this.pending.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
  set(t: number): void {
    this.t = t;
  }
}

/** Resolves when `cond()` is true (polling), or rejects after `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
