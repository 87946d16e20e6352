// Stored-file corruption, fuzzed: random byte flips, truncations, garbage and deleted files in the
// blocks, delete logs and block indexes of a closed FileStore. Opening never throws, a message read
// back is always byte-identical to the one stored under that sequence (a damaged one is dropped, never
// returned), and the store accepts new messages after the highest sequence it reports.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FileStore, StoreError, UNLIMITED } from '../../../src/jetstream/store/index.js';
import { tempDir } from './helpers.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

type Mut =
  | { t: 'flip'; file: number; pos: number; xor: number }
  | { t: 'truncate'; file: number; keep: number }
  | { t: 'garbage'; file: number; bytes: number[] }
  | { t: 'remove'; file: number };

const mutArb: fc.Arbitrary<Mut> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('flip' as const), file: fc.nat(), pos: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('truncate' as const), file: fc.nat(), keep: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('garbage' as const), file: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remove' as const), file: fc.nat() }) },
);

describe('file store: corrupted files on disk (fuzz)', () => {
  it('never throws at open, never returns a damaged message, keeps accepting messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.nat(200), { maxLength: 15 }),
        fc.array(mutArb, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (n, removes, muts, cleanClose) => {
          const dir = tempDir('tsnats-corrupt-');
          dirs.push(dir);
          const opts = { syncIntervalMs: 0, blockSize: 1024, compactMinBytes: 512 };
          const s0 = new FileStore(dir, UNLIMITED, opts);
          const content = new Map<number, string>();
          for (let i = 1; i <= n; i++) {
            const data = Buffer.alloc(i % 50, i & 0xff);
            const hdr = i % 4 === 0 ? Buffer.from(`NATS/1.0\r\nI: ${i}\r\n\r\n`) : null;
            s0.store(`s.${i % 6}`, hdr, data);
            content.set(i, `s.${i % 6}|${hdr ? hdr.toString('hex') : '-'}|${data.toString('hex')}`);
          }
          for (const r of removes) s0.remove(1 + (r % n), r % 3 === 0);
          if (cleanClose) await s0.close();
          else {
            // a crash: no index for the write block, files left as they are
            (s0 as unknown as { closeFds(): void }).closeFds();
            (s0 as unknown as { closed: boolean }).closed = true;
          }
          const files = fs.readdirSync(join(dir, 'msgs')).sort();
          for (const m of muts) {
            if (files.length === 0) break;
            const f = join(dir, 'msgs', files[m.file % files.length]);
            if (!fs.existsSync(f)) continue;
            const buf = fs.readFileSync(f);
            if (m.t === 'flip' && buf.length > 0) {
              buf[m.pos % buf.length] ^= m.xor;
              fs.writeFileSync(f, buf);
            } else if (m.t === 'truncate') fs.writeFileSync(f, buf.subarray(0, Math.floor(buf.length * m.keep)));
            else if (m.t === 'garbage') fs.appendFileSync(f, Buffer.from(m.bytes));
            else if (m.t === 'remove') fs.rmSync(f);
          }
          const warns: string[] = [];
          const s = new FileStore(dir, UNLIMITED, { ...opts, warn: (w) => warns.push(w) });
          try {
            await s.verified();
            const check = (seq: number) => {
              let m;
              try {
                m = s.load(seq);
              } catch (e) {
                assert.ok(e instanceof StoreError && e.code === 'corrupt', String(e));
                return;
              }
              if (!m) return;
              assert.equal(`${m.subject}|${m.hdr ? m.hdr.toString('hex') : '-'}|${m.data.toString('hex')}`, content.get(seq), `seq ${seq}`);
            };
            for (let seq = 1; seq <= n + 1; seq++) check(seq);
            const st = s.state();
            assert.ok(st.msgs <= n);
            assert.ok(st.lastSeq <= n);
            const next = s.store('after', null, Buffer.from('x')).seq;
            assert.equal(next, st.lastSeq + 1);
            assert.equal(s.load(next)!.data.toString(), 'x');
          } finally {
            await s.close();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: Number(process.env.STORE_FUZZ_RUNS ?? 150) },
    );
  });
});
