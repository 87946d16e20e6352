// Crash safety: a child process appends to a FileStore and is killed with SIGKILL mid-stream; the
// recovered store holds every message the child reported as stored (with the right content), none
// it reported deleted, and no corrupt record. Also: torn, garbled and truncated tails.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStore, StoreError, UNLIMITED, subjectMatches } from '../../../src/jetstream/store/index.js';
import { payloadFor, subjectFor } from './crash-data.js';
import { tempDir } from './helpers.js';

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'crash-child.js');
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Report {
  stored: Set<number>;
  deleted: Set<number>;
  purges: Array<{ subject: string; below: number }>;
  max: number;
  /** the child may have completed the delete/purge that follows its last report, without reporting it */
  maybeDeleted: Set<number>;
  maybePurges: Array<{ subject: string; below: number }>;
}

function runChild(dir: string, killAfter: number, blockSize: number): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(blockSize)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const rep: Report = { stored: new Set(), deleted: new Set(), purges: [], max: 0, maybeDeleted: new Set(), maybePurges: [] };
    let buf = '';
    let stored = 0;
    let err = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('child too slow'));
    }, 30_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [t, a, b2] = line.split(' ');
        if (t === 'S') {
          rep.stored.add(Number(a));
          rep.max = Math.max(rep.max, Number(a));
          if (++stored >= killAfter && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        } else if (t === 'D') rep.deleted.add(Number(a));
        else if (t === 'P') rep.purges.push({ subject: a, below: Number(b2) });
      }
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (sig !== 'SIGKILL') return reject(new Error(`child exited ${code}: ${err}`));
      const m = rep.max;
      if (m % 10 === 0) rep.maybeDeleted.add(m - 5);
      if (m % 97 === 0) rep.maybePurges.push({ subject: subjectFor(m), below: m - 50 });
      resolve(rep);
    });
  });
}

function verify(s: FileStore, all: Report): void {
  // every message present is intact
  for (let m = s.loadNext('>', 0); m; m = s.loadNext('>', m.seq + 1)) {
    assert.equal(m.subject, subjectFor(m.seq));
    assert.deepEqual(m.data, payloadFor(m.seq), `payload of ${m.seq}`);
    if (m.seq % 3 === 0) assert.equal(m.hdr?.toString(), `NATS/1.0\r\nN: ${m.seq}\r\n\r\n`);
    else assert.equal(m.hdr, null);
  }
  for (const seq of all.stored) {
    const purged = (list: Report['purges']) => list.some((p) => seq < p.below && subjectMatches(subjectFor(seq), p.subject));
    const gone = all.deleted.has(seq) || purged(all.purges);
    const maybe = all.maybeDeleted.has(seq) || purged(all.maybePurges);
    const m = s.load(seq);
    if (gone) assert.equal(m, undefined, `deleted ${seq} came back`);
    else if (!maybe) assert.ok(m, `acknowledged message ${seq} lost`);
  }
  for (const seq of all.deleted) assert.equal(s.load(seq), undefined, `deleted ${seq} came back`);
}

describe('file store crash safety', () => {
  it('SIGKILL during an append burst loses nothing reported and resurrects no delete (several rounds)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const all: Report = { stored: new Set(), deleted: new Set(), purges: [], max: 0, maybeDeleted: new Set(), maybePurges: [] };
    for (let round = 0; round < 6; round++) {
      const rep = await runChild(dir, 300 + Math.floor(Math.random() * 2500), 16 * 1024);
      rep.stored.forEach((x) => all.stored.add(x));
      rep.deleted.forEach((x) => all.deleted.add(x));
      all.purges.push(...rep.purges);
      rep.maybeDeleted.forEach((x) => all.maybeDeleted.add(x));
      all.maybePurges.push(...rep.maybePurges);
      const warns: string[] = [];
      const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
      try {
        assert.ok(s.state().lastSeq >= rep.max, `round ${round}: last ${s.state().lastSeq} < reported ${rep.max}`);
        try {
          verify(s, all);
        } catch (e) {
          throw new Error(`round ${round}: ${(e as Error).message}; warnings: ${warns.join(" | ")}; state ${JSON.stringify(s.state(), (_k, v) => (typeof v === "bigint" ? String(v) : v))}; files ${fs.readdirSync(join(dir, "msgs")).join(",")}`);
        }
      } finally {
        await s.close();
      }
    }
    assert.ok(all.stored.size > 1000);
  });

  function prepared(n: number, blockSize = 1 << 20): { dir: string; blk: string } {
    const dir = tempDir();
    dirs.push(dir);
    return { dir, blk: join(dir, 'msgs', '1.blk') };
  }

  async function fill(dir: string, n: number, blockSize = 1 << 20): Promise<void> {
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, blockSize });
    for (let seq = 1; seq <= n; seq++) s.store(subjectFor(seq), null, payloadFor(seq));
    await s.close();
  }

  it('a torn last record is truncated and logged; the store continues from the last complete one', async () => {
    const { dir, blk } = prepared(10);
    await fill(dir, 10);
    const size = fs.statSync(blk).size;
    fs.truncateSync(blk, size - 5);
    const warns: string[] = [];
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    assert.equal(s.state().lastSeq, 9);
    assert.equal(s.state().msgs, 9);
    assert.equal(warns.length, 1);
    assert.match(warns[0], /torn record/);
    assert.equal(s.store(subjectFor(10), null, payloadFor(10)).seq, 10);
    await s.close();
    const again = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    assert.equal(warns.length, 1, 'no second warning');
    assert.deepEqual(again.load(10)!.data, payloadFor(10));
    await again.close();
  });

  it('garbage appended after the last record is dropped', async () => {
    const { dir, blk } = prepared(5);
    await fill(dir, 5);
    fs.appendFileSync(blk, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]));
    const warns: string[] = [];
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    assert.equal(s.state().msgs, 5);
    assert.equal(warns.length, 1);
    await s.close();
  });

  it('a flipped byte in the last record fails its checksum: that record is dropped, none before it', async () => {
    const { dir, blk } = prepared(8);
    await fill(dir, 8);
    const buf = fs.readFileSync(blk);
    buf[buf.length - 10] ^= 0x55;
    fs.writeFileSync(blk, buf);
    const warns: string[] = [];
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    assert.equal(s.state().lastSeq, 7);
    assert.match(warns[0], /checksum mismatch/);
    for (let seq = 1; seq <= 7; seq++) assert.deepEqual(s.load(seq)!.data, payloadFor(seq));
    await s.close();
  });

  for (const withIdx of [true, false]) {
    it(`a damaged record between intact ones costs that record only (${withIdx ? 'block index, background check' : 'scan'})`, async () => {
      const { dir } = prepared(0);
      await fill(dir, 60, 4096);
      const dropIdx = () => {
        if (!withIdx) for (const f of fs.readdirSync(join(dir, 'msgs'))) if (f.endsWith('.idx')) fs.rmSync(join(dir, 'msgs', f));
      };
      dropIdx();
      const p = join(dir, 'msgs', '1.blk');
      const buf = fs.readFileSync(p);
      let off = 0;
      for (let i = 0; i < 4; i++) off += buf.readUInt32LE(off);
      buf[off + 35] ^= 0xff; // inside record 5 (subject/payload)
      fs.writeFileSync(p, buf);
      const warns: string[] = [];
      let s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
      await s.verified();
      assert.equal(warns.length, 1, warns.join('\n'));
      assert.match(warns[0], withIdx ? /damaged message record\(s\) removed: 5$/ : /skipped/);
      assert.equal(s.state().lastSeq, 60);
      assert.equal(s.state().msgs, 59);
      assert.equal(s.load(5), undefined);
      assert.deepEqual(s.deleted(), [5]);
      for (let m = s.loadNext('>', 0); m; m = s.loadNext('>', m.seq + 1)) assert.deepEqual(m.data, payloadFor(m.seq));
      await s.close();
      // now break the length field of record 3
      dropIdx();
      const buf2 = fs.readFileSync(p);
      let off3 = 0;
      for (let i = 0; i < 2; i++) off3 += buf2.readUInt32LE(off3);
      buf2.writeUInt32LE(0x7fffffff, off3);
      fs.writeFileSync(p, buf2);
      warns.length = 0;
      s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
      await s.verified();
      assert.equal(warns.length, 1, warns.join('\n'));
      // with the index only record 3 is lost; a scan cannot find the records after it in block 1
      assert.match(warns[0], withIdx ? /removed: 3$/ : /torn record/);
      assert.equal(s.state().lastSeq, 60);
      assert.equal(s.load(2)!.seq, 2);
      assert.equal(s.load(3), undefined);
      if (withIdx) assert.equal(s.state().msgs, 58);
      assert.ok(s.load(60));
      for (let m = s.loadNext('>', 0); m; m = s.loadNext('>', m.seq + 1)) assert.deepEqual(m.data, payloadFor(m.seq));
      await s.close();
    });
  }

  it('erase overwrites the message bytes on disk; the slot stays deleted after restart', async () => {
    const { dir } = prepared(0);
    const s0 = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    s0.store('a', null, Buffer.from('keep-me-1'));
    s0.store('a', null, Buffer.from('SECRET-PAYLOAD'));
    s0.store('a', null, Buffer.from('keep-me-3'));
    assert.equal(s0.remove(2, true), true);
    assert.equal(s0.remove(2, true), false);
    await s0.close();
    const raw = fs.readFileSync(join(dir, 'msgs', '1.blk'));
    assert.equal(raw.includes('SECRET-PAYLOAD'), false);
    fs.rmSync(join(dir, 'msgs', '1.dlt')); // even without the delete log the erased record stays deleted
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    assert.deepEqual(s.deleted(), [2]);
    assert.equal(s.load(3)!.data.toString(), 'keep-me-3');
    assert.equal(s.store('a', null, Buffer.from('4')).seq, 4);
    await s.close();
  });

  it('a failed write (disk full) is an io StoreError; nothing is stored and the store keeps working', async () => {
    const { dir } = prepared(0);
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    s.store('a', null, Buffer.from('1'));
    // swap the write block's descriptor for /dev/full (writes fail with ENOSPC)
    const wb = (s as unknown as { wb: { fd: number } }).wb;
    const real = wb.fd;
    wb.fd = fs.openSync('/dev/full', 'w');
    assert.throws(
      () => s.store('a', null, Buffer.from('2')),
      (e: unknown) => e instanceof StoreError && e.code === 'io' && /ENOSPC/.test(e.message),
    );
    assert.equal(s.state().msgs, 1);
    assert.equal(s.state().lastSeq, 1);
    fs.closeSync(wb.fd);
    wb.fd = real;
    assert.equal(s.store('a', null, Buffer.from('2')).seq, 2);
    await s.close();
    const again = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    assert.equal(again.state().msgs, 2);
    await again.close();
  });

  it('a failed delete (disk full) is an io StoreError and changes nothing, in memory or after a restart', async () => {
    const { dir } = prepared(0);
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    for (let seq = 1; seq <= 10; seq++) s.store('a', null, payloadFor(seq));
    assert.equal(s.remove(5), true); // creates the delete log
    const priv = s as unknown as { wb: { fd: number; dltFd: number } };
    const full = fs.openSync('/dev/full', 'w');
    const realDlt = priv.wb.dltFd;
    priv.wb.dltFd = full;
    const isIo = (e: unknown) => e instanceof StoreError && e.code === 'io';
    assert.throws(() => s.remove(7), isIo);
    priv.wb.dltFd = realDlt;
    const realFd = priv.wb.fd;
    priv.wb.fd = full;
    assert.throws(() => s.remove(1), isIo); // the floor record cannot be written
    assert.throws(() => s.purge(), isIo);
    priv.wb.fd = realFd;
    fs.closeSync(full);
    assert.deepEqual([s.state().msgs, s.state().firstSeq, s.deleted()], [9, 1, [5]]);
    assert.ok(s.load(7) && s.load(1));
    await s.close();
    const again = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    assert.deepEqual([again.state().msgs, again.state().firstSeq, again.deleted()], [9, 1, [5]]);
    assert.equal(again.remove(7), true);
    assert.equal(again.purge(), 8);
    await again.close();
  });

  it('syncAlways fsyncs every append and delete', async () => {
    const { dir } = prepared(0);
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, syncAlways: true });
    for (let seq = 1; seq <= 20; seq++) s.store('a', null, payloadFor(seq));
    s.remove(5);
    s.purge({ seq: 3 });
    const blocks = (s as unknown as { blocks: Array<{ dirty: boolean }> }).blocks;
    assert.ok(blocks.every((b) => !b.dirty));
    await s.close();
    const again = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    assert.deepEqual([again.state().firstSeq, again.state().msgs, again.deleted()], [3, 17, [5]]);
    await again.close();
  });

  it('an unwritable store directory is an io StoreError at open', () => {
    const d = tempDir();
    dirs.push(d);
    fs.writeFileSync(join(d, 'msgs'), 'a file where the msgs directory should be');
    assert.throws(() => new FileStore(d, UNLIMITED, { syncIntervalMs: 0 }), (e: unknown) => e instanceof StoreError && e.code === 'io');
  });

  it('block index files speed up a restart but are never trusted over the block', async () => {
    const { dir } = prepared(0);
    await fill(dir, 200, 4096);
    const idx = fs.readdirSync(join(dir, 'msgs')).filter((f) => f.endsWith('.idx'));
    const blk = fs.readdirSync(join(dir, 'msgs')).filter((f) => f.endsWith('.blk'));
    assert.equal(idx.length, blk.length, 'every block indexed after a clean close');
    const snapshot = (s: FileStore) => {
      const out: string[] = [];
      for (let m = s.loadNext('>', 0); m; m = s.loadNext('>', m.seq + 1)) out.push(`${m.seq}:${m.subject}:${m.data.toString('hex')}`);
      return out.join(',');
    };
    let s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    const want = snapshot(s);
    await s.verified();
    s.remove(7);
    await s.close();
    // a garbled index, an index of another block, a truncated one: all ignored
    fs.writeFileSync(join(dir, 'msgs', '1.idx'), 'garbage');
    fs.copyFileSync(join(dir, 'msgs', '3.idx'), join(dir, 'msgs', '2.idx'));
    const i4 = fs.readFileSync(join(dir, 'msgs', '4.idx'));
    fs.writeFileSync(join(dir, 'msgs', '4.idx'), i4.subarray(0, i4.length - 9));
    // a block changed after its index was written (a flipped payload byte in block 5): the index is
    // used at open, the background check finds and removes the damaged message
    const b5 = join(dir, 'msgs', '5.blk');
    const raw = fs.readFileSync(b5);
    raw[40] ^= 0x01;
    fs.writeFileSync(b5, raw);
    const warns: string[] = [];
    s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    await s.verified();
    assert.equal(warns.length, 1, warns.join('\n'));
    const got = snapshot(s).split(',');
    const exp = want.split(',').filter((x) => !x.startsWith('7:'));
    assert.equal(got.length, exp.length - 1);
    assert.ok(got.every((x) => exp.includes(x)));
    await s.close();
  });

  it('the background check of a write block opened from its index ignores what was appended since', async () => {
    const { dir } = prepared(0);
    await fill(dir, 30, 1 << 20);
    const warns: string[] = [];
    let s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    for (let seq = 31; seq <= 40; seq++) s.store(subjectFor(seq), null, payloadFor(seq));
    s.remove(35, true);
    await s.verified();
    assert.equal(warns.length, 0, warns.join('; '));
    assert.equal(s.state().msgs, 39);
    await s.close();
    s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    await s.verified();
    assert.equal(warns.length, 0, warns.join('; '));
    for (let seq = 1; seq <= 40; seq++) {
      if (seq === 35) assert.equal(s.load(seq), undefined);
      else assert.deepEqual(s.load(seq)!.data, payloadFor(seq));
    }
    await s.close();
  });

  it('sparse sealed blocks are compacted on disk; contents and deletes survive a restart', async () => {
    const { dir } = prepared(0);
    const limits = { ...UNLIMITED, maxMsgsPerSubject: 1 };
    const opts = { syncIntervalMs: 0, blockSize: 4096, compactMinBytes: 1024 };
    let s = new FileStore(dir, limits, opts);
    s.store('keep', null, Buffer.from('the one that stays'));
    for (let i = 0; i < 3000; i++) s.store(`k.${i % 5}`, null, Buffer.alloc(60, i & 0xff));
    assert.equal(s.remove(2999), true); // an interior delete in the write block too
    const bytes = () =>
      fs.readdirSync(join(dir, 'msgs')).filter((f) => f.endsWith('.blk')).reduce((n, f) => n + fs.statSync(join(dir, 'msgs', f)).size, 0);
    assert.ok(bytes() < 3 * 4096, `blocks use ${bytes()} bytes`);
    assert.ok(fs.statSync(join(dir, 'msgs', '1.blk')).size < 1024, 'block 1 was rewritten without its deleted records');
    const before: string[] = [];
    for (let m = s.loadNext('>', 0); m; m = s.loadNext('>', m.seq + 1)) before.push(`${m.seq}:${m.subject}:${m.data.toString('hex')}`);
    assert.equal(before[0], `1:keep:${Buffer.from('the one that stays').toString('hex')}`);
    await s.close();
    for (const drop of [false, true]) {
      if (drop) for (const f of fs.readdirSync(join(dir, 'msgs'))) if (f.endsWith('.idx')) fs.rmSync(join(dir, 'msgs', f));
      const warns: string[] = [];
      s = new FileStore(dir, limits, { ...opts, warn: (w) => warns.push(w) });
      const after: string[] = [];
      for (let m = s.loadNext('>', 0); m; m = s.loadNext('>', m.seq + 1)) after.push(`${m.seq}:${m.subject}:${m.data.toString('hex')}`);
      assert.deepEqual(after, before);
      assert.deepEqual(warns, []);
      await s.close();
    }
  });

  it('a torn delete log keeps every complete delete', async () => {
    const { dir } = prepared(0);
    const s0 = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0 });
    for (let seq = 1; seq <= 10; seq++) s0.store('a', null, payloadFor(seq));
    s0.remove(4);
    s0.remove(6);
    await s0.close();
    const dlt = join(dir, 'msgs', '1.dlt');
    fs.appendFileSync(dlt, Buffer.from([1, 2, 3, 4, 5]));
    const warns: string[] = [];
    const s = new FileStore(dir, UNLIMITED, { syncIntervalMs: 0, warn: (w) => warns.push(w) });
    assert.deepEqual(s.deleted(), [4, 6]);
    assert.equal(warns.length, 1);
    await s.close();
  });
});
