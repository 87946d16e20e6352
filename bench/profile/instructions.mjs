#!/usr/bin/env node
// Instructions per published message for the in-process hot path (deliver.bench), counted by
// valgrind's callgrind: deterministic enough for A/B comparisons on a shared, noisy machine where
// CPU-time measurements swing by ±40 %. Runs the bench with two message counts and divides the
// difference in instructions by the difference in messages, so start-up cost cancels out.
//
//   node bench/profile/instructions.mjs [scenario substring] [--dist DIR]    (needs valgrind; slow: ~1-3 min per scenario)
//
// --dist points at another build's dist/ (e.g. a copy of the previous commit's) for the "before".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
let dist = 'dist';
const i = args.indexOf('--dist');
if (i >= 0) {
  dist = args[i + 1];
  args.splice(i, 2);
}
const scenario = args[0] ?? '1 → 1, 16 B';
const bench = resolve(dist, 'bench/profile/deliver.bench.js');
const dir = mkdtempSync(join(tmpdir(), 'cg-'));
const ROUNDS = 5; // deliver.bench runs every scenario 5 times

function instructions(n) {
  const out = join(dir, `cg.${n}`);
  // --single-threaded: no concurrent compiler or GC threads, whose timing under valgrind would
  // otherwise decide how many messages run before the optimized code arrives.
  const node = [process.execPath, '--single-threaded', bench, String(n), scenario];
  const r = spawnSync('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, ...node], {
    encoding: 'utf8',
  });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`valgrind failed: ${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

try {
  const [a, b] = [20_000, 60_000];
  const ia = instructions(a);
  const ib = instructions(b);
  const per = (ib - ia) / ((b - a) * ROUNDS);
  console.log(`${scenario} (${dist}): ${per.toFixed(0)} instructions per published message`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
