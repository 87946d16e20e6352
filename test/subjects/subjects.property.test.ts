import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidSubject, matchLiteral, SubjectIndex, subjectIsSubsetOf, type MatchResult } from '../../src/server/subjects.js';

// ---- a brute-force reference matcher, written independently of the implementation

function refMatch(subject: string, filter: string): boolean {
  const s = subject.split('.');
  const f = filter.split('.');
  if (s.some((t) => t === '') || f.some((t) => t === '')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return s.length === f.length;
}

interface Sub {
  subject: string;
  queue?: string;
  id: number;
}

/** Canonical form of a match: sorted plain ids, and queue name -> sorted ids. */
function canon(r: MatchResult<Sub>): { plain: number[]; queues: [string, number[]][] } {
  const plain = r.plain.map((s) => s.id).sort((a, b) => a - b);
  const queues = r.queues
    .map((g): [string, number[]] => {
      const names = new Set(g.map((s) => s.queue));
      assert.equal(names.size, 1, 'a group holds one queue name');
      return [g[0]!.queue!, g.map((s) => s.id).sort((a, b) => a - b)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  assert.equal(new Set(queues.map((q) => q[0])).size, queues.length, 'one group per name');
  return { plain, queues };
}

function refResult(subs: Iterable<Sub>, subject: string): ReturnType<typeof canon> {
  const plain: number[] = [];
  const groups = new Map<string, number[]>();
  for (const s of subs) {
    if (!refMatch(subject, s.subject)) continue;
    if (s.queue === undefined) plain.push(s.id);
    else {
      const g = groups.get(s.queue) ?? [];
      g.push(s.id);
      groups.set(s.queue, g);
    }
  }
  return {
    plain: plain.sort((a, b) => a - b),
    queues: [...groups.entries()].map(([k, v]): [string, number[]] => [k, v.sort((a, b) => a - b)]).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
  };
}

// Small alphabets so that filters and subjects collide often.
const litToken = fc.constantFrom('a', 'b', 'c', 'ab');
const filterToken = fc.constantFrom('a', 'b', 'ab', '*', '*', '>');
const literal = fc.array(litToken, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
/** Filters (`>` only last), plus some published subjects holding wildcard characters or empty tokens. */
const filter = fc
  .array(filterToken, { minLength: 1, maxLength: 4 })
  .map((t) => t.map((x, k) => (x === '>' && k < t.length - 1 ? '*' : x)).join('.'));
const subjectToMatch = fc.oneof(
  { weight: 6, arbitrary: literal },
  { weight: 1, arbitrary: filter },
  { weight: 1, arbitrary: fc.constantFrom('a..b', '.a', 'a.', '', 'a.*b', '>a') },
);

type Action = { kind: 'insert'; subject: string; queue?: string } | { kind: 'remove'; pick: number } | { kind: 'match'; subject: string };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(filter, fc.option(fc.constantFrom('q1', 'q2'), { nil: undefined }))
      .map(([subject, queue]): Action => (queue === undefined ? { kind: 'insert', subject } : { kind: 'insert', subject, queue })),
  },
  { weight: 2, arbitrary: fc.nat().map((pick): Action => ({ kind: 'remove', pick })) },
  { weight: 4, arbitrary: subjectToMatch.map((subject): Action => ({ kind: 'match', subject })) },
);

function runActions(actions: Action[], cacheMax: number): void {
  const idx = new SubjectIndex<Sub>({ cacheMax });
  const live: Sub[] = [];
  const matched = new Set<string>();
  let id = 0;
  for (const a of actions) {
    if (a.kind === 'insert') {
      const s: Sub = a.queue === undefined ? { subject: a.subject, id: id++ } : { subject: a.subject, queue: a.queue, id: id++ };
      assert.equal(idx.insert(s), true);
      live.push(s);
    } else if (a.kind === 'remove') {
      if (live.length === 0) continue;
      const [s] = live.splice(a.pick % live.length, 1);
      assert.equal(idx.remove(s!), true);
      assert.equal(idx.remove(s!), false);
    } else {
      matched.add(a.subject);
      assert.deepEqual(canon(idx.match(a.subject)), refResult(live, a.subject), `match ${JSON.stringify(a.subject)}`);
    }
    assert.equal(idx.count, live.length);
    // Every subject matched so far, re-checked with the cache warm.
    for (const m of matched) assert.deepEqual(canon(idx.match(m)), refResult(live, m), `warm ${JSON.stringify(m)}`);
  }
  assert.ok(idx.stats().num_cache <= cacheMax);
}

describe('subject properties', () => {
  it('matchLiteral agrees with the reference matcher', () => {
    fc.assert(
      fc.property(subjectToMatch, filter, (s, f) => {
        assert.equal(matchLiteral(s, f), refMatch(s, f));
      }),
      { numRuns: 3000 },
    );
  });

  it('SubjectIndex.match equals the reference over random insert/remove/match sequences', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => runActions(actions, 1024)),
      { numRuns: 300 },
    );
  });

  it('... and with a tiny cache that is swept all the time', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => runActions(actions, 3)),
      { numRuns: 200 },
    );
  });

  // subjectIsSubsetOf against the definition, over a finite universe of literal subjects that is
  // large enough to tell `*`, `>` and literals apart for filters of up to 3 tokens.
  const universe: string[] = [];
  const grow = (prefix: string[], depth: number) => {
    if (prefix.length > 0) universe.push(prefix.join('.'));
    if (depth === 0) return;
    for (const t of ['a', 'b', 'z']) grow([...prefix, t], depth - 1);
  };
  grow([], 5);
  const small = fc
    .array(fc.constantFrom('a', 'b', '*', '>'), { minLength: 1, maxLength: 3 })
    .map((t) => t.map((x, k) => (x === '>' && k < t.length - 1 ? '*' : x)).join('.'));

  it('subjectIsSubsetOf equals set inclusion of the matched subjects', () => {
    fc.assert(
      fc.property(small, small, (s, f) => {
        assert.ok(isValidSubject(s) && isValidSubject(f));
        const expected = universe.every((t) => !refMatch(t, s) || refMatch(t, f));
        assert.equal(subjectIsSubsetOf(s, f), expected, `${s} within ${f}`);
      }),
      { numRuns: 2000 },
    );
  });
});
