// Command line of the fuzz runner. See docs/reliability.md ("Fuzzing").
//
//   node dist/test/fuzz/run.js [--target protocol|config|ocsp|websocket|leaf|all] [--seconds S] [--inputs N] [--seed X]
//                              [--hang-ms MS] [--max-rss-mb MB] [--max-heap-mb MB] [--out DIR] [--json]
//   node dist/test/fuzz/run.js --target T --seed X --replay I     (re-runs loop input #I, verbosely)
//
// Exit status 0 when every target ran its budget without a failure, 1 otherwise, 2 on bad usage.

import { argv, exit, stdout, stderr } from 'node:process';
import { TARGET_NAMES, errorText, loadTarget, pickKind, targetSeed, type TargetName } from './engine.js';
import { RngSource, preview } from './rng.js';
import { formatSummary, runFuzz, seedHex } from './runner.js';

const USAGE = `usage: node dist/test/fuzz/run.js [options]
  --target T       protocol, config, ocsp, websocket, route, leaf, jsapi (JetStream API JSON), store
                   (JetStream stored-file corruption), jwt (operator-mode JWTs, nkey signatures) or all (default), or a comma list
  --seconds S      total time budget, split evenly between the targets (default 300,
                   or unlimited when --inputs is given)
  --inputs N       at most N inputs per target (fast-check runs + loop inputs)
  --seed X         run seed, decimal or 0x-hex (default: random, printed)
  --hang-ms MS     an input running this long is a hang (default 10000)
  --max-rss-mb MB  process RSS limit (default 2048); --max-heap-mb MB: worker heap limit (default 512)
  --out DIR        where failing inputs are written (default: a new directory under the OS temp dir)
  --json           print the summary as JSON
  --replay I       run loop input #I of --target with --seed once in this process and show it
                   (give the same --seconds as the run for the ocsp target: it decides its PKI)`;

function fail(msg: string): never {
  stderr.write(`${msg}\n${USAGE}\n`);
  exit(2);
}

function parseArgs(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      stdout.write(USAGE + '\n');
      exit(0);
    }
    if (a === '--json') {
      m.set('json', '1');
      continue;
    }
    if (!a.startsWith('--')) fail(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const v = inline ?? args[++i];
    if (v === undefined) fail(`--${k} needs a value`);
    m.set(k, v);
  }
  for (const k of m.keys()) {
    if (!['target', 'seconds', 'inputs', 'seed', 'hang-ms', 'max-rss-mb', 'max-heap-mb', 'out', 'json', 'replay'].includes(k)) fail(`unknown option --${k}`);
  }
  return m;
}

function num(m: Map<string, string>, k: string): number | undefined {
  const v = m.get(k);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${k} must be a non-negative number`);
  return n;
}

async function replay(target: TargetName, seed: number, index: number, budgetMs: number): Promise<void> {
  const t = await loadTarget(target, { seed: targetSeed(seed, target), budgetMs });
  const src = new RngSource(targetSeed(seed, target), index);
  const kind = t.kinds[pickKind(src, t.kinds)]!;
  stdout.write(`${target} loop input #${index} (seed ${seedHex(seed)}), kind ${kind.name}\n`);
  try {
    kind.run(src, {
      set(input, note) {
        const len = typeof input === 'string' ? input.length : input.length;
        stdout.write(`input (${len} ${typeof input === 'string' ? 'chars' : 'bytes'}): ${preview(input, 4000)}\n`);
        if (typeof input !== 'string') stdout.write(`base64: ${Buffer.from(input).toString('base64')}\n`);
        if (note) stdout.write(`recipe: ${note}\n`);
      },
    });
    stdout.write('result: passes\n');
  } catch (e) {
    stdout.write(`result: FAILS\n${errorText(e)}\n`);
    exit(1);
  }
}

async function main(): Promise<void> {
  const m = parseArgs(argv.slice(2));
  const targetArg = m.get('target') ?? 'all';
  const targets = (targetArg === 'all' ? [...TARGET_NAMES] : targetArg.split(',')) as TargetName[];
  for (const t of targets) if (!TARGET_NAMES.includes(t)) fail(`unknown target ${t}`);
  const seedText = m.get('seed');
  const seed = seedText === undefined ? (Math.random() * 2 ** 32) >>> 0 : Number(seedText) >>> 0;
  if (seedText !== undefined && !Number.isFinite(Number(seedText))) fail('--seed must be a number');
  const maxInputs = num(m, 'inputs');
  const seconds = num(m, 'seconds') ?? (maxInputs ? 86_400 : 300);

  const index = num(m, 'replay');
  if (index !== undefined) {
    if (targets.length !== 1) fail('--replay needs one --target');
    return replay(targets[0]!, seed, index, (seconds * 1000) / targets.length);
  }

  const command = `node dist/test/fuzz/run.js ${argv.slice(2).join(' ')}${seedText === undefined ? ` (seed ${seedHex(seed)})` : ''}`.trim();
  stderr.write(`fuzzing ${targets.join(', ')} for ${seconds} s${maxInputs ? ` or ${maxInputs} inputs per target` : ''}, seed ${seedHex(seed)}\n`);
  const summary = await runFuzz({
    targets,
    seconds,
    maxInputs,
    seed,
    hangMs: num(m, 'hang-ms'),
    maxRssMb: num(m, 'max-rss-mb'),
    maxHeapMb: num(m, 'max-heap-mb'),
    outDir: m.get('out'),
    log: (line) => stderr.write(line + '\n'),
  });
  stdout.write((m.has('json') ? JSON.stringify(summary, null, 2) : formatSummary(summary, command)) + '\n');
  exit(summary.failures > 0 ? 1 : 0);
}

main().catch((e) => {
  stderr.write(`${errorText(e)}\n`);
  exit(1);
});
