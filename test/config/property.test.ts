import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { parseConfig, parseConfigText, toPlain } from '../../src/config/index.js';
import { configArb, REALISTIC_CONFIGS, valueArb } from './arbitraries.js';

describe('config properties', () => {
  it('random valid config trees rendered to text parse back to the same values', () => {
    fc.assert(
      fc.property(configArb, (c) => {
        assert.deepStrictEqual(toPlain(parseConfig(c.text, 'r.conf', { env: {} })), c.value, c.text);
      }),
      { numRuns: 300 },
    );
  });

  it('any value parses back the same inside a map, an array and at the top level', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const nl = v.needsNewline ? '\n' : '';
        assert.deepStrictEqual(toPlain(parseConfig(`k: ${v.text}\n`, 'v.conf', { env: {} })), { k: v.value });
        assert.deepStrictEqual(toPlain(parseConfig(`m { k = ${v.text}${nl}}`, 'v.conf', { env: {} })), { m: { k: v.value } });
        assert.deepStrictEqual(toPlain(parseConfig(`a: [${v.text}${nl}]`, 'v.conf', { env: {} })), { a: [v.value] });
        assert.deepStrictEqual(toPlain(parseConfig(`X = ${v.text}\nk: $X\n`, 'v.conf', { env: {} })), { X: v.value, k: v.value });
      }),
      { numRuns: 200 },
    );
  });

  it('the realistic corpus loads', () => {
    for (const text of REALISTIC_CONFIGS) parseConfigText(text, 'c.conf', { env: {} });
  });

  it('random mutations of valid files parse or throw a positioned ConfigError, and never hang', async () => {
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: { numRuns: 1500 } });
    const LIMIT_MS = 60_000;
    const outcome = await new Promise<{ failed: boolean; report: string; numRuns: number } | 'timeout'>((resolve, reject) => {
      const timer = setTimeout(() => resolve('timeout'), LIMIT_MS);
      worker.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as { failed: boolean; report: string; numRuns: number });
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    await worker.terminate();
    assert.notEqual(outcome, 'timeout', `the parser did not finish ${LIMIT_MS} ms of fuzzing: a mutation makes it hang`);
    if (outcome !== 'timeout') {
      assert.equal(outcome.failed, false, outcome.report);
      assert.equal(outcome.numRuns, 1500);
    }
  });
});
