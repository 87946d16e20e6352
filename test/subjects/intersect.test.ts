import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matchLiteral, subjectsIntersect } from '../../src/server/subjects.js';

describe('subjectsIntersect', () => {
  it('known cases', () => {
    assert.equal(subjectsIntersect('secret.>', '*.x'), true);
    assert.equal(subjectsIntersect('foo', 'foo.>'), false);
    assert.equal(subjectsIntersect('foo.*', 'foo.bar'), true);
    assert.equal(subjectsIntersect('a.b', 'a.c'), false);
    assert.equal(subjectsIntersect('>', 'a.b.c'), true);
    assert.equal(subjectsIntersect('*.*', 'a'), false);
  });

  it('agrees with a brute force over a small alphabet', () => {
    const token = fc.constantFrom('a', 'b', '*', '>');
    const pattern = fc.array(token, { minLength: 1, maxLength: 3 }).filter((t) => !t.slice(0, -1).includes('>')).map((t) => t.join('.'));
    const literals: string[] = [];
    for (let n = 1; n <= 4; n++) {
      const walk = (prefix: string[]): void => {
        if (prefix.length === n) literals.push(prefix.join('.'));
        else for (const t of ['a', 'b', 'c']) walk([...prefix, t]);
      };
      walk([]);
    }
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const brute = literals.some((l) => matchLiteral(l, a) && matchLiteral(l, b));
        assert.equal(subjectsIntersect(a, b), brute, `${a} ∩ ${b}`);
      }),
      { numRuns: 500 },
    );
  });
});
