import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  isLiteral,
  isValidLiteralSubject,
  isValidQueueName,
  isValidSubject,
  matchLiteral,
  SubjectIndex,
  subjectIsSubsetOf,
} from '../../src/server/subjects.js';

interface Sub {
  subject: string;
  queue?: string;
  id: number;
}
let nextId = 0;
const sub = (subject: string, queue?: string): Sub => (queue === undefined ? { subject, id: nextId++ } : { subject, queue, id: nextId++ });
const ids = (a: readonly Sub[]) => a.map((s) => s.id).sort((x, y) => x - y);

describe('subject validation', () => {
  it('isValidSubject', () => {
    for (const ok of ['foo', 'foo.bar', '*', '>', 'foo.*', 'foo.>', '*.*.>', 'foo*', 'f>o', 'foo.*bar', '>foo', 'a.b.c.d.e', 'f\x01o', '$SYS.x', 'é']) {
      assert.equal(isValidSubject(ok), true, JSON.stringify(ok));
    }
    for (const bad of ['', '.', 'foo.', '.foo', 'foo..bar', '>.foo', 'foo.>.bar', 'foo bar', 'foo\tbar', 'foo\r', 'a.\n', 'foo\fbar', ' ', '\f']) {
      assert.equal(isValidSubject(bad), false, JSON.stringify(bad));
    }
  });

  it('isValidLiteralSubject', () => {
    for (const ok of ['foo', 'foo.bar', 'foo*', 'f>o', '_INBOX.abc.def']) assert.equal(isValidLiteralSubject(ok), true, ok);
    for (const bad of ['*', '>', 'foo.*', 'foo.>', '*.foo', 'foo..bar', '']) assert.equal(isValidLiteralSubject(bad), false, bad);
  });

  it('isLiteral', () => {
    assert.equal(isLiteral('foo.bar'), true);
    assert.equal(isLiteral('foo*.b>'), true);
    assert.equal(isLiteral('foo.*'), false);
    assert.equal(isLiteral('>'), false);
    assert.equal(isLiteral('*.a'), false);
  });

  it('isValidQueueName', () => {
    for (const ok of ['q', 'q.*', '>', 'group-1', 'q\x01']) assert.equal(isValidQueueName(ok), true, ok);
    for (const bad of ['', 'a b', 'a\tb', 'a\r', '\n', 'a\fb']) assert.equal(isValidQueueName(bad), false, JSON.stringify(bad));
  });
});

describe('matchLiteral', () => {
  const yes: [string, string][] = [
    ['foo', 'foo'],
    ['foo.bar', 'foo.*'],
    ['foo.bar', 'foo.>'],
    ['foo.bar.baz', 'foo.>'],
    ['foo.bar.baz', '*.bar.*'],
    ['foo.bar', '>'],
    ['foo', '*'],
    ['foo.*', 'foo.*'], // a wildcard char in the subject is an ordinary token here
    ['foo.*', 'foo.>'],
    ['a.b', 'a.b'],
  ];
  const no: [string, string][] = [
    ['foo', 'bar'],
    ['foo', 'foo.>'],
    ['foo.bar', 'foo'],
    ['foo.bar', '*'],
    ['foo.bar.baz', 'foo.*'],
    ['foo.bar', 'foo.baz'],
    ['foo.bar', 'foo.ba'],
    ['foo.ba', 'foo.bar'],
    ['fo', 'foo'],
    ['foo..bar', 'foo.*.bar'],
    ['foo..bar', 'foo.>'],
    ['foo.', 'foo.>'],
    ['.foo', '*.foo'],
    ['', '>'],
    ['foo', ''],
    ['foo.*', 'foo.bar'],
  ];
  for (const [s, f] of yes) it(`${s} matches ${f}`, () => assert.equal(matchLiteral(s, f), true));
  for (const [s, f] of no) it(`${JSON.stringify(s)} does not match ${JSON.stringify(f)}`, () => assert.equal(matchLiteral(s, f), false));
});

describe('subjectIsSubsetOf', () => {
  const yes: [string, string][] = [
    ['foo', 'foo'],
    ['foo.bar', 'foo.*'],
    ['foo.*', 'foo.*'],
    ['foo.*', 'foo.>'],
    ['foo.>', 'foo.>'],
    ['foo.*.baz', 'foo.>'],
    ['foo.*', '*.*'],
    ['foo.>', '>'],
    ['*', '*'],
    ['*', '>'],
    ['foo.bar.baz', 'foo.>'],
  ];
  const no: [string, string][] = [
    ['foo.>', 'foo.*'],
    ['*', 'foo'],
    ['foo.*', 'foo.bar'],
    ['>', '*'],
    ['foo', 'foo.>'],
    ['foo.bar', 'foo'],
    ['foo.*', 'bar.*'],
    ['foo.>', 'foo.*.>'],
    ['', '>'],
    ['foo..bar', 'foo.>'],
  ];
  for (const [s, f] of yes) it(`${s} within ${f}`, () => assert.equal(subjectIsSubsetOf(s, f), true));
  for (const [s, f] of no) it(`${JSON.stringify(s)} not within ${f}`, () => assert.equal(subjectIsSubsetOf(s, f), false));
});

describe('SubjectIndex', () => {
  it('matches literal, * and > filters', () => {
    const idx = new SubjectIndex<Sub>();
    const a = sub('foo.bar');
    const b = sub('foo.*');
    const c = sub('foo.>');
    const d = sub('>');
    const e = sub('*.bar');
    const f = sub('foo');
    const g = sub('foo.bar.baz');
    for (const s of [a, b, c, d, e, f, g]) assert.equal(idx.insert(s), true);
    assert.equal(idx.count, 7);
    assert.deepEqual(ids(idx.match('foo.bar').plain), ids([a, b, c, d, e]));
    assert.deepEqual(ids(idx.match('foo').plain), ids([d, f]));
    assert.deepEqual(ids(idx.match('foo.bar.baz').plain), ids([c, d, g]));
    assert.deepEqual(ids(idx.match('x.bar').plain), ids([d, e]));
    assert.deepEqual(ids(idx.match('x').plain), ids([d]));
    assert.deepEqual(idx.match('foo.bar').queues, []);
  });

  it('wildcard characters in a published subject match only wildcard filters', () => {
    const idx = new SubjectIndex<Sub>();
    const lit = sub('foo.bar');
    const pwc = sub('foo.*');
    const fwc = sub('foo.>');
    [lit, pwc, fwc].forEach((s) => idx.insert(s));
    assert.deepEqual(ids(idx.match('foo.*').plain), ids([pwc, fwc]));
    assert.deepEqual(ids(idx.match('foo.>').plain), ids([pwc, fwc]));
  });

  it('subjects with empty tokens match nothing', () => {
    const idx = new SubjectIndex<Sub>();
    idx.insert(sub('>'));
    idx.insert(sub('*.*'));
    for (const s of ['', '.', 'a.', '.a', 'a..b']) assert.deepEqual(idx.match(s).plain, [], JSON.stringify(s));
  });

  it('groups queue subscriptions by name, across filters', () => {
    const idx = new SubjectIndex<Sub>();
    const q1a = sub('foo.bar', 'q1');
    const q1b = sub('foo.*', 'q1');
    const q2 = sub('foo.>', 'q2');
    const p = sub('foo.bar');
    [q1a, q1b, q2, p].forEach((s) => idx.insert(s));
    const r = idx.match('foo.bar');
    assert.deepEqual(ids(r.plain), ids([p]));
    const groups = new Map(r.queues.map((g) => [g[0]!.queue, ids(g)]));
    assert.deepEqual(groups, new Map([['q1', ids([q1a, q1b])], ['q2', ids([q2])]]));
    // Empty-string queue is a plain subscription.
    const e = sub('foo.bar', '');
    idx.insert(e);
    assert.deepEqual(ids(idx.match('foo.bar').plain), ids([p, e]));
  });

  it('insert/remove edge cases', () => {
    const idx = new SubjectIndex<Sub>();
    const a = sub('a.b');
    assert.equal(idx.insert(a), true);
    assert.equal(idx.insert(a), false, 'already there');
    assert.equal(idx.insert(sub('a..b')), false, 'invalid');
    assert.equal(idx.insert(sub('a.>.b')), false, 'invalid');
    assert.equal(idx.remove(sub('a.b')), false, 'another object');
    assert.equal(idx.remove(sub('x.y')), false);
    assert.equal(idx.remove(sub('a.b', 'q')), false);
    assert.equal(idx.count, 1);
    const g0 = idx.generation;
    assert.equal(idx.remove(a), true);
    assert.equal(idx.remove(a), false);
    assert.equal(idx.count, 0);
    assert.ok(idx.generation > g0);
    assert.deepEqual(idx.match('a.b').plain, []);
  });

  it('returned results are snapshots: inserts and removes during iteration do not affect them', () => {
    const idx = new SubjectIndex<Sub>();
    const subs = [sub('foo'), sub('*'), sub('>'), sub('foo', 'q'), sub('*', 'q')];
    subs.forEach((s) => idx.insert(s));
    const r = idx.match('foo');
    const seen: number[] = [];
    for (const s of r.plain) {
      seen.push(s.id);
      idx.remove(s);
      idx.insert(sub('foo'));
      idx.insert(sub('foo', 'q'));
    }
    assert.deepEqual(seen.sort((x, y) => x - y), ids(subs.slice(0, 3)));
    assert.equal(r.plain.length, 3);
    assert.equal(r.queues.length, 1);
    assert.equal(r.queues[0]!.length, 2);
    // The cache was updated, not the snapshot.
    const r2 = idx.match('foo');
    assert.equal(r2.plain.length, 3);
    assert.equal(r2.queues[0]!.length, 2 + 3);
  });

  it('cache: hits, precise updates, bounded size, stats', () => {
    const idx = new SubjectIndex<Sub>({ cacheMax: 16 });
    const a = sub('foo.bar');
    idx.insert(a);
    idx.match('foo.bar');
    idx.match('foo.bar');
    idx.match('other');
    let st = idx.stats();
    assert.equal(st.num_matches, 3);
    assert.equal(st.num_cache, 2);
    assert.equal(st.cache_hit_rate, 1 / 3);
    // A literal insert updates only its own cached subject.
    const b = sub('foo.bar');
    idx.insert(b);
    assert.deepEqual(ids(idx.match('foo.bar').plain), ids([a, b]));
    // A wildcard insert updates every cached subject it matches, and only those.
    const w = sub('*', 'g');
    idx.insert(w);
    assert.deepEqual(idx.match('other').queues.map(ids), [[w.id]]);
    assert.deepEqual(idx.match('foo.bar').queues, []);
    idx.remove(w);
    assert.deepEqual(idx.match('other').queues, []);
    st = idx.stats();
    assert.equal(st.num_inserts, 3);
    assert.equal(st.num_removes, 1);
    assert.equal(st.num_subscriptions, 2);
    assert.equal(st.max_fanout, 2);
    assert.equal(st.avg_fanout, 1);
    for (let k = 0; k < 100; k++) idx.match(`s.${k}`);
    assert.ok(idx.stats().num_cache <= 16);
    assert.deepEqual(ids(idx.match('foo.bar').plain), ids([a, b]));
  });

  it('stats of an empty index', () => {
    assert.deepEqual(new SubjectIndex<Sub>().stats(), {
      num_subscriptions: 0,
      num_cache: 0,
      num_inserts: 0,
      num_removes: 0,
      num_matches: 0,
      cache_hit_rate: 0,
      max_fanout: 0,
      avg_fanout: 0,
    });
  });

  it('deep subjects', () => {
    const idx = new SubjectIndex<Sub>();
    const deep = Array.from({ length: 2000 }, (_, k) => `t${k}`).join('.');
    const s1 = sub(deep);
    const s2 = sub(deep.replace(/\.t1999$/, '.*'));
    idx.insert(s1);
    idx.insert(s2);
    assert.deepEqual(ids(idx.match(deep).plain), ids([s1, s2]));
    assert.equal(idx.remove(s1), true);
    assert.deepEqual(ids(idx.match(deep).plain), ids([s2]));
  });
});
