// Types shared by the fuzz runner (main thread), its worker and the targets.
//
// A target is a set of generator "kinds". Each kind draws one input from a `Src`, registers it with
// `cur.set()` (so a hang or a crash can be reported with the exact input), runs the code under test
// and checks its oracle, throwing on any violation. The worker runs every kind first as a fast-check
// property over a choice list (shrinkable), then mixes all kinds in a plain seeded loop for
// throughput.

import { hashString, mixSeed, type Src } from './rng.js';

export type TargetName = 'protocol' | 'config' | 'ocsp' | 'websocket' | 'route' | 'leaf' | 'jsapi' | 'store' | 'jwt';
export const TARGET_NAMES: readonly TargetName[] = ['protocol', 'config', 'ocsp', 'websocket', 'route', 'leaf', 'jsapi', 'store', 'jwt'];

export interface Current {
  /** Registers the input about to be run (bytes, or text for the config target) and its recipe. */
  set(input: Uint8Array | string, note?: string): void;
}

export interface Kind {
  name: string;
  /** Relative share of the inputs. */
  weight: number;
  /** Generates one input from `src`, registers it, runs it and checks it; throws on a failure. */
  run(src: Src, cur: Current): void;
}

export interface TargetInstance {
  kinds: readonly Kind[];
  /** Counters describing what the inputs reached (violation kinds, error codes, ...). */
  stats: Record<string, number>;
  /** What a failure report needs besides the input (e.g. the certificates of the OCSP target). */
  context?(): Record<string, unknown>;
  /** One line on what was set up (shown in the summary). */
  setupNote?: string;
}

export interface TargetOptions {
  seed: number;
  /** Time budget of this target in ms (targets may size their setup with it). */
  budgetMs: number;
}

/** An oracle violation (as opposed to an unexpected exception, which is a crash). */
export class OracleFailure extends Error {
  override name = 'OracleFailure';
}

export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new OracleFailure(typeof message === 'string' ? message : message());
}

// ---- worker <-> main protocol -------------------------------------------------------------------

export interface WorkerInput {
  target: TargetName;
  seed: number;
  budgetMs: number;
  /** Cap on the inputs of this target (fast-check runs + loop), or 0 for none. */
  maxInputs: number;
  /** Share of the budget (time and inputs) given to the fast-check phase. */
  fcShare: number;
  maxFailures: number;
  /** SharedArrayBuffer: Int32 control words then the current input bytes. */
  shared: SharedArrayBuffer;
  /** Self-test of the runner: make loop input #inject.at hang, throw or exhaust the heap. */
  inject?: { fault: 'hang' | 'crash' | 'leak'; at: number };
}

/** Control words at the start of the shared buffer. */
export const CTL = {
  /** Incremented before every input: the watchdog's heartbeat. */
  beat: 0,
  /** 0 = setup, 1 = fast-check, 2 = loop. */
  phase: 1,
  kind: 2,
  /** Loop index (or fast-check run number) of the current input. */
  index: 3,
  /** Full length of the current input (only the first INPUT_CAP bytes are kept). */
  length: 4,
  /** 1 if the input is UTF-8 text. */
  text: 5,
  words: 8,
} as const;
export const INPUT_CAP = 64 * 1024;
export const SHARED_BYTES = CTL.words * 4 + INPUT_CAP;
export const PHASES = ['setup', 'fast-check', 'loop'] as const;

export interface FailureReport {
  target: TargetName;
  phase: (typeof PHASES)[number] | 'watchdog';
  kind: string;
  /** Loop index (replay with --replay) or fast-check run number. */
  index: number;
  seed: number;
  /** 'oracle' (a check failed), 'crash' (an exception), 'hang', 'memory' or 'worker' (died). */
  type: 'oracle' | 'crash' | 'hang' | 'memory' | 'worker';
  error: string;
  /** The input, base64 (capped at INPUT_CAP bytes for hangs and worker deaths). */
  input: string;
  inputLength: number;
  preview: string;
  note?: string;
  /** fast-check's report (seed, path, shrunk counterexample). */
  fc?: string;
  context?: Record<string, unknown>;
}

export interface KindCounts {
  [kind: string]: { fc: number; loop: number };
}

export type WorkerMessage =
  | { type: 'ready'; setupMs: number; setupNote?: string; kinds: string[] }
  | { type: 'progress'; inputs: number; heapUsed: number; rss: number }
  | { type: 'failure'; failure: FailureReport }
  | {
      type: 'done';
      counts: KindCounts;
      stats: Record<string, number>;
      inputs: number;
      fcMs: number;
      loopMs: number;
      heapUsed: number;
      rss: number;
    };

/** The seed a target's inputs derive from: (run seed, target name). */
export function targetSeed(seed: number, target: TargetName): number {
  return mixSeed(seed, hashString(target));
}

/** Picks a kind by weight (draws one number from `src`). */
export function pickKind(src: Src, kinds: readonly Kind[]): number {
  let total = 0;
  for (const k of kinds) total += k.weight;
  let r = src.int(total);
  for (let i = 0; i < kinds.length; i++) {
    r -= kinds[i]!.weight;
    if (r < 0) return i;
  }
  return kinds.length - 1;
}

/** An error as report text: the message for oracle failures, the first stack lines otherwise. */
export function errorText(e: unknown): string {
  if (e instanceof OracleFailure) return e.message;
  if (e instanceof Error) return (e.stack ?? `${e.name}: ${e.message}`).split('\n').slice(0, 10).join('\n');
  return String(e);
}

export async function loadTarget(name: TargetName, opts: TargetOptions): Promise<TargetInstance> {
  switch (name) {
    case 'protocol':
      return (await import('./targets/protocol.js')).create(opts);
    case 'config':
      return (await import('./targets/config.js')).create(opts);
    case 'ocsp':
      return (await import('./targets/ocsp.js')).create(opts);
    case 'websocket':
      return (await import('./targets/websocket.js')).create(opts);
    case 'route':
      return (await import('./targets/route.js')).create(opts);
    case 'leaf':
      return (await import('./targets/leaf.js')).create(opts);
    case 'jsapi':
      return (await import('./targets/jsapi.js')).create(opts);
    case 'store':
      return (await import('../jetstream/store/fuzz-target.js')).create(opts);
    case 'jwt':
      return (await import('./targets/jwt.js')).create(opts);
  }
}
