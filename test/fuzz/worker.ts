// The fuzz worker: runs one target for its budget and reports to the runner (runner.ts).
//
// Before each input it bumps a heartbeat word in a SharedArrayBuffer and copies the input there,
// so the runner's watchdog can name the input even when this thread is stuck in a loop that never
// returns (a message could not get out then).

import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import fc from 'fast-check';
import {
  CTL,
  INPUT_CAP,
  errorText,
  loadTarget,
  pickKind,
  targetSeed,
  OracleFailure,
  type Current,
  type FailureReport,
  type KindCounts,
  type WorkerInput,
  type WorkerMessage,
} from './engine.js';
import { ChoiceSource, RngSource, mixSeed, preview } from './rng.js';

const job = workerData as WorkerInput;
const port = parentPort!;
const post = (m: WorkerMessage): void => port.postMessage(m);
const ctl = new Int32Array(job.shared, 0, CTL.words);
const shared = new Uint8Array(job.shared, CTL.words * 4);

let last: { input: Uint8Array | string; note?: string } = { input: '' };
const cur: Current = {
  set(input, note) {
    last = { input, note };
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    const n = Math.min(bytes.length, INPUT_CAP);
    shared.set(n === bytes.length ? bytes : bytes.subarray(0, n), 0);
    Atomics.store(ctl, CTL.length, bytes.length);
    Atomics.store(ctl, CTL.text, typeof input === 'string' ? 1 : 0);
  },
};

/** The runner's self-test: a fault on one loop input, right after it is registered. */
function injectFault(fault: 'hang' | 'crash' | 'leak'): void {
  if (fault === 'crash') throw new TypeError('injected crash');
  const keep: number[][] = [];
  for (;;) if (fault === 'leak') keep.push(new Array<number>(100_000).fill(keep.length));
}

function beat(phase: number, kind: number, index: number): void {
  Atomics.store(ctl, CTL.phase, phase);
  Atomics.store(ctl, CTL.kind, kind);
  Atomics.store(ctl, CTL.index, index);
  Atomics.add(ctl, CTL.beat, 1);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const seed = targetSeed(job.seed, job.target);
  const target = await loadTarget(job.target, { seed, budgetMs: job.budgetMs });
  const kinds = target.kinds;
  const setupMs = performance.now() - t0;
  post({ type: 'ready', setupMs, setupNote: target.setupNote, kinds: kinds.map((k) => k.name) });

  const counts: KindCounts = Object.fromEntries(kinds.map((k) => [k.name, { fc: 0, loop: 0 }]));
  let failures = 0;
  let inputs = 0;
  let lastProgress = performance.now();
  const progress = (): void => {
    const now = performance.now();
    if (now - lastProgress < 500) return;
    lastProgress = now;
    post({ type: 'progress', inputs, heapUsed: getHeapStatistics().used_heap_size, rss: process.memoryUsage.rss() });
  };
  const report = (f: Omit<FailureReport, 'target' | 'seed' | 'input' | 'inputLength' | 'preview' | 'note' | 'context'>): void => {
    failures++;
    const raw = typeof last.input === 'string' ? Buffer.from(last.input, 'utf8') : Buffer.from(last.input);
    post({
      type: 'failure',
      failure: {
        ...f,
        target: job.target,
        seed: job.seed,
        input: raw.toString('base64'),
        inputLength: raw.length,
        preview: preview(last.input),
        note: last.note,
        context: target.context?.(),
      },
    });
  };

  // Setup (the OCSP PKI) counts against the budget, but never leaves fuzzing less than a quarter.
  const remaining = Math.max(job.budgetMs - setupMs, job.budgetMs / 4);
  const totalWeight = kinds.reduce((a, k) => a + k.weight, 0);

  // Phase 1: every kind as a fast-check property over a shrinkable choice list.
  const fcStart = performance.now();
  for (let ki = 0; ki < kinds.length && failures < job.maxFailures && job.fcShare > 0; ki++) {
    const kind = kinds[ki]!;
    const share = (job.fcShare * kind.weight) / totalWeight;
    const numRuns = job.maxInputs > 0 ? Math.max(1, Math.floor(job.maxInputs * share)) : 2 ** 31 - 1;
    let run = 0;
    const prop = fc.property(fc.array(fc.nat(), { maxLength: 512, size: 'max' }), (choices) => {
      beat(1, ki, run++);
      inputs++;
      counts[kind.name]!.fc++;
      if ((run & 15) === 0) progress();
      kind.run(new ChoiceSource(choices), cur);
    });
    const res = fc.check(prop, {
      seed: mixSeed(seed, ki) | 0,
      numRuns,
      interruptAfterTimeLimit: Math.max(1, Math.floor(remaining * share)),
      markInterruptAsFailure: false,
    });
    // (An interruption by the time limit before the first run also reads as `failed`, without a
    // counterexample: that is not a failure of the code under test.)
    if (res.failed && res.counterexample) {
      // Re-run the shrunk counterexample to capture its input and error.
      let error: unknown = res.errorInstance;
      try {
        kind.run(new ChoiceSource(res.counterexample[0] as number[]), cur);
      } catch (e) {
        error = e;
      }
      const text = fc.defaultReportMessage(res) ?? '';
      report({
        phase: 'fast-check',
        kind: kind.name,
        index: res.numRuns,
        type: error instanceof OracleFailure ? 'oracle' : 'crash',
        error: errorText(error),
        fc: text.length > 4000 ? text.slice(0, 4000) + ' ...' : text,
      });
    }
  }
  const fcMs = performance.now() - fcStart;

  // Phase 2: the plain seeded loop over all kinds (input #i is `new RngSource(seed, i)`).
  const loopStart = performance.now();
  const deadline = t0 + setupMs + remaining;
  const loopCap = job.maxInputs > 0 ? Math.max(0, job.maxInputs - inputs) : Infinity;
  for (let i = 0; i < loopCap && failures < job.maxFailures; i++) {
    if ((i & 15) === 0) {
      if (performance.now() >= deadline) break;
      progress();
    }
    const src = new RngSource(seed, i);
    const ki = pickKind(src, kinds);
    const kind = kinds[ki]!;
    beat(2, ki, i);
    inputs++;
    counts[kind.name]!.loop++;
    const inject = job.inject?.at === i ? job.inject.fault : undefined;
    try {
      kind.run(src, inject ? { set: (input, note) => (cur.set(input, note), injectFault(inject)) } : cur);
    } catch (e) {
      report({ phase: 'loop', kind: kind.name, index: i, type: e instanceof OracleFailure ? 'oracle' : 'crash', error: errorText(e) });
    }
  }
  const loopMs = performance.now() - loopStart;
  post({
    type: 'done',
    counts,
    stats: target.stats,
    inputs,
    fcMs,
    loopMs,
    heapUsed: getHeapStatistics().used_heap_size,
    rss: process.memoryUsage.rss(),
  });
}

main().catch((e) => {
  // Setup failed (or a bug in the runner itself): report it as a worker failure.
  post({
    type: 'failure',
    failure: {
      target: job.target,
      phase: 'setup',
      kind: '-',
      index: -1,
      seed: job.seed,
      type: 'worker',
      error: errorText(e),
      input: '',
      inputLength: 0,
      preview: '',
    },
  });
  process.exitCode = 1;
});
