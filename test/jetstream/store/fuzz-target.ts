// Fuzz target `store` of test/fuzz (registered in test/fuzz/engine.ts): the
// FileStore's recovery from damaged files. A pristine store (blocks with messages, headers, deletes,
// erased records, delete logs, block indexes; one cleanly closed, one "crashed" without the write
// block's index) is copied for every input; one of its files is mutated with the shared byte
// mutations (bit flips, inserts, deletes, truncation, garbage) or removed; the store is opened and
// checked byte for byte. Oracle: opening never throws; every message read back (before and after the
// background check) is byte-identical to the one stored under that sequence; the store accepts the
// next sequence after the highest it reports.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, StoreError, UNLIMITED } from '../../../src/jetstream/store/index.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../../fuzz/engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../../fuzz/rng.js';

const OPTS = { syncIntervalMs: 0, blockSize: 1024, compactMinBytes: 768 };
const N = 150;

function content(i: number): { subject: string; hdr: Buffer | null; data: Buffer } {
  return {
    subject: `f.${i % 7}`,
    hdr: i % 4 === 0 ? Buffer.from(`NATS/1.0\r\nI: ${i}\r\n\r\n`) : null,
    data: Buffer.alloc(i % 40, i & 0xff),
  };
}
const key = (m: { subject: string; hdr: Buffer | null; data: Buffer }) => `${m.subject}|${m.hdr?.toString('hex') ?? '-'}|${m.data.toString('hex')}`;

function pristine(root: string, crashed: boolean): string {
  const dir = join(root, crashed ? 'crashed' : 'clean');
  const s = new FileStore(dir, UNLIMITED, OPTS);
  for (let i = 1; i <= N; i++) {
    const c = content(i);
    s.store(c.subject, c.hdr, c.data);
  }
  for (let i = 3; i <= N; i += 11) s.remove(i, i % 2 === 0);
  s.purge({ subject: 'f.3', seq: 40 });
  if (crashed) {
    (s as unknown as { closeFds(): void }).closeFds();
    (s as unknown as { closed: boolean }).closed = true;
  } else void s.close();
  return dir;
}

export function create(_opts: TargetOptions): TargetInstance {
  const root = fs.mkdtempSync(join(tmpdir(), 'tsnats-fuzz-store-'));
  process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  const bases = [pristine(root, false), pristine(root, true)];
  const expect = new Map<number, string>();
  for (let i = 1; i <= N; i++) expect.set(i, key(content(i)));
  const stats: Record<string, number> = {};
  const bump = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
  const work = join(root, 'work');
  const DICT = [Buffer.alloc(4), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.from('TSIX'), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])];

  const runOne = (src: Src, cur: { set(input: Uint8Array | string, note?: string): void }, remove: boolean) => {
    const base = src.pick(bases);
    fs.rmSync(work, { recursive: true, force: true });
    fs.cpSync(base, work, { recursive: true });
    const files = fs.readdirSync(join(work, 'msgs')).sort();
    const name = src.pick(files);
    const p = join(work, 'msgs', name);
    const before = fs.readFileSync(p);
    let note = `${base.endsWith('crashed') ? 'crashed' : 'clean'} ${name}`;
    if (remove) {
      fs.rmSync(p);
      cur.set(before, `${note}: removed`);
    } else {
      const out: ByteMutation = { first: before.length, recipe: [] };
      const after = mutateBytes(src, before, DICT, 1 + src.int(4), out);
      fs.writeFileSync(p, after);
      note += ` ${out.recipe.join(' ')}`;
      cur.set(after, note);
    }
    const warns: string[] = [];
    const s = new FileStore(work, UNLIMITED, { ...OPTS, warn: (w) => warns.push(w) });
    try {
      const readAll = () => {
        for (let seq = 1; seq <= N + 1; seq++) {
          let m;
          try {
            m = s.load(seq);
          } catch (e) {
            check(e instanceof StoreError && e.code === 'corrupt', () => `load(${seq}) threw ${String(e)} (${note})`);
            bump('corrupt-read');
            continue;
          }
          if (m) check(key(m) === expect.get(seq), () => `seq ${seq} came back different (${note})`);
        }
      };
      readAll();
      s.verifyNow();
      readAll();
      const st = s.state();
      check(st.lastSeq <= N && st.msgs <= N, () => `state beyond what was stored: ${st.lastSeq}/${st.msgs} (${note})`);
      const next = s.store('after', null, Buffer.from('x')).seq;
      check(next === st.lastSeq + 1, () => `next seq ${next} after last ${st.lastSeq} (${note})`);
      bump(warns.length > 0 ? 'warned' : 'silent');
    } finally {
      void s.close();
    }
  };

  const kinds: Kind[] = [
    { name: 'mutated-file', weight: 9, run: (src, cur) => runOne(src, cur, false) },
    { name: 'removed-file', weight: 1, run: (src, cur) => runOne(src, cur, true) },
  ];
  return { kinds, stats, setupNote: `FileStore with ${N} messages, blocks of 1 KiB, clean and crashed copies` };
}
