// Subject index throughput: `node dist/bench/subjects.bench.js`.
import { SubjectIndex } from '../src/server/subjects.js';

interface Sub {
  subject: string;
  queue?: string;
}

/**
 * Runs `fn` 9 times (the first 2 warm up the JIT) and returns the median CPU time (user + system of
 * this process, which is steadier than wall time on a shared machine) and the median wall time.
 */
function measure(fn: () => void): { cpu: number; wall: number } {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let round = 0; round < 9; round++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    const w = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    if (round >= 2) {
      cpu.push((c.user + c.system) / 1e6);
      wall.push(w);
    }
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
  return { cpu: med(cpu), wall: med(wall) };
}

function time(label: string, n: number, fn: () => void, unit = 'ops'): void {
  const r = measure(fn);
  console.log(`${label.padEnd(52)} ${(n / r.cpu / 1e6).toFixed(2)} M ${unit}/CPU-s (${(n / r.wall / 1e6).toFixed(2)} M/s wall)`);
}

// 10,000 subscriptions: literal `svc.<a>.<b>`, some `svc.<a>.*` (plain and in 2 queue groups),
// 4 `svc.>`, 396 `other.<k>.>`. A `svc.<a>.<b>` message matches 7 plain subs and 2 queue groups.
const idx = new SubjectIndex<Sub>();
const subs: Sub[] = [];
for (let a = 0; a < 100; a++) {
  for (let b = 0; b < 90; b++) subs.push({ subject: `svc.${a}.${b}` });
  for (let q = 0; q < 5; q++) subs.push({ subject: `svc.${a}.*`, queue: `q${q % 2}` });
  subs.push({ subject: `svc.${a}.*` });
}
for (let k = 0; k < 400; k++) subs.push({ subject: k % 100 === 0 ? 'svc.>' : `other.${k}.>` });
for (const s of subs) idx.insert(s);
console.log(`node ${process.version}, ${idx.count} subscriptions`);

const subjects = Array.from({ length: 1000 }, (_, k) => `svc.${k % 100}.${k % 90}`);
const M = 1_000_000;
let sink = 0;

time('match, warm cache (1000 distinct subjects)', M, () => {
  for (let k = 0; k < M; k++) sink += idx.match(subjects[k % 1000]!).plain.length;
});

const cold = new SubjectIndex<Sub>({ cacheMax: 0 });
for (const s of subs) cold.insert(s);
time('match, no cache (trie walk + result build)', M / 10, () => {
  for (let k = 0; k < M / 10; k++) sink += cold.match(subjects[k % 1000]!).plain.length;
});

const uniq = Array.from({ length: M / 10 }, (_, k) => `_INBOX.${k}.x`);
time('match, always-new subjects (miss + cache sweep)', M / 10, () => {
  for (let k = 0; k < M / 10; k++) sink += idx.match(uniq[k]!).plain.length;
});

let n = 0;
time('insert+remove literal sub (warm cache of 1024)', M / 10, () => {
  for (let k = 0; k < M / 10; k++) {
    const s = { subject: `_INBOX.r${n++}` };
    idx.insert(s);
    idx.remove(s);
  }
}, 'pairs');

time('insert+remove wildcard sub (warm cache of 1024)', M / 100, () => {
  for (let k = 0; k < M / 100; k++) {
    const s = { subject: `svc.${k % 100}.*` };
    idx.insert(s);
    idx.remove(s);
  }
}, 'pairs');

const st = idx.stats();
console.log(`stats: ${JSON.stringify(st)}`);
if (sink < 0) console.log(sink);
