// Property tests: random operation sequences against a simple model, for both stores
// (FileStore also closes and recovers at random points).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StoreError, fileMsgSize, memMsgSize, subjectMatches, type MsgStore, type StoreLimits } from '../../../src/jetstream/store/index.js';
import { kinds } from './helpers.js';

const SUBJECTS = ['a', 'a.x', 'b.x', 'b.y', 'c.d.e'];
const FILTERS = ['>', 'a', 'a.*', '*.x', 'b.>', 'c.*.e', 'zz'];

class Model {
  m = new Map<number, { subject: string; size: number }>();
  last = 0;
  firstOverride = 0;
  constructor(
    public l: StoreLimits,
    public sizeOf: (subject: string, len: number) => number,
  ) {}
  live(): number[] {
    return [...this.m.keys()].sort((x, y) => x - y);
  }
  first(): number {
    const lv = this.live();
    if (lv.length) return lv[0];
    return this.last === 0 ? 0 : this.last + 1;
  }
  bytes(): number {
    let n = 0;
    for (const v of this.m.values()) n += v.size;
    return n;
  }
  count(subject: string): number {
    let n = 0;
    for (const v of this.m.values()) if (v.subject === subject) n++;
    return n;
  }
  store(subject: string, len: number): string | number {
    const l = this.l;
    if (l.maxMsgSize > 0 && len > l.maxMsgSize) return 'max_msg_size';
    const asl = l.maxMsgsPerSubject > 0 && this.count(subject) >= l.maxMsgsPerSubject;
    if (l.discard === 'new') {
      if (asl && l.discardNewPerSubject) return 'max_msgs_per_subject';
      if (l.maxMsgs > 0 && this.m.size >= l.maxMsgs && !asl) return 'max_msgs';
      if (l.maxBytes > 0 && this.bytes() + len >= l.maxBytes) {
        if (!asl) return 'max_bytes';
        const f = this.live().find((s) => this.m.get(s)!.subject === subject)!;
        if (this.m.get(f)!.size < len) return 'max_bytes';
      }
    }
    const seq = ++this.last;
    this.m.set(seq, { subject, size: this.sizeOf(subject, len) });
    if (l.maxMsgsPerSubject > 0) {
      for (const s of this.live()) {
        if (this.count(subject) <= l.maxMsgsPerSubject) break;
        if (this.m.get(s)!.subject === subject) this.m.delete(s);
      }
    }
    while (this.m.size > 0 && ((l.maxMsgs > 0 && this.m.size > l.maxMsgs) || (l.maxBytes > 0 && this.bytes() > l.maxBytes))) {
      this.m.delete(this.live()[0]);
    }
    return seq;
  }
  remove(seq: number): boolean {
    return this.m.delete(seq);
  }
  purgeAll(): number {
    const n = this.m.size;
    this.m.clear();
    return n;
  }
  compact(seq: number): number {
    if (seq <= 0) return this.purgeAll();
    if (seq <= this.first()) return 0;
    if (seq > this.last) {
      const n = this.purgeAll();
      if (seq - 1 > this.last) this.last = seq - 1;
      return n;
    }
    let n = 0;
    for (const s of this.live()) if (s < seq) n += this.m.delete(s) ? 1 : 0;
    return n;
  }
  purge(subject: string, seq: number, keep: number): number {
    if (subject === '' || subject === '>') {
      if (keep === 0 && seq <= 1) return this.purgeAll();
      if (seq > 1) return this.compact(seq);
      if (keep >= this.m.size) return 0;
      return this.compact(this.last - keep + 1);
    }
    const match = this.live().filter((s) => subjectMatches(this.m.get(s)!.subject, subject));
    let want = match.length;
    if (keep > 0) {
      if (keep >= want) return 0;
      want -= keep;
    }
    let n = 0;
    for (const s of match) {
      if (n >= want || (seq > 1 && s >= seq)) break;
      this.m.delete(s);
      n++;
    }
    return n;
  }
  numPending(filter: string, from: number, lp: boolean): number {
    const f = Math.max(from, this.first(), 1);
    if (!lp) return this.live().filter((s) => s >= f && subjectMatches(this.m.get(s)!.subject, filter)).length;
    const lastBy = new Map<string, number>();
    for (const s of this.live()) if (subjectMatches(this.m.get(s)!.subject, filter)) lastBy.set(this.m.get(s)!.subject, s);
    return [...lastBy.values()].filter((s) => s >= f).length;
  }
}

type Op =
  | { t: 'store'; subj: number; len: number }
  | { t: 'remove'; back: number }
  | { t: 'purge'; filter: number; seq: number; keep: number }
  | { t: 'compact'; back: number }
  | { t: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('store' as const), subj: fc.nat(SUBJECTS.length - 1), len: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), back: fc.nat(30) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('purge' as const), filter: fc.nat(FILTERS.length - 1), seq: fc.oneof(fc.constant(0), fc.nat(40)), keep: fc.oneof(fc.constant(0), fc.nat(5)) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), back: fc.integer({ min: -5, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const) }) },
);

const limitsArb: fc.Arbitrary<StoreLimits> = fc.record({
  maxMsgs: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 20 })),
  maxBytes: fc.oneof(fc.constant(-1), fc.integer({ min: 100, max: 1500 })),
  maxAgeNs: fc.constant(0n),
  maxMsgsPerSubject: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 4 })),
  maxMsgSize: fc.oneof(fc.constant(-1), fc.integer({ min: 10, max: 40 })),
  discard: fc.constantFrom('old' as const, 'new' as const),
  discardNewPerSubject: fc.boolean(),
});

const ks = kinds();
after(() => ks.forEach((k) => k.cleanup()));

function check(s: MsgStore, m: Model, from: number, ctx: string): void {
  const st = s.state();
  const live = m.live();
  assert.equal(st.msgs, live.length, `msgs ${ctx}`);
  assert.equal(st.lastSeq, m.last, `last ${ctx}`);
  assert.equal(st.firstSeq, m.first(), `first ${ctx}`);
  assert.equal(st.bytes, m.bytes(), `bytes ${ctx}`);
  const got: number[] = [];
  for (let x = s.loadNext('>', 0); x; x = s.loadNext('>', x.seq + 1)) got.push(x.seq);
  assert.deepEqual(got, live, `seqs ${ctx}`);
  const del: number[] = [];
  if (live.length) for (let q = live[0]; q <= m.last; q++) if (!m.m.has(q)) del.push(q);
  assert.deepEqual(s.deleted(), del, `deleted ${ctx}`);
  assert.equal(st.numDeleted, del.length, `numDeleted ${ctx}`);
  for (const f of FILTERS) {
    for (const lp of [false, true]) assert.equal(s.numPending(f, from, lp), m.numPending(f, from, lp), `numPending ${f} ${from} ${lp} ${ctx}`);
    const lastM = [...live].reverse().find((q) => subjectMatches(m.m.get(q)!.subject, f));
    assert.equal(s.loadLast(f)?.seq, lastM, `loadLast ${f} ${ctx}`);
    const nextM = live.find((q) => q >= from && subjectMatches(m.m.get(q)!.subject, f));
    assert.equal(s.loadNext(f, from)?.seq, nextM, `loadNext ${f} ${from} ${ctx}`);
  }
  const subjCounts = new Map<string, number>();
  for (const q of live) subjCounts.set(m.m.get(q)!.subject, (subjCounts.get(m.m.get(q)!.subject) ?? 0) + 1);
  assert.deepEqual(new Map([...s.subjectsState('>')].sort()), new Map([...subjCounts].sort()), `subjects ${ctx}`);
}

for (const k of ks) {
  describe(`${k.name} store against a model`, () => {
    it('random operations keep state, filters, pending counts and deletes in line', async () => {
      await fc.assert(
        fc.asyncProperty(limitsArb, fc.array(opArb, { maxLength: Number(process.env.STORE_PROP_OPS ?? 60) }), fc.nat(50), async (limits, ops, from) => {
          const sizeOf = (subj: string, len: number) =>
            (k.name === 'file' ? fileMsgSize : memMsgSize)(subj, null, Buffer.alloc(len));
          const model = new Model(limits, sizeOf);
          let s = k.open(limits);
          try {
            for (const [i, op] of ops.entries()) {
              const ctx = `op ${i} ${JSON.stringify(op)}`;
              if (op.t === 'store') {
                const want = model.store(SUBJECTS[op.subj], op.len);
                let got: string | number;
                try {
                  got = s.store(SUBJECTS[op.subj], null, Buffer.alloc(op.len, 7)).seq;
                } catch (e) {
                  if (!(e instanceof StoreError)) throw e;
                  got = e.code;
                }
                assert.equal(got, want, ctx);
              } else if (op.t === 'remove') {
                const seq = model.last - op.back;
                assert.equal(s.remove(seq, op.back % 2 === 0), model.remove(seq), ctx);
              } else if (op.t === 'purge') {
                let { seq, keep } = op;
                if (seq > 1 && keep > 0) keep = 0;
                assert.equal(s.purge({ subject: FILTERS[op.filter], seq, keep }), model.purge(FILTERS[op.filter], seq, keep), ctx);
              } else if (op.t === 'compact') {
                const seq = model.last - op.back;
                assert.equal(s.compact(seq), model.compact(seq), ctx);
              } else if (op.t === 'reopen' && k.reopen) {
                s = await k.reopen(s, limits);
              }
              check(s, model, from, ctx);
            }
          } finally {
            await s.close();
          }
        }),
        { numRuns: Number(process.env.STORE_PROP_RUNS ?? (k.name === 'file' ? 150 : 300)) },
      );
    });
  });
}
