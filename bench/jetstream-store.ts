// JetStream store micro-benchmark: `node dist/bench/jetstream-store.js [messages]`.
// One row per operation: writes/s and reads/s for MemoryStore and FileStore, a KV-style put
// workload (max_msgs_per_subject 1), last-by-subject gets, and FileStore recovery time.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore, UNLIMITED, type MsgStore } from '../src/jetstream/store/index.js';

const N = Number(process.argv[2] ?? 200_000);
const rows: string[] = [];

function row(label: string, n: number, secs: number): void {
  const line = `${label.padEnd(46)} ${String(Math.round(n / secs)).padStart(10)} ops/s  (${n} in ${secs.toFixed(3)} s)`;
  rows.push(line);
  console.log(line);
}
function timed(fn: () => number): [number, number] {
  const t0 = process.hrtime.bigint();
  const n = fn();
  return [n, Number(process.hrtime.bigint() - t0) / 1e9];
}

function suite(name: string, open: (perSubject?: number) => MsgStore, reopen?: (s: MsgStore) => Promise<MsgStore>) {
  return async () => {
    for (const size of [16, 1024]) {
      const payload = Buffer.alloc(size, 0x61);
      let s = open();
      const count = size === 16 ? N : Math.floor(N / 4);
      row(`${name} store ${size} B`, ...timed(() => {
        for (let i = 0; i < count; i++) s.store(`bench.${i % 100}`, null, payload);
        return count;
      }));
      row(`${name} load(seq) sequential ${size} B`, ...timed(() => {
        for (let i = 1; i <= count; i++) if (!s.load(i)) throw new Error('missing');
        return count;
      }));
      row(`${name} load(seq) random ${size} B`, ...timed(() => {
        for (let i = 1; i <= count; i++) if (!s.load(1 + ((i * 7919) % count))) throw new Error('missing');
        return count;
      }));
      row(`${name} loadNext(literal filter) ${size} B`, ...timed(() => {
        let n = 0;
        for (let m = s.loadNext('bench.7', 0); m; m = s.loadNext('bench.7', m.seq + 1)) n++;
        return n;
      }));
      if (reopen && size === 16) {
        const [, secs] = timed(() => 0);
        void secs;
        const t0 = process.hrtime.bigint();
        s = await reopen(s);
        const rs = Number(process.hrtime.bigint() - t0) / 1e9;
        rows.push(`${`${name} recovery of ${count} x ${size} B`.padEnd(46)} ${rs.toFixed(3)} s`);
        console.log(rows[rows.length - 1]);
      }
      await s.destroy();
    }
    // KV-style: 10k keys, history 1, puts replace the previous revision
    const kv = open(1);
    const v = Buffer.alloc(100, 0x62);
    row(`${name} KV put (10k keys, history 1) 100 B`, ...timed(() => {
      for (let i = 0; i < N / 2; i++) kv.store(`$KV.b.k${i % 10_000}`, null, v);
      return N / 2;
    }));
    row(`${name} KV get (loadLast literal)`, ...timed(() => {
      for (let i = 0; i < N / 2; i++) if (!kv.loadLast(`$KV.b.k${(i * 31) % 10_000}`)) throw new Error('missing');
      return N / 2;
    }));
    await kv.destroy();
  };
}

const dirs: string[] = [];
const mkdir = () => {
  const d = fs.mkdtempSync(join(tmpdir(), 'tsnats-bench-'));
  dirs.push(d);
  return d;
};

await suite('memory', (p = -1) => new MemoryStore({ ...UNLIMITED, maxMsgsPerSubject: p }))();
await suite(
  'file',
  (p = -1) => new FileStore(mkdir(), { ...UNLIMITED, maxMsgsPerSubject: p }),
  async (s) => {
    const f = s as FileStore;
    await f.close();
    return new FileStore(f.dir, UNLIMITED);
  },
)();
for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
console.log(`\nnode ${process.version}, ${N} messages`);
