// Worker for the mutation property (property.test.ts): runs in a worker thread so
// that a parser that never returns makes the test fail on a time limit instead of
// hanging the test run.

import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import { configArb, REALISTIC_CONFIGS } from './arbitraries.js';

interface Input {
  numRuns: number;
  seed?: number;
}

const { numRuns, seed } = workerData as Input;

const SYNTAX = ['{', '}', '[', ']', '=', ':', ',', ';', '"', "'", '(', ')', '#', '/', '\\', '$', '\n', ' ', '-', '.', '0', '5', 'k', 'x', 'include ', '\r', '\t', 'Z'];

type Mutation = { kind: 'insert' | 'delete' | 'replace' | 'duplicate' | 'truncate'; at: number; len: number; ch: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('insert', 'insert', 'delete', 'replace', 'duplicate', 'truncate'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  len: fc.integer({ min: 1, max: 12 }),
  ch: fc.oneof(fc.constantFrom(...SYNTAX), fc.string({ unit: 'binary-ascii', maxLength: 2 })),
});

function mutate(text: string, muts: Mutation[]): string {
  let t = text;
  for (const m of muts) {
    const i = Math.min(t.length, Math.floor(m.at * (t.length + 1)));
    switch (m.kind) {
      case 'insert':
        t = t.slice(0, i) + m.ch + t.slice(i);
        break;
      case 'delete':
        t = t.slice(0, i) + t.slice(i + m.len);
        break;
      case 'replace':
        t = t.slice(0, i) + m.ch + t.slice(i + 1);
        break;
      case 'duplicate':
        t = t.slice(0, i + m.len) + t.slice(i, i + m.len) + t.slice(i + m.len);
        break;
      case 'truncate':
        t = t.slice(0, i);
        break;
    }
  }
  return t;
}

const baseArb = fc.oneof(fc.constantFrom(...REALISTIC_CONFIGS), configArb.map((c) => c.text));

const noFiles = (p: string): string => {
  throw Object.assign(new Error(`no such file: ${p}`), { code: 'ENOENT' });
};

const result = fc.check(
  fc.property(baseArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (base, muts) => {
    const text = mutate(base, muts);
    const lines = text.split('\n').length;
    try {
      parseConfigText(text, 'm.conf', { env: {}, readFile: noFiles });
      return true;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${String((e as Error)?.stack ?? e)}`);
      for (const err of e.errors) {
        if (err.file !== 'm.conf') throw new Error(`error in another file: ${err.headline}`);
        if (!(err.line >= 1 && err.line <= lines + 1 && err.column >= 1)) throw new Error(`bad position: ${err.headline}`);
      }
      if (!e.message.startsWith(`m.conf:${e.line}:${e.column}: `)) throw new Error(`bad message: ${e.message}`);
      return true;
    }
  }),
  { numRuns, ...(seed !== undefined ? { seed } : {}) },
);

parentPort!.postMessage({ failed: result.failed, numRuns: result.numRuns, report: result.failed ? fc.defaultReportMessage(result) : '' });
