// The same behaviour suite against MemoryStore and FileStore (nats-server store semantics).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, fileMsgSize, memMsgSize, type MsgStore } from '../../../src/jetstream/store/index.js';
import { b, kinds } from './helpers.js';

const ks = kinds();
after(() => ks.forEach((k) => k.cleanup()));

function fill(s: MsgStore, subjects: string[], n: number): void {
  for (let i = 0; i < n; i++) s.store(subjects[i % subjects.length], null, b(`m${i}`));
}
function seqs(s: MsgStore, filter = '>'): number[] {
  const out: number[] = [];
  for (let m = s.loadNext(filter, 0); m; m = s.loadNext(filter, m.seq + 1)) out.push(m.seq);
  return out;
}
function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof StoreError) return e.code;
    throw e;
  }
  return undefined;
}

for (const k of ks) {
  describe(`${k.name} store`, () => {
    it('stores, loads and accounts like nats-server', async () => {
      const s = k.open();
      assert.deepEqual({ ...s.state(), firstTs: 0n, lastTs: 0n }, { msgs: 0, bytes: 0, firstSeq: 0, firstTs: 0n, lastSeq: 0, lastTs: 0n, numDeleted: 0, numSubjects: 0 });
      for (let i = 0; i < 5; i++) assert.equal(s.store(i % 2 ? 'c.even' : 'c.odd', null, b('hi')).seq, i + 1);
      const st = s.state();
      assert.equal(st.msgs, 5);
      // the reference probe: five 2-byte payloads on c.odd/c.even -> 187 bytes in a file stream
      if (k.name === 'file') assert.equal(st.bytes, 187);
      else assert.equal(st.bytes, 3 * memMsgSize('c.odd', null, b('hi')) + 2 * memMsgSize('c.even', null, b('hi')));
      assert.equal(st.firstSeq, 1);
      assert.equal(st.lastSeq, 5);
      assert.equal(st.numSubjects, 2);
      assert.ok(st.firstTs > 0n && st.lastTs >= st.firstTs);
      const hdr = b('NATS/1.0\r\nA: 1\r\n\r\n');
      const r = s.store('h', hdr, b('data'), 123n);
      assert.deepEqual(r, { seq: 6, ts: 123n });
      const m = s.load(6)!;
      assert.equal(m.subject, 'h');
      assert.deepEqual(m.hdr, hdr);
      assert.deepEqual(m.data, b('data'));
      assert.equal(m.ts, 123n);
      assert.equal(s.load(7), undefined);
      assert.equal(s.load(0), undefined);
      if (k.name === 'file') assert.equal(s.state().bytes, 187 + fileMsgSize('h', hdr, b('data')));
      await s.close();
      assert.equal(code(() => s.store('x', null, b(''))), 'store_closed');
    });

    it('max_msgs with discard old evicts the oldest and reports them', async () => {
      const s = k.open({ maxMsgs: 3 });
      const removed: number[] = [];
      s.onRemove = (seq) => removed.push(seq);
      fill(s, ['a'], 5);
      assert.deepEqual(seqs(s), [3, 4, 5]);
      assert.deepEqual(removed, [1, 2]);
      assert.equal(s.state().firstSeq, 3);
      await s.close();
    });

    it('discard new refuses at max_msgs and max_bytes (>= with raw size)', async () => {
      const s = k.open({ maxMsgs: 2, discard: 'new' });
      fill(s, ['a'], 2);
      assert.equal(code(() => s.store('a', null, b('x'))), 'max_msgs');
      assert.equal(s.state().msgs, 2);
      await s.close();
      // nats-server: bytes + raw size >= max_bytes refuses (probe: max_bytes 100, 40-byte payloads on a file stream)
      const one = (k.name === 'file' ? fileMsgSize : memMsgSize)('a', null, Buffer.alloc(40));
      for (const [limit, ok] of [[k.name === 'file' ? 100 : one + 40, false], [one + 41, true]] as const) {
        const sb = k.open({ maxBytes: limit, discard: 'new' });
        sb.store('a', null, Buffer.alloc(40));
        assert.equal(code(() => sb.store('a', null, Buffer.alloc(40))), ok ? undefined : 'max_bytes', `limit ${limit}`);
        await sb.close();
      }
    });

    it('max_msg_size', async () => {
      const s = k.open({ maxMsgSize: 10 });
      s.store('a', null, Buffer.alloc(10));
      assert.equal(code(() => s.store('a', null, Buffer.alloc(11))), 'max_msg_size');
      await s.close();
    });

    it('max_msgs_per_subject keeps the newest per subject; discard new replaces unless per-subject', async () => {
      const s = k.open({ maxMsgsPerSubject: 2 });
      fill(s, ['a', 'b'], 8);
      assert.deepEqual(seqs(s), [5, 6, 7, 8]);
      assert.deepEqual([...s.subjectsState('>')].sort(), [['a', 2], ['b', 2]]);
      await s.close();
      // KV history: at max_msgs with discard new, a subject at its limit replaces its oldest
      const kv = k.open({ maxMsgsPerSubject: 1, maxMsgs: 2, discard: 'new' });
      kv.store('k1', null, b('1'));
      kv.store('k2', null, b('1'));
      assert.equal(code(() => kv.store('k3', null, b('1'))), 'max_msgs');
      assert.equal(kv.store('k1', null, b('2')).seq, 3);
      assert.deepEqual(seqs(kv), [2, 3]);
      await kv.close();
      const per = k.open({ maxMsgsPerSubject: 1, discard: 'new', discardNewPerSubject: true });
      per.store('k1', null, b('1'));
      assert.equal(code(() => per.store('k1', null, b('2'))), 'max_msgs_per_subject');
      await per.close();
    });

    it('max_bytes with discard old evicts until under the limit', async () => {
      const s = k.open({ maxBytes: 200 });
      fill(s, ['abc'], 20);
      const st = s.state();
      assert.ok(st.bytes <= 200, `bytes ${st.bytes}`);
      assert.equal(st.lastSeq, 20);
      assert.deepEqual(seqs(s), Array.from({ length: st.msgs }, (_, i) => 21 - st.msgs + i));
      await s.close();
    });

    it('interior deletes: remove, deleted(), num_deleted, first moves on', async () => {
      const s = k.open();
      fill(s, ['a', 'b', 'c'], 10);
      assert.equal(s.remove(3), true);
      assert.equal(s.remove(3), false);
      assert.equal(s.remove(5), true);
      assert.equal(s.remove(99), false);
      assert.deepEqual(s.deleted(), [3, 5]);
      assert.equal(s.state().numDeleted, 2);
      assert.equal(s.remove(1), true);
      assert.equal(s.remove(2), true);
      assert.equal(s.state().firstSeq, 4);
      assert.deepEqual(s.deleted(), [5]);
      assert.equal(s.load(3), undefined);
      await s.close();
    });

    it('purge: all, by subject, keep, up to sequence', async () => {
      let s = k.open();
      fill(s, ['a', 'b'], 10);
      assert.equal(s.purge(), 10);
      let st = s.state();
      assert.equal(st.msgs, 0);
      assert.equal(st.firstSeq, 11);
      assert.equal(st.lastSeq, 10);
      assert.equal(st.firstTs, 0n);
      assert.equal(s.store('a', null, b('x')).seq, 11);
      await s.close();

      s = k.open();
      fill(s, ['a', 'b'], 10);
      assert.equal(s.purge({ subject: 'a' }), 5);
      assert.deepEqual(seqs(s), [2, 4, 6, 8, 10]);
      assert.equal(s.purge({ subject: 'b', keep: 2 }), 3);
      assert.deepEqual(seqs(s), [8, 10]);
      await s.close();

      s = k.open();
      fill(s, ['x.a', 'x.b', 'y'], 12);
      assert.equal(s.purge({ subject: 'x.*', seq: 7 }), 4);
      assert.deepEqual(seqs(s), [3, 6, 7, 8, 9, 10, 11, 12]);
      assert.equal(s.purge({ seq: 9 }), 4);
      assert.deepEqual(seqs(s), [9, 10, 11, 12]);
      assert.equal(s.purge({ keep: 2 }), 2);
      assert.deepEqual(seqs(s), [11, 12]);
      assert.equal(s.purge({ keep: 5 }), 0);
      assert.equal(code(() => s.purge({ seq: 5, keep: 1 })), 'bad_request');
      await s.close();
    });

    it('compact, including past the end', async () => {
      const s = k.open();
      fill(s, ['a'], 10);
      assert.equal(s.compact(4), 3);
      assert.equal(s.state().firstSeq, 4);
      assert.equal(s.compact(100), 7);
      const st = s.state();
      assert.equal(st.msgs, 0);
      assert.equal(st.firstSeq, 100);
      assert.equal(st.lastSeq, 99);
      assert.equal(s.store('a', null, b('x')).seq, 100);
      await s.close();
    });

    it('filters: loadNext / loadLast with literals, * and >', async () => {
      const s = k.open();
      const subs = ['foo.a', 'foo.b', 'bar.a', 'foo.a.x'];
      fill(s, subs, 12);
      assert.deepEqual(seqs(s, 'foo.a'), [1, 5, 9]);
      assert.deepEqual(seqs(s, 'foo.*'), [1, 2, 5, 6, 9, 10]);
      assert.deepEqual(seqs(s, 'foo.>'), [1, 2, 4, 5, 6, 8, 9, 10, 12]);
      assert.deepEqual(seqs(s, '*.a'), [1, 3, 5, 7, 9, 11]);
      assert.deepEqual(seqs(s, ''), seqs(s, '>'));
      assert.equal(s.loadNext('nope', 0), undefined);
      assert.equal(s.loadNext('foo.a', 10), undefined);
      assert.equal(s.loadLast('foo.*')!.seq, 10);
      assert.equal(s.loadLast('bar.a')!.seq, 11);
      assert.equal(s.loadLast('>')!.seq, 12);
      assert.equal(s.loadLast('zzz'), undefined);
      s.remove(9);
      s.remove(12);
      assert.equal(s.loadLast('foo.a')!.seq, 5);
      assert.equal(s.loadLast('>')!.seq, 11);
      s.remove(1);
      assert.equal(s.loadNext('foo.a', 0)!.seq, 5);
      await s.close();
    });

    it('wildcard filters over many subjects (KV-style keys)', async () => {
      const s = k.open({ maxMsgsPerSubject: 2 });
      for (let i = 0; i < 600; i++) s.store(`$KV.b.${i % 150 < 75 ? 'x' : 'y'}.k${i % 150}`, null, b(String(i)));
      assert.equal(s.state().msgs, 300);
      const xs = seqs(s, '$KV.b.x.>');
      assert.equal(xs.length, 150);
      assert.ok(xs.every((q) => (q - 1) % 150 < 75));
      assert.equal(s.numPending('$KV.b.x.*', 0, true), 75);
      assert.equal(s.numPending('$KV.b.>', 451, false), 150);
      assert.equal(s.loadLast('$KV.b.x.*')!.seq, 525);
      assert.equal(s.purge({ subject: '$KV.b.y.>', keep: 10 }), 140);
      assert.equal(s.numPending('$KV.b.y.>', 0, false), 10);
      await s.close();
    });

    it('numPending: all, filtered, from a sequence, last per subject', async () => {
      const s = k.open();
      fill(s, ['a.1', 'a.2', 'b.1'], 9);
      s.remove(4);
      assert.equal(s.numPending('>', 0, false), 8);
      assert.equal(s.numPending('>', 5, false), 5);
      assert.equal(s.numPending('>', 9, false), 1);
      assert.equal(s.numPending('>', 10, false), 0);
      assert.equal(s.numPending('a.*', 0, false), 5);
      assert.equal(s.numPending('a.1', 2, false), 1);
      assert.equal(s.numPending('a.*', 5, false), 3);
      assert.equal(s.numPending('>', 0, true), 3);
      assert.equal(s.numPending('a.*', 0, true), 2);
      assert.equal(s.numPending('>', 9, true), 1);
      assert.equal(s.numPending('b.1', 0, true), 1);
      await s.close();
    });

    it('subjectsState and seqFromTime', async () => {
      const s = k.open();
      for (let i = 1; i <= 10; i++) s.store(i <= 5 ? 'x' : 'y', null, b(''), BigInt(i * 1000));
      assert.deepEqual(s.subjectsState('x'), new Map([['x', 5]]));
      assert.equal(s.subjectsState('>').size, 2);
      assert.equal(s.seqFromTime(0n), 1);
      assert.equal(s.seqFromTime(3500n), 4);
      assert.equal(s.seqFromTime(10_000n), 10);
      assert.equal(s.seqFromTime(10_001n), 11);
      s.remove(4);
      assert.equal(s.seqFromTime(3500n), 5);
      await s.close();
    });

    it('skipTo moves the sequence forward', async () => {
      const s = k.open();
      fill(s, ['a'], 2);
      s.skipTo(10);
      assert.equal(s.state().lastSeq, 10);
      assert.equal(s.store('a', null, b('x')).seq, 11);
      assert.deepEqual(s.deleted().length, 8);
      await s.close();
    });

    it('max_age expires messages on a timer', async () => {
      const s = k.open({ maxAgeNs: 80_000_000n });
      const removed: number[] = [];
      s.onRemove = (seq) => removed.push(seq);
      fill(s, ['a'], 3);
      await new Promise((r) => setTimeout(r, 40));
      fill(s, ['a'], 2);
      await new Promise((r) => setTimeout(r, 70));
      assert.deepEqual(seqs(s), [4, 5]);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(s.state().msgs, 0);
      assert.equal(s.state().firstSeq, 6);
      assert.deepEqual(removed, [1, 2, 3, 4, 5]);
      await s.close();
    });

    it('updateLimits enforces new limits at once', async () => {
      const s = k.open();
      fill(s, ['a', 'b'], 10);
      s.updateLimits({ maxMsgs: 4, maxBytes: -1, maxAgeNs: 0n, maxMsgsPerSubject: -1, maxMsgSize: -1, discard: 'old', discardNewPerSubject: false });
      assert.deepEqual(seqs(s), [7, 8, 9, 10]);
      s.updateLimits({ maxMsgs: -1, maxBytes: -1, maxAgeNs: 0n, maxMsgsPerSubject: 1, maxMsgSize: -1, discard: 'old', discardNewPerSubject: false });
      assert.deepEqual(seqs(s), [9, 10]);
      await s.close();
    });

    if (k.reopen) {
      it('recovers messages, deletes, purges and sequences after reopen', async () => {
        let s = k.open();
        fill(s, ['a', 'b', 'c'], 60);
        s.remove(10);
        s.remove(1);
        s.purge({ subject: 'c' });
        s = await k.reopen!(s);
        const before = seqs(s);
        assert.equal(before.includes(10), false);
        assert.equal(before.includes(3), false);
        assert.equal(s.state().firstSeq, 2);
        assert.equal(s.state().lastSeq, 60);
        s.compact(30);
        s = await k.reopen!(s);
        assert.equal(s.state().firstSeq, 31);
        assert.deepEqual(s.deleted(), [33, 36, 39, 42, 45, 48, 51, 54, 57, 60]);
        s.purge();
        s = await k.reopen!(s);
        assert.deepEqual({ m: s.state().msgs, f: s.state().firstSeq, l: s.state().lastSeq }, { m: 0, f: 61, l: 60 });
        assert.equal(s.store('z', null, b('z')).seq, 61);
        s.compact(200);
        s = await k.reopen!(s);
        assert.equal(s.store('z', null, b('z')).seq, 200);
        await s.close();
      });

      it('keeps limit evictions after reopen (floors survive block removal)', async () => {
        let s = k.open({ maxMsgs: 5 });
        fill(s, ['a', 'b'], 200);
        s.remove(198);
        s = await k.reopen!(s, { maxMsgs: 5 });
        assert.deepEqual(seqs(s), [196, 197, 199, 200]);
        fill(s, ['a'], 3);
        s = await k.reopen!(s, { maxMsgs: 5 });
        assert.deepEqual(seqs(s), [199, 200, 201, 202, 203]);
        await s.close();
      });
    }
  });
}
