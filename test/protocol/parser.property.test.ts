import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseChunks, splitAt, Recorder, type Call } from './recorder.js';

// ---- generators of valid ops, each with the handler calls it must produce

interface Op {
  bytes: Buffer;
  calls: Call[];
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/** A token: 1..12 bytes, none of them space, tab, CR or LF. */
const token = fc
  .uint8Array({ minLength: 1, maxLength: 12 })
  .map((b) => latin1(b.map((x) => (x === 32 || x === 9 || x === 13 || x === 10 ? 0x78 : x))));

/** A run of 1..3 spaces/tabs. */
const sep = fc.array(fc.constantFrom(' ', '\t'), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
const eol = fc.constantFrom('\r\n', '\n');

/** The op name with a random case per character. */
const verb = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((flags) => [...name].map((c, k) => (flags[k] ? c.toLowerCase() : c)).join(''));

/** A size written with random leading zeros, at most 9 digits. */
const sizeText = (n: number) =>
  fc.nat({ max: 9 - String(n).length }).map((z) => '0'.repeat(z) + String(n));

const payload = fc.uint8Array({ maxLength: 40 }).map(latin1);
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Bytes of a line rest that PING/PONG/+OK ignore (no LF). */
const junk = fc.uint8Array({ maxLength: 8 }).map((b) => latin1(b.map((x) => (x === 10 ? 0x79 : x))));

/** A CONNECT/INFO/-ERR argument: no CR/LF, not starting with a separator. */
const lineArg = fc
  .uint8Array({ minLength: 1, maxLength: 30 })
  .map((b) => b.map((x) => (x === 10 || x === 13 ? 0x7a : x)))
  .map((b) => {
    if (b[0] === 32 || b[0] === 9) b[0] = 0x7b;
    return b;
  });

const op = (s: string, calls: Call[]): Op => ({ bytes: Buffer.from(s, 'latin1'), calls });

const anyOp: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(verb('PING'), junk, eol).map(([v, j, e]) => op(v + j + e, [['ping']])),
  fc.tuple(verb('PONG'), junk, eol).map(([v, j, e]) => op(v + j + e, [['pong']])),
  fc.tuple(verb('+OK'), junk, eol).map(([v, j, e]) => op(v + j + e, [['ok']])),
  fc.tuple(verb('CONNECT'), sep, lineArg, eol).map(([v, s, a, e]): Op => ({
    bytes: Buffer.concat([Buffer.from(v + s, 'latin1'), a, Buffer.from(e)]),
    calls: [['connect', Buffer.from(a).toString('utf8')]],
  })),
  fc.tuple(verb('INFO'), sep, lineArg, eol).map(([v, s, a, e]): Op => ({
    bytes: Buffer.concat([Buffer.from(v + s, 'latin1'), a, Buffer.from(e)]),
    calls: [['info', Buffer.from(a).toString('utf8')]],
  })),
  fc.tuple(verb('-ERR'), sep, lineArg, eol).map(([v, s, a, e]): Op => ({
    bytes: Buffer.concat([Buffer.from(v + s, 'latin1'), a, Buffer.from(e)]),
    calls: [['err', Buffer.from(a).toString('utf8')]],
  })),
  fc
    .tuple(verb('PUB'), sep, token, optional(fc.tuple(sep, token)), sep, payload, eol, fc.option(sep, { nil: '' }))
    .chain(([v, s1, subj, rep, s2, p, e, trail]) =>
      sizeText(p.length).map((n) =>
        op(`${v}${s1}${subj}${rep ? rep[0] + rep[1] : ''}${s2}${n}${trail}${e}${p}\r\n`, [
          ['pub', subj, rep?.[1], -1, p],
        ]),
      ),
    ),
  fc
    .tuple(verb('HPUB'), sep, token, optional(fc.tuple(sep, token)), sep, payload, payload, sep, eol)
    .chain(([v, s1, subj, rep, s2, h, body, s3, e]) =>
      fc.tuple(sizeText(h.length), sizeText(h.length + body.length)).map(([hn, tn]) =>
        op(`${v}${s1}${subj}${rep ? rep[0] + rep[1] : ''}${s2}${hn}${s3}${tn}${e}${h}${body}\r\n`, [
          ['pub', subj, rep?.[1], h.length, h + body],
        ]),
      ),
    ),
  fc
    .tuple(verb('SUB'), sep, token, optional(fc.tuple(sep, token)), sep, token, eol)
    .map(([v, s1, subj, q, s2, sid, e]) =>
      op(`${v}${s1}${subj}${q ? q[0] + q[1] : ''}${s2}${sid}${e}`, [['sub', subj, q?.[1], sid]]),
    ),
  fc
    .tuple(verb('UNSUB'), sep, token, optional(fc.tuple(sep, fc.nat({ max: 999_999_999 }))), eol)
    .map(([v, s1, sid, m, e]) => op(`${v}${s1}${sid}${m ? m[0] + m[1] : ''}${e}`, [['unsub', sid, m?.[1]]])),
);

const opStream = fc.array(anyOp, { minLength: 1, maxLength: 25 }).map((ops) => ({
  bytes: Buffer.concat(ops.map((o) => o.bytes)),
  calls: ops.flatMap((o) => o.calls),
}));

const cutsFor = (len: number) => fc.uniqueArray(fc.nat({ max: Math.max(0, len - 1) }), { maxLength: 12 }).map((a) => a.sort((x, y) => x - y));

const ONE_BYTE = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

describe('parser properties', () => {
  it('a stream of valid ops gives exactly its calls, however it is split', () => {
    fc.assert(
      fc.property(
        opStream.chain((s) => fc.tuple(fc.constant(s), cutsFor(s.bytes.length))),
        ([s, cuts]) => {
          assert.deepEqual(parseChunks([s.bytes]), s.calls);
          assert.deepEqual(parseChunks(splitAt(s.bytes, cuts)), s.calls);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('one byte at a time', () => {
    fc.assert(
      fc.property(opStream, (s) => {
        assert.deepEqual(parseChunks(ONE_BYTE(s.bytes)), s.calls);
      }),
      { numRuns: 100 },
    );
  });

  // Arbitrary input: protocol fragments mixed with random bytes, small limits to reach violations.
  const fragment = fc.oneof(
    anyOp.map((o) => o.bytes),
    fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
    fc.constantFrom('PUB ', 'SUB ', 'HPUB ', '\r\n', '\n', '\r', ' ', 'PING', '+OK', 'CONNECT ', 'UNSUB ', '-ERR ').map((s) => Buffer.from(s)),
    fc.constantFrom('PUB a 99\r\n', 'HPUB a 5 3\r\n', 'PUB a 1000000000\r\n', 'SUB a\r\n').map((s) => Buffer.from(s)),
  );
  const garbage = fc.array(fragment, { maxLength: 30 }).map((a) => Buffer.concat(a));
  const limits = { maxControlLine: 32, maxPayload: 64 };

  it('arbitrary bytes never throw, are split-invariant, and keep buffers bounded', () => {
    fc.assert(
      fc.property(
        garbage.chain((g) => fc.tuple(fc.constant(g), cutsFor(g.length))),
        ([g, cuts]) => {
          const whole = parseChunks([g], limits);
          const r = new Recorder(limits);
          for (const chunk of splitAt(g, cuts)) {
            r.parser.parse(chunk);
            assert.ok(r.parser.scratchBytes <= limits.maxControlLine + 1, `scratch ${r.parser.scratchBytes}`);
            if (r.parser.pendingPayloadBytes > 0) assert.equal(r.parser.scratchBytes, 0);
            assert.ok(r.parser.pendingPayloadBytes <= limits.maxPayload);
          }
          assert.deepEqual(r.calls, whole);
          // At most one violation, and it is the last call.
          const v = whole.findIndex((c) => c[0] === 'violation');
          assert.ok(v === -1 || v === whole.length - 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes one at a time keep the scratch bounded', () => {
    fc.assert(
      fc.property(garbage, (g) => {
        const r = new Recorder(limits);
        for (const chunk of ONE_BYTE(g)) {
          r.parser.parse(chunk);
          assert.ok(r.parser.scratchBytes <= limits.maxControlLine + 1);
        }
        assert.deepEqual(r.calls, parseChunks([g], limits));
      }),
      { numRuns: 150 },
    );
  });
});
