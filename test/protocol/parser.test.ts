import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseChunks, Recorder, type Call } from './recorder.js';
import { ProtocolParser, parseSize } from '../../src/protocol/parser.js';

type Case = [name: string, input: string, expected: Call[]];

function check(cases: Case[], limits?: { maxControlLine?: number; maxPayload?: number }): void {
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.deepEqual(parseChunks([input], limits), expected, 'whole');
      // The same bytes one at a time give the same calls.
      const bytes = Buffer.from(input, 'latin1');
      const singles = [...bytes].map((b) => Buffer.from([b]));
      assert.deepEqual(parseChunks(singles, limits), expected, 'byte by byte');
    });
  }
}

describe('parser: ops and forms', () => {
  check([
    ['PING', 'PING\r\n', [['ping']]],
    ['PONG', 'PONG\r\n', [['pong']]],
    ['+OK', '+OK\r\n', [['ok']]],
    ['PING with trailing junk (prefix match)', 'PINGxyz\r\nPONG foo\r\n+OKAY\r\n', [['ping'], ['pong'], ['ok']]],
    ['LF-only line ends', 'PING\nPONG\n+OK\nSUB a 1\nPUB a 2\nhi\r\n', [['ping'], ['pong'], ['ok'], ['sub', 'a', undefined, '1'], ['pub', 'a', undefined, -1, 'hi']]],
    ['CONNECT', 'CONNECT {"verbose":false}\r\n', [['connect', '{"verbose":false}']]],
    ['CONNECT with tab and spaces', 'CONNECT\t  {"a":1}\r\n', [['connect', '{"a":1}']]],
    ['CONNECT without separator', 'CONNECTx{}\r\n', [['connect', 'x{}']]],
    ['CONNECT empty (CR is the argument)', 'CONNECT\r\n', [['connect', '\r']]],
    ['CONNECT utf-8', 'CONNECT {"name":"\xc3\xa9"}\r\n', [['connect', '{"name":"é"}']]],
    ['INFO from client', 'INFO {}\r\n', [['info', '{}']]],
    ['-ERR from client', "-ERR 'boom'\r\n", [['err', "'boom'"]]],
    ['-ERR with tab', "-ERR\t'x'\r\n", [['err', "'x'"]]],
    ['PUB', 'PUB foo 5\r\nhello\r\n', [['pub', 'foo', undefined, -1, 'hello']]],
    ['PUB with reply', 'PUB foo bar 5\r\nhello\r\n', [['pub', 'foo', 'bar', -1, 'hello']]],
    ['PUB zero size', 'PUB foo 0\r\n\r\n', [['pub', 'foo', undefined, -1, '']]],
    ['PUB tabs and runs of spaces', 'PUB\t foo \t 5  \r\nhello\r\n', [['pub', 'foo', undefined, -1, 'hello']]],
    ['PUB payload with CRLF inside', 'PUB foo 4\r\n\r\n\r\n\r\n', [['pub', 'foo', undefined, -1, '\r\n\r\n']]],
    ['PUB binary subject bytes', 'PUB f\x01\xffo\x00 1\r\nx\r\n', [['pub', 'f\x01\xffo\x00', undefined, -1, 'x']]],
    ['PUB wildcard subject (parser does not judge)', 'PUB foo.* 0\r\n\r\n', [['pub', 'foo.*', undefined, -1, '']]],
    ['PUB size with leading zeros (9 digits)', 'PUB foo 000000005\r\nhello\r\n', [['pub', 'foo', undefined, -1, 'hello']]],
    ['PUB with CR inside the line (sticky drop: last byte dropped)', 'PUB foo\r 5 x\nhello\r\n', [['pub', 'foo\r', undefined, -1, 'hello']]],
    ['PUB splits on spaces and tabs only', 'PUB a r\r 0 x\n\r\n', [['pub', 'a', 'r\r', -1, '']]],
    ['PUB whose first argument byte is LF', 'PUB \nfoo 0\r\n\r\n', [['pub', '\nfoo', undefined, -1, '']]],
    ['SUB splits on CR and LF too', 'SUB foo 1\r\r\nSUB foo\r 2 x\nSUB \nfoo 3\r\n', [['sub', 'foo', undefined, '1'], ['sub', 'foo', undefined, '2'], ['sub', 'foo', undefined, '3']]],
    ['UNSUB splits on CR and LF too', 'UNSUB 1\r\r\nUNSUB 1 2\r\r\n', [['unsub', '1', undefined], ['unsub', '1', 2]]],
    ['CONNECT whose first argument byte is LF', 'CONNECT\n{}\r\n', [['connect', '\n{}']]],
    ['HPUB', 'HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', [['pub', 'foo', undefined, 12, 'NATS/1.0\r\n\r\nhi']]],
    ['HPUB with reply', 'HPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', [['pub', 'foo', 'r', 12, 'NATS/1.0\r\n\r\nhi']]],
    ['HPUB hdr 0', 'HPUB foo 0 2\r\nhi\r\n', [['pub', 'foo', undefined, 0, 'hi']]],
    ['HPUB hdr = total', 'HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n', [['pub', 'foo', undefined, 12, 'NATS/1.0\r\n\r\n']]],
    ['SUB', 'SUB foo 1\r\n', [['sub', 'foo', undefined, '1']]],
    ['SUB queue', 'SUB foo q 1\r\n', [['sub', 'foo', 'q', '1']]],
    ['SUB wildcards and binary', 'SUB f\x01o.*.> q.* s\xff\r\n', [['sub', 'f\x01o.*.>', 'q.*', 's\xff']]],
    ['UNSUB', 'UNSUB 1\r\n', [['unsub', '1', undefined]]],
    ['UNSUB max', 'UNSUB 1 5\r\n', [['unsub', '1', 5]]],
    ['UNSUB bad max is -1 (nats-server unsubscribes at once)', 'UNSUB 1 x\r\nUNSUB 2 -3\r\nUNSUB 3 0000000002\r\n', [['unsub', '1', -1], ['unsub', '2', -1], ['unsub', '3', -1]]],
    ['UNSUB with tabs', 'UNSUB\t1\t\r\n', [['unsub', '1', undefined]]],
    [
      'case-insensitive per character',
      'pInG\r\npOnG\r\n+ok\r\nCoNnEcT {}\r\nsUb a 1\r\nuNsUb 1\r\npUb a 0\r\n\r\nhPuB a 0 0\r\n\r\niNfO {}\r\n-eRr x\r\n',
      [
        ['ping'],
        ['pong'],
        ['ok'],
        ['connect', '{}'],
        ['sub', 'a', undefined, '1'],
        ['unsub', '1', undefined],
        ['pub', 'a', undefined, -1, ''],
        ['pub', 'a', undefined, 0, ''],
        ['info', '{}'],
        ['err', 'x'],
      ],
    ],
    [
      'many ops in one chunk',
      'CONNECT {}\r\nPING\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPUB foo r 0\r\n\r\nUNSUB 1\r\n',
      [
        ['connect', '{}'],
        ['ping'],
        ['sub', 'foo', undefined, '1'],
        ['pub', 'foo', undefined, -1, 'hi'],
        ['pub', 'foo', 'r', -1, ''],
        ['unsub', '1', undefined],
      ],
    ],
  ]);
});

describe('parser: violations', () => {
  check([
    ['unknown verb', 'XYZ\r\n', [['violation', 'unknown_op']]],
    ['empty line', '\r\n', [['violation', 'unknown_op']]],
    ['bare LF', '\n', [['violation', 'unknown_op']]],
    ['leading space', ' PING\r\n', [['violation', 'unknown_op']]],
    ['PIN', 'PIN\r\n', [['violation', 'unknown_op']]],
    ['+O', '+O\r\n', [['violation', 'unknown_op']]],
    ['-ERR without separator', '-ERR\r\n', [['violation', 'unknown_op']]],
    ['PUB without separator', 'PUB\r\n', [['violation', 'unknown_op']]],
    ['PUBX', 'PUBX foo 0\r\n', [['violation', 'unknown_op']]],
    ['SUBSCRIBE', 'SUBSCRIBE foo 1\r\n', [['violation', 'unknown_op']]],
    ['UNSUB without separator', 'UNSUB\r\n', [['violation', 'unknown_op']]],
    ['MSG from a client', 'MSG foo 1 0\r\n\r\n', [['violation', 'unknown_op']]],
    ['route op from a client', 'RS+ foo\r\n', [['violation', 'unknown_op']]],
    ['PUB missing CRLF after payload', 'PUB foo 5\r\nhelloXPING\r\n', [['violation', 'unknown_op']]],
    ['PUB LF only after payload', 'PUB foo 5\r\nhello\nPING\r\n', [['violation', 'unknown_op']]],
    ['PUB CR then junk after payload', 'PUB foo 5\r\nhello\rX', [['violation', 'unknown_op']]],
    ['PUB 1 arg', 'PUB foo\r\n', [['violation', 'bad_args']]],
    ['PUB 4 args', 'PUB foo bar baz 5\r\n', [['violation', 'bad_args']]],
    ['PUB space then CRLF', 'PUB \r\n', [['violation', 'bad_args']]],
    ['PUB negative size', 'PUB foo -1\r\n', [['violation', 'bad_args']]],
    ['PUB plus sign', 'PUB foo +1\r\n', [['violation', 'bad_args']]],
    ['PUB alpha size', 'PUB foo 1a\r\n', [['violation', 'bad_args']]],
    ['PUB 10-digit size (leading zeros)', 'PUB foo 0000000005\r\n', [['violation', 'bad_args']]],
    ['PUB overflowing size', 'PUB foo 99999999999999999999\r\n', [['violation', 'bad_args']]],
    ['PUB 9-digit size above max_payload', 'PUB foo 999999999\r\n', [['violation', 'max_payload']]],
    ['PUB max_payload + 1', 'PUB foo 1048577\r\n', [['violation', 'max_payload']]],
    ['PUB with CR inside the line: size cut off', 'PUB foo\r 5\nhello\r\n', [['violation', 'bad_args']]],
    ['PUB CR CR LF', 'PUB foo 5\r\r\nhello\r\n', [['violation', 'bad_args']]],
    ['HPUB hdr > total', 'HPUB foo 14 12\r\n', [['violation', 'bad_args']]],
    ['HPUB CR CR LF', 'HPUB foo 0 0\r\r\n\r\n', [['violation', 'bad_args']]],
    ['HPUB 2 args', 'HPUB foo 12\r\n', [['violation', 'bad_args']]],
    ['HPUB 5 args', 'HPUB foo r x 12 14\r\n', [['violation', 'bad_args']]],
    ['HPUB bad hdr', 'HPUB foo x 12\r\n', [['violation', 'bad_args']]],
    ['HPUB bad total', 'HPUB foo 1 x\r\n', [['violation', 'bad_args']]],
    ['HPUB hdr > total wins over max_payload', 'HPUB foo 2000000 1000\r\n', [['violation', 'bad_args']]],
    ['HPUB total > max_payload', 'HPUB foo 12 1048577\r\n', [['violation', 'max_payload']]],
    ['SUB 1 arg', 'SUB foo\r\n', [['violation', 'bad_args']]],
    ['SUB 4 args', 'SUB foo q 1 2\r\n', [['violation', 'bad_args']]],
    ['UNSUB 3 args', 'UNSUB 1 2 3\r\n', [['violation', 'bad_args']]],
    ['UNSUB space then CRLF', 'UNSUB \r\n', [['violation', 'bad_args']]],
    ['ops before a violation are delivered', 'PING\r\nSUB a 1\r\nNOPE\r\nPING\r\n', [['ping'], ['sub', 'a', undefined, '1'], ['violation', 'unknown_op']]],
  ]);

  it('ignores all input after a violation', () => {
    const r = new Recorder();
    r.parser.parse(Buffer.from('XPING\r\n'));
    r.parser.parse(Buffer.from('PING\r\n'));
    assert.deepEqual(r.calls, [['violation', 'unknown_op']]);
    assert.equal(r.parser.stopped, true);
  });

  it('reports max_payload at the control line, before the payload', () => {
    assert.deepEqual(parseChunks(['PUB foo 101\r\n'], { maxPayload: 100 }), [['violation', 'max_payload']]);
    assert.deepEqual(parseChunks(['PUB foo 100\r\n', 'x'.repeat(100) + '\r\n'], { maxPayload: 100 }), [
      ['pub', 'foo', undefined, -1, 'x'.repeat(100)],
    ]);
  });

  it('negative maxPayload means no limit', () => {
    assert.deepEqual(parseChunks(['PUB foo 999999999\r\n'], { maxPayload: -1 }), []);
  });
});

describe('parser: max_control_line (counts the argument, as nats-server does)', () => {
  const mcl = 64;
  const a = (n: number) => 'a'.repeat(n);
  const L = { maxControlLine: mcl };
  // The argument of `PUB <n a's> 5` is n + 2 bytes.
  check(
    [
      ['PUB argument of exactly max', `PUB ${a(62)} 5\r\nhello\r\n`, [['pub', a(62), undefined, -1, 'hello']]],
      ['PUB argument of max + 1', `PUB ${a(63)} 5\r\nhello\r\n`, [['violation', 'max_control_line']]],
      ['LF-only line of exactly max', `PUB ${a(62)} 5\nhello\r\n`, [['pub', a(62), undefined, -1, 'hello']]],
      ['LF-only line of max + 1', `PUB ${a(63)} 5\nhello\r\n`, [['violation', 'max_control_line']]],
      ['leading separators are not counted', `PUB${' '.repeat(100)}${a(62)} 5\r\nhello\r\n`, [['pub', a(62), undefined, -1, 'hello']]],
      ['trailing separators are counted', `PUB ${a(62)} 5  \r\nhello\r\n`, [['violation', 'max_control_line']]],
      ['checked before arity', `PUB ${a(70)} b c 5\r\n`, [['violation', 'max_control_line']]],
      ['SUB', `SUB ${a(70)} 1\r\n`, [['violation', 'max_control_line']]],
      ['UNSUB', `UNSUB ${a(70)}\r\n`, [['violation', 'max_control_line']]],
      ['HPUB', `HPUB ${a(70)} 0 0\r\n\r\n`, [['violation', 'max_control_line']]],
      ['CONNECT', `CONNECT {"name":"${a(80)}"}\r\n`, [['violation', 'max_control_line']]],
      ['INFO', `INFO {"x":"${a(80)}"}\r\n`, [['violation', 'max_control_line']]],
      ['-ERR', `-ERR '${a(80)}'\r\n`, [['violation', 'max_control_line']]],
      ['PING junk is not limited (not buffered)', `PING${a(500)}\r\n`, [['ping']]],
    ],
    L,
  );

  it('catches an unterminated line at the end of the chunk', () => {
    assert.deepEqual(parseChunks([`PUB ${a(65)}`], L), [['violation', 'max_control_line']]);
    assert.deepEqual(parseChunks([`PUB ${a(64)}`], L), []);
    assert.deepEqual(parseChunks([`PUB ${a(40)}`, a(40)], L), [['violation', 'max_control_line']]);
    assert.deepEqual(parseChunks([`CONNECT {"name":"${a(80)}`], L), [['violation', 'max_control_line']]);
  });

  it('a dropped CR at the chunk end is not counted', () => {
    assert.deepEqual(parseChunks([`PUB ${a(62)} 5\r`, '\nhello\r\n'], L), [['pub', a(62), undefined, -1, 'hello']]);
    assert.deepEqual(parseChunks([`PUB ${a(63)} 5\r`, '\nhello\r\n'], L), [['violation', 'max_control_line']]);
  });

  it('keeps an unterminated line bounded while it grows one byte at a time', () => {
    const r = new Recorder(L);
    r.parser.parse(Buffer.from('SUB '));
    let max = 0;
    for (let k = 0; k < 1000 && !r.parser.stopped; k++) {
      r.parser.parse(Buffer.from('x'));
      max = Math.max(max, r.parser.scratchBytes);
    }
    assert.deepEqual(r.calls, [['violation', 'max_control_line']]);
    assert.ok(max <= mcl + 1, `scratch grew to ${max}`);
  });

  it('limits can change later', () => {
    const r = new Recorder({ maxControlLine: 8 });
    r.parser.parse(Buffer.from('SUB abc 1\r\n'));
    r.after = (c, p) => {
      if (c[0] === 'sub') p.setLimits({ maxControlLine: 4 });
    };
    r.parser.parse(Buffer.from('SUB ab 1\r\nSUB abcd 1\r\n'));
    assert.deepEqual(r.calls, [['sub', 'abc', undefined, '1'], ['sub', 'ab', undefined, '1'], ['violation', 'max_control_line']]);
    assert.deepEqual(r.parser.limits, { maxControlLine: 4, maxPayload: 1024 * 1024 });
  });
});

describe('parser: one-pass PUB (pubInChunk) and its fallbacks', () => {
  // Every input is parsed whole (the one-pass path where it applies) and one byte per chunk (the
  // byte states only): both must give the same calls.
  const cases: [string, Call[]][] = [
    ['PUB a 1\r\nx\r\nPUB b 1\r\ny\r\nPUB a 1\r\nz\r\n', [['pub', 'a', undefined, -1, 'x'], ['pub', 'b', undefined, -1, 'y'], ['pub', 'a', undefined, -1, 'z']]],
    ['PUB ab 0\r\n\r\nPUB ac 0\r\n\r\nPUB ac 0\r\n\r\n', [['pub', 'ab', undefined, -1, ''], ['pub', 'ac', undefined, -1, ''], ['pub', 'ac', undefined, -1, '']]],
    ['PUB a r 2\r\nhi\r\n', [['pub', 'a', 'r', -1, 'hi']]],
    ['PUB\ta\tr\t2\r\nhi\r\n', [['pub', 'a', 'r', -1, 'hi']]],
    ['PUB  a 2\r\nhi\r\n', [['pub', 'a', undefined, -1, 'hi']]],
    ['PUB a  2\r\nhi\r\n', [['pub', 'a', undefined, -1, 'hi']]],
    ['PUB a 2 \r\nhi\r\n', [['pub', 'a', undefined, -1, 'hi']]],
    ['PUB a 2\nhi\r\n', [['pub', 'a', undefined, -1, 'hi']]],
    ['PUB a r\r 0 x\n\r\n', [['pub', 'a', 'r\r', -1, '']]], // nats-server's sticky CR drop
    ['PUB a r\r 2\nhi\r\n', [['violation', 'bad_args']]],
    ['PUB a\x01b 2\r\nhi\r\n', [['pub', 'a\x01b', undefined, -1, 'hi']]],
    ['PUB a b c 2\r\nhi\r\n', [['violation', 'bad_args']]],
    ['PUB a 2x\r\nhi\r\n', [['violation', 'bad_args']]],
    ['PUB a 0000000002\r\nhi\r\n', [['violation', 'bad_args']]],
    ['PUB a 2\r\nhiX\r\n', [['violation', 'unknown_op']]],
    ['PUB a 2\r\nhi\rX', [['violation', 'unknown_op']]],
  ];
  for (const [input, calls] of cases) {
    it(JSON.stringify(input), () => {
      const bytes = Buffer.from(input, 'latin1');
      assert.deepEqual(parseChunks([bytes]), calls, 'whole');
      assert.deepEqual(parseChunks([...bytes].map((b) => Buffer.of(b))), calls, 'byte by byte');
    });
  }

  it('max_control_line and max_payload apply to the one-pass path', () => {
    const arg = 'a'.repeat(8) + ' 2'; // 10 bytes
    assert.deepEqual(parseChunks([`PUB ${arg}\r\nhi\r\n`], { maxControlLine: 10 }), [['pub', 'a'.repeat(8), undefined, -1, 'hi']]);
    assert.deepEqual(parseChunks([`PUB a${arg}\r\nhi\r\n`], { maxControlLine: 10 }), [['violation', 'max_control_line']]);
    assert.deepEqual(parseChunks(['PUB a 2\r\nhi\r\n'], { maxPayload: 2 }), [['pub', 'a', undefined, -1, 'hi']]);
    assert.deepEqual(parseChunks(['PUB a 3\r\nhi!\r\n'], { maxPayload: 2 }), [['violation', 'max_payload']]);
  });
});

describe('parser: split reads', () => {
  it('payload straddling chunks is accumulated; a payload inside one chunk is a view', () => {
    const seen: Buffer[] = [];
    const r = new Recorder();
    const orig = r.onPub.bind(r);
    r.onPub = (s, rep, h, d, start, end) => {
      seen.push(d.subarray(start, end));
      orig(s, rep, h, d, start, end);
    };
    const c1 = Buffer.from('PUB a 3\r\nabc\r\nPUB b 6\r\nxyz');
    const c2 = Buffer.from('uvw\r\n');
    r.parser.parse(c1);
    assert.equal(r.parser.pendingPayloadBytes, 3);
    r.parser.parse(c2);
    assert.deepEqual(r.calls, [['pub', 'a', undefined, -1, 'abc'], ['pub', 'b', undefined, -1, 'xyzuvw']]);
    const within = (v: Buffer, c: Buffer) =>
      v.buffer === c.buffer && v.byteOffset >= c.byteOffset && v.byteOffset + v.length <= c.byteOffset + c.length;
    assert.ok(within(seen[0]!, c1), 'fast path is a zero-copy view of the chunk');
    assert.equal(seen[0]!.byteOffset, c1.byteOffset + 9);
    assert.ok(!within(seen[1]!, c1) && !within(seen[1]!, c2), 'straddling payload is a copy');
    assert.equal(r.parser.pendingPayloadBytes, 0);
  });

  it('payload complete but CRLF in the next chunk', () => {
    assert.deepEqual(parseChunks(['PUB a 3\r\nabc', '\r\n']), [['pub', 'a', undefined, -1, 'abc']]);
    assert.deepEqual(parseChunks(['PUB a 3\r\nabc\r', '\n']), [['pub', 'a', undefined, -1, 'abc']]);
    assert.deepEqual(parseChunks(['PUB a 3\r\nabc\r', 'X']), [['violation', 'unknown_op']]);
    assert.deepEqual(parseChunks(['PUB a 0\r\n', '\r\n']), [['pub', 'a', undefined, -1, '']]);
  });

  it('nothing is dispatched before the payload CRLF arrives', () => {
    const r = new Recorder();
    r.parser.parse(Buffer.from('PUB a 3\r\nabc'));
    assert.deepEqual(r.calls, []);
  });

  it('a huge payload in many chunks', () => {
    const body = Buffer.alloc(300_000, 0x61);
    const all = Buffer.concat([Buffer.from(`PUB big r ${body.length}\r\n`), body, Buffer.from('\r\nPING\r\n')]);
    const chunks: Buffer[] = [];
    for (let k = 0; k < all.length; k += 65536) chunks.push(all.subarray(k, k + 65536));
    const calls = parseChunks(chunks);
    assert.equal(calls.length, 2);
    assert.equal((calls[0] as [string, string, string, number, string])[4].length, body.length);
    assert.deepEqual(calls[1], ['ping']);
  });
});

describe('parser: halt, expectConnect, headers', () => {
  it('halt() stops right after the current op, permanently', () => {
    const r = new Recorder();
    r.after = (c, p) => {
      if (c[0] === 'sub') p.halt();
    };
    r.parser.parse(Buffer.from('PING\r\nSUB a 1\r\nPING\r\nPUB a 0\r\n\r\n'));
    r.parser.parse(Buffer.from('PING\r\n'));
    assert.deepEqual(r.calls, [['ping'], ['sub', 'a', undefined, '1']]);
    assert.equal(r.parser.stopped, true);
  });

  for (const op of ['PING\r\n', 'PONG\r\n', '+OK\r\n', 'CONNECT {}\r\n', 'INFO {}\r\n', '-ERR x\r\n', 'PUB a 0\r\n\r\n', 'HPUB a 0 0\r\n\r\n', 'SUB a 1\r\n', 'UNSUB 1\r\n']) {
    it(`halt() inside the callback of ${JSON.stringify(op)}`, () => {
      const r = new Recorder();
      r.after = (_c, p) => p.halt();
      r.parser.parse(Buffer.from(op + 'PING\r\n'));
      assert.equal(r.calls.length, 1);
      // Also when the payload ended in an earlier chunk.
      if (op.startsWith('PUB') || op.startsWith('HPUB')) {
        const r2 = new Recorder();
        r2.after = (_c, p) => p.halt();
        r2.parser.parse(Buffer.from(op.slice(0, -2)));
        r2.parser.parse(Buffer.from('\r\nPING\r\n'));
        assert.equal(r2.calls.length, 1);
      }
    });
  }

  it('expectConnect: first byte not starting CONNECT is an auth violation', () => {
    const setup = (r: Recorder) => (r.parser.expectConnect = true);
    assert.deepEqual(parseChunks(['P'], {}, setup), [['violation', 'auth_violation']]);
    assert.deepEqual(parseChunks(['XYZ\r\n'], {}, setup), [['violation', 'auth_violation']]);
    assert.deepEqual(parseChunks(['CXYZ\r\n'], {}, setup), [['violation', 'unknown_op']]);
    assert.deepEqual(parseChunks(['connect {}\r\nPING\r\n'], {}, setup), [['connect', '{}'], ['ping']]);
  });

  it('headers = false: HPUB is bad_args at the control line, before max_payload', () => {
    const setup = (r: Recorder) => (r.parser.headers = false);
    assert.deepEqual(parseChunks(['HPUB foo 12 14\r\n'], {}, setup), [['violation', 'bad_args']]);
    assert.deepEqual(parseChunks(['HPUB foo 0 2000000\r\n'], {}, setup), [['violation', 'bad_args']]);
    // Enabled by the CONNECT callback, effective for the next op of the same chunk.
    const r = new Recorder();
    r.parser.headers = false;
    r.after = (c, p) => {
      if (c[0] === 'connect') p.headers = true;
    };
    r.parser.parse(Buffer.from('CONNECT {"headers":true}\r\nHPUB a 0 0\r\n\r\n'));
    assert.deepEqual(r.calls, [['connect', '{"headers":true}'], ['pub', 'a', undefined, 0, '']]);
  });
});

describe('parser: handler exceptions', () => {
  it('a throwing callback propagates and stops the parser', () => {
    const r = new Recorder();
    r.after = (c) => {
      if (c[0] === 'sub') throw new Error('boom');
    };
    assert.throws(() => r.parser.parse(Buffer.from('SUB a 1\r\nPING\r\n')), /boom/);
    assert.equal(r.parser.stopped, true);
    r.parser.parse(Buffer.from('PING\r\n'));
    assert.deepEqual(r.calls, [['sub', 'a', undefined, '1']]);
  });

  it('a huge maxControlLine does not allocate up front', () => {
    const r = new Recorder({ maxControlLine: 2 ** 31 });
    r.parser.parse(Buffer.from('SUB abc'));
    r.parser.parse(Buffer.from('def 1\r\n'));
    assert.deepEqual(r.calls, [['sub', 'abcdef', undefined, '1']]);
  });
});

describe('parseSize', () => {
  const ps = (s: string) => parseSize(Buffer.from(s, 'latin1'), 0, s.length);
  it('accepts 1 to 9 digits only', () => {
    assert.equal(ps('0'), 0);
    assert.equal(ps('123'), 123);
    assert.equal(ps('999999999'), 999999999);
    assert.equal(ps('000000001'), 1);
    for (const bad of ['', '-1', '+1', '1a', ' 1', '1 ', '0000000001', '1000000000', '99999999999999999999']) {
      assert.equal(ps(bad), -1, JSON.stringify(bad));
    }
  });
});

describe('parser: construction', () => {
  it('defaults to 4096 / 1 MiB', () => {
    const p = new ProtocolParser(new Recorder());
    assert.deepEqual(p.limits, { maxControlLine: 4096, maxPayload: 1048576 });
  });
});
