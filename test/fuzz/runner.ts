// The fuzz runner (main thread): runs each target in its own worker thread, one after the other,
// with a time budget, a watchdog and memory sampling, and collects a summary.
//
// Watchdog: the worker bumps a heartbeat word in shared memory before every input and copies the
// input there. If the heartbeat stops for `hangMs`, the input it names is reported as a hang (with
// the seed and loop index to replay it) and the worker is terminated. Memory: the worker runs with
// a V8 heap limit (`maxHeapMb`; exceeding it kills the worker: a failure), and the process RSS is
// sampled every 100 ms (above `maxRssMb`: a failure).

import { Worker } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CTL,
  INPUT_CAP,
  PHASES,
  SHARED_BYTES,
  type FailureReport,
  type KindCounts,
  type TargetName,
  type WorkerInput,
  type WorkerMessage,
} from './engine.js';
import { preview } from './rng.js';

export interface FuzzOptions {
  targets: readonly TargetName[];
  /** Total time budget, split evenly between the targets (setup included). */
  seconds: number;
  /** Cap on the inputs of each target (0 or absent: none, the time budget decides). */
  maxInputs?: number;
  seed: number;
  /** A heartbeat silent this long is a hang. Default 10 000. */
  hangMs?: number;
  /** Process RSS above this is a failure. Default 2048. */
  maxRssMb?: number;
  /** V8 old-generation limit of each worker. Default 512. */
  maxHeapMb?: number;
  /** Share of each target's budget for the fast-check phase. Default 0.25. */
  fcShare?: number;
  /** Stop a target after this many failures. Default 20. */
  maxFailures?: number;
  /** Where failing inputs are written (JSON). Default: a new directory under the OS temp dir. */
  outDir?: string;
  /** Progress lines (every `progressEveryMs`). */
  log?: (line: string) => void;
  progressEveryMs?: number;
  /** Self-test of the runner (tests only): a fault on one loop input. */
  inject?: WorkerInput['inject'];
}

export interface TargetSummary {
  target: TargetName;
  inputs: number;
  /** Wall time of the worker, setup included. */
  seconds: number;
  setupMs: number;
  setupNote?: string;
  /** Inputs per second of fuzzing time (setup excluded). */
  rate: number;
  fcInputs: number;
  loopInputs: number;
  counts: KindCounts;
  stats: Record<string, number>;
  /** Worker V8 heap used: first sample after start, largest, last. */
  heapFirstMb: number;
  heapMaxMb: number;
  heapLastMb: number;
  /** Process RSS, largest sample while this target ran. */
  rssMaxMb: number;
  failures: FailureReport[];
}

export interface FuzzSummary {
  seed: number;
  budgetSeconds: number;
  maxInputs: number;
  seconds: number;
  totalInputs: number;
  failures: number;
  rssMaxMb: number;
  targets: TargetSummary[];
  /** File with the failing inputs, when there were failures. */
  artifacts?: string;
}

const MB = 1024 * 1024;
const SETUP_TIMEOUT_MS = 120_000;
/** A worker still busy this long after its budget (or half the budget, if longer) is stopped and reported. */
const OVERRUN_GRACE_MS = 30_000;

export function seedHex(seed: number): string {
  return '0x' + (seed >>> 0).toString(16).padStart(8, '0');
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const t0 = performance.now();
  const targets: TargetSummary[] = [];
  const perTargetMs = (opts.seconds * 1000) / opts.targets.length;
  for (const t of opts.targets) targets.push(await runTarget(t, perTargetMs, opts));
  const failures = targets.reduce((a, t) => a + t.failures.length, 0);
  const summary: FuzzSummary = {
    seed: opts.seed,
    budgetSeconds: opts.seconds,
    maxInputs: opts.maxInputs ?? 0,
    seconds: (performance.now() - t0) / 1000,
    totalInputs: targets.reduce((a, t) => a + t.inputs, 0),
    failures,
    rssMaxMb: Math.max(...targets.map((t) => t.rssMaxMb)),
    targets,
  };
  if (failures > 0) {
    const dir = opts.outDir ?? join(tmpdir(), `tsnats-fuzz-${seedHex(opts.seed)}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'failures.json');
    writeFileSync(file, JSON.stringify(targets.flatMap((t) => t.failures), null, 2));
    summary.artifacts = file;
  }
  return summary;
}

function runTarget(target: TargetName, budgetMs: number, opts: FuzzOptions): Promise<TargetSummary> {
  const hangMs = opts.hangMs ?? 10_000;
  const maxRss = (opts.maxRssMb ?? 2048) * MB;
  const maxHeapMb = opts.maxHeapMb ?? 512;
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const ctl = new Int32Array(shared, 0, CTL.words);
  const input: WorkerInput = {
    target,
    seed: opts.seed,
    budgetMs,
    maxInputs: opts.maxInputs ?? 0,
    fcShare: opts.fcShare ?? 0.25,
    maxFailures: opts.maxFailures ?? 20,
    shared,
    inject: opts.inject,
  };
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: input,
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
  });

  const start = performance.now();
  const s: TargetSummary = {
    target,
    inputs: 0,
    seconds: 0,
    setupMs: 0,
    rate: 0,
    fcInputs: 0,
    loopInputs: 0,
    counts: {},
    stats: {},
    heapFirstMb: 0,
    heapMaxMb: 0,
    heapLastMb: 0,
    rssMaxMb: 0,
    failures: [],
  };
  let kinds: string[] = [];
  let ready = false;
  let done = false;
  let stopping = false;
  let lastBeat = -1;
  let lastChange = start;
  let lastLog = start;
  let fuzzMs = 0;

  /** A failure named by the shared memory (the worker cannot report it itself). */
  const fromShared = (type: FailureReport['type'], error: string): FailureReport => {
    const len = Atomics.load(ctl, CTL.length);
    const phase = PHASES[Atomics.load(ctl, CTL.phase)] ?? 'setup';
    const bytes = Buffer.from(new Uint8Array(shared, CTL.words * 4, Math.min(len, INPUT_CAP)));
    const text = Atomics.load(ctl, CTL.text) === 1;
    const index = Atomics.load(ctl, CTL.index);
    const replay =
      phase === 'loop'
        ? ` (replay: node dist/test/fuzz/run.js --target ${target} --seed ${seedHex(opts.seed)} --seconds ${Math.round(budgetMs / 1000)} --replay ${index})`
        : '';
    return {
      target,
      phase: ready ? phase : 'setup',
      kind: kinds[Atomics.load(ctl, CTL.kind)] ?? '-',
      index,
      seed: opts.seed,
      type,
      error: error + replay,
      input: bytes.toString('base64'),
      inputLength: len,
      preview: preview(text ? bytes.toString('utf8') : bytes),
    };
  };

  return new Promise<TargetSummary>((resolve) => {
    const sample = (): void => {
      const rss = process.memoryUsage.rss();
      s.rssMaxMb = Math.max(s.rssMaxMb, rss / MB);
      if (done || stopping) return;
      const now = performance.now();
      if (rss > maxRss) {
        s.failures.push(fromShared('memory', `process RSS ${Math.round(rss / MB)} MB above the limit ${Math.round(maxRss / MB)} MB`));
        return stop();
      }
      if (!ready) {
        if (now - start > SETUP_TIMEOUT_MS) {
          s.failures.push(fromShared('hang', `setup did not finish in ${SETUP_TIMEOUT_MS} ms`));
          stop();
        }
        return;
      }
      const b = Atomics.load(ctl, CTL.beat);
      if (b !== lastBeat) {
        lastBeat = b;
        lastChange = now;
      } else if (now - lastChange > hangMs) {
        s.failures.push(fromShared('hang', `no progress for ${hangMs} ms: the input below never finished`));
        return stop();
      }
      const grace = Math.max(OVERRUN_GRACE_MS, budgetMs / 2);
      if (now - start > budgetMs + grace) {
        s.failures.push(fromShared('hang', `still running ${Math.round(grace)} ms after its ${Math.round(budgetMs)} ms budget`));
        return stop();
      }
      if (opts.log && now - lastLog >= (opts.progressEveryMs ?? 10_000)) {
        lastLog = now;
        opts.log(
          `[${target}] ${fmtInt(s.inputs)} inputs, heap ${s.heapLastMb.toFixed(0)} MB, rss ${(rss / MB).toFixed(0)} MB, failures ${s.failures.length}`,
        );
      }
    };
    const timer = setInterval(sample, 100);
    const stop = (): void => {
      stopping = true;
      void worker.terminate();
    };
    const heap = (bytes: number): void => {
      const mb = bytes / MB;
      if (s.heapFirstMb === 0) s.heapFirstMb = mb;
      s.heapMaxMb = Math.max(s.heapMaxMb, mb);
      s.heapLastMb = mb;
    };

    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          ready = true;
          kinds = m.kinds;
          s.setupMs = m.setupMs;
          s.setupNote = m.setupNote;
          lastChange = performance.now();
          break;
        case 'progress':
          s.inputs = m.inputs;
          heap(m.heapUsed);
          s.rssMaxMb = Math.max(s.rssMaxMb, m.rss / MB);
          break;
        case 'failure':
          s.failures.push(m.failure);
          break;
        case 'done':
          done = true;
          s.inputs = m.inputs;
          s.counts = m.counts;
          s.stats = m.stats;
          s.fcInputs = Object.values(m.counts).reduce((a, c) => a + c.fc, 0);
          s.loopInputs = Object.values(m.counts).reduce((a, c) => a + c.loop, 0);
          fuzzMs = m.fcMs + m.loopMs;
          heap(m.heapUsed);
          s.rssMaxMb = Math.max(s.rssMaxMb, m.rss / MB);
          break;
      }
    });
    worker.on('error', (e: Error & { code?: string }) => {
      if (done) return;
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      s.failures.push(fromShared(oom ? 'memory' : 'worker', oom ? `worker heap above ${maxHeapMb} MB: ${e.message}` : String(e.stack ?? e)));
    });
    worker.on('exit', (code) => {
      clearInterval(timer);
      sample();
      if (!done) {
        // Stopped or died: the heartbeat counts the inputs started.
        s.inputs = Math.max(s.inputs, Atomics.load(ctl, CTL.beat));
        if (s.failures.length === 0) s.failures.push(fromShared('worker', `worker exited (code ${code}) before finishing`));
      }
      s.seconds = (performance.now() - start) / 1000;
      s.rate = fuzzMs > 0 ? s.inputs / (fuzzMs / 1000) : 0;
      resolve(s);
    });
  });
}

// ---- formatting ---------------------------------------------------------------------------------

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The summary as a plain-text table plus per-kind counts, stats and failures. */
export function formatSummary(sum: FuzzSummary, command?: string): string {
  const out: string[] = [];
  out.push(
    `tsnats fuzz: seed ${seedHex(sum.seed)}, budget ${sum.budgetSeconds} s${sum.maxInputs ? `, at most ${fmtInt(sum.maxInputs)} inputs per target` : ''}`,
  );
  if (command) out.push(`command: ${command}`);
  out.push('');
  const head = ['target', 'inputs', 'fast-check', 'loop', 'seconds', 'inputs/s', 'heap MB (first/max/last)', 'max RSS MB', 'failures'];
  const rows = sum.targets.map((t) => [
    t.target,
    fmtInt(t.inputs),
    fmtInt(t.fcInputs),
    fmtInt(t.loopInputs),
    t.seconds.toFixed(1),
    fmtInt(t.rate),
    `${t.heapFirstMb.toFixed(0)}/${t.heapMaxMb.toFixed(0)}/${t.heapLastMb.toFixed(0)}`,
    t.rssMaxMb.toFixed(0),
    String(t.failures.length),
  ]);
  rows.push([
    'total',
    fmtInt(sum.totalInputs),
    fmtInt(sum.targets.reduce((a, t) => a + t.fcInputs, 0)),
    fmtInt(sum.targets.reduce((a, t) => a + t.loopInputs, 0)),
    sum.seconds.toFixed(1),
    fmtInt(sum.totalInputs / sum.seconds),
    '',
    sum.rssMaxMb.toFixed(0),
    String(sum.failures),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => pad(c, widths[i]!, i > 0 && i < 8 && i !== 6)).join('  ');
  out.push(line(head));
  for (const r of rows) out.push(line(r));
  out.push('');
  for (const t of sum.targets) {
    const kinds = Object.entries(t.counts)
      .map(([k, c]) => `${k} ${fmtInt(c.fc + c.loop)}`)
      .join(', ');
    out.push(`${t.target}: setup ${(t.setupMs / 1000).toFixed(1)} s${t.setupNote ? ` (${t.setupNote})` : ''}`);
    out.push(`  inputs by kind: ${kinds}`);
    const stats = Object.entries(t.stats)
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ');
    if (stats) out.push(`  outcomes: ${stats}`);
  }
  if (sum.failures > 0) {
    out.push('', `FAILURES: ${sum.failures} (inputs in full: ${sum.artifacts ?? '-'})`);
    for (const f of sum.targets.flatMap((t) => t.failures).slice(0, 10)) {
      out.push(`- [${f.target}/${f.kind}] ${f.type} in ${f.phase} #${f.index}: ${f.error.split('\n').join('\n    ')}`);
      if (f.note) out.push(`    recipe: ${f.note}`);
      out.push(`    input (${f.inputLength} bytes): ${f.preview}`);
      if (f.fc) out.push(`    fast-check: ${f.fc.split('\n').slice(0, 6).join('\n    ')}`);
    }
  } else {
    out.push('', 'crashes: 0, hangs: 0, oracle failures: 0');
  }
  return out.join('\n');
}
