// The CI-sized fuzz run (about 36 s across the nine targets, 4 s each) and a self-test of the runner's
// watchdog. The long run is `npm run fuzz` (docs/reliability.md).
//
//   FUZZ_SECONDS=60 FUZZ_SEED=0x1234 node scripts/run-tests.mjs fuzz/fuzz

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, runFuzz, seedHex } from './runner.js';
import { TARGET_NAMES } from './engine.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 36);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

describe('fuzz (CI size)', () => {
  it(`protocol, config, OCSP, websocket framing, route and leaf protocols, JetStream API JSON, JetStream stored files and operator-mode JWTs for ${SECONDS} s: no crash, hang, oracle failure or memory growth (seed ${seedHex(SEED)})`, async (t) => {
    const summary = await runFuzz({ targets: TARGET_NAMES, seconds: SECONDS, seed: SEED });
    const text = formatSummary(summary, `FUZZ_SECONDS=${SECONDS} FUZZ_SEED=${seedHex(SEED)} node scripts/run-tests.mjs fuzz/fuzz`);
    t.diagnostic(text);
    assert.equal(summary.failures, 0, text);
    for (const target of summary.targets) {
      // Every kind of input ran in both phases, and the run did real work.
      for (const [kind, c] of Object.entries(target.counts)) {
        assert.ok(c.fc > 0 && c.loop > 0, `${target.target}/${kind} ran ${c.fc} fast-check and ${c.loop} loop inputs`);
      }
      // The store target copies and reopens a store per input (≈ 100/s here, not thousands).
      const min = target.target === 'store' ? 100 : 200;
      assert.ok(target.inputs >= min, `${target.target}: only ${target.inputs} inputs`);
      assert.ok(target.heapMaxMb < 256, `${target.target}: worker heap reached ${target.heapMaxMb} MB`);
    }
  });
});

describe('fuzz runner self-test', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'tsnats-fuzz-selftest-'));
  after(() => rmSync(outDir, { recursive: true, force: true }));
  const base = { targets: ['protocol'] as const, seconds: 30, seed: 7, maxFailures: 1, outDir };

  it('a hang is a failure naming the input, its seed and loop index, and the worker is stopped', async () => {
    const s = await runFuzz({ ...base, hangMs: 1000, fcShare: 0, inject: { fault: 'hang', at: 50 } });
    assert.equal(s.failures, 1);
    const f = s.targets[0]!.failures[0]!;
    assert.equal(f.type, 'hang');
    assert.equal(f.phase, 'loop');
    assert.equal(f.index, 50);
    assert.equal(f.seed, 7);
    assert.match(f.error, /--replay 50/);
    assert.ok(f.inputLength > 0 && f.input.length > 0, 'the input is reported');
    assert.ok(s.seconds < 20, `stopped after ${s.seconds} s`);
  });

  it('an exception is a crash with the input and stack; the run goes on', async () => {
    const s = await runFuzz({ ...base, seconds: 2, fcShare: 0, maxFailures: 5, inject: { fault: 'crash', at: 10 } });
    assert.equal(s.failures, 1);
    const f = s.targets[0]!.failures[0]!;
    assert.equal(f.type, 'crash');
    assert.equal(f.index, 10);
    assert.match(f.error, /TypeError: injected crash/);
    assert.ok(s.targets[0]!.loopInputs > 11, 'inputs after the crash still ran');
  });

  it('unbounded memory is a failure (worker heap limit)', async () => {
    const s = await runFuzz({ ...base, maxHeapMb: 64, fcShare: 0, inject: { fault: 'leak', at: 5 } });
    assert.equal(s.failures, 1);
    const f = s.targets[0]!.failures[0]!;
    assert.equal(f.type, 'memory');
    assert.equal(f.index, 5);
  });
});
