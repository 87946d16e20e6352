import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig, toPlain, tokenize, type MapNode, getEntry } from '../../src/config/index.js';

const plain = (text: string, env: Record<string, string> = {}): unknown => toPlain(parseConfig(text, 't.conf', { env }));

function throwsConfig(fn: () => unknown, re: RegExp, where?: { line: number; column: number }): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'TSNATS_CONFIG');
  assert.match(caught.message, re);
  if (where) {
    assert.equal(caught.line, where.line, `line of: ${caught.message}`);
    assert.equal(caught.column, where.column, `column of: ${caught.message}`);
  }
  return caught;
}

describe('config syntax: separators, maps, arrays, comments', () => {
  it('accepts =, : and whitespace as key/value separators', () => {
    assert.deepEqual(plain('a = 1\nb: 2\nc 3\nd=4\ne:5\nf\t6\n'), { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
  });

  it('accepts optional ; and , terminators', () => {
    assert.deepEqual(plain('a = 1; b = 2, c = 3;'), { a: 1, b: 2, c: 3 });
    assert.deepEqual(plain('m { a: 1; b: 2, c: 3 }'), { m: { a: 1, b: 2, c: 3 } });
  });

  it('parses nested maps with and without a separator before {', () => {
    assert.deepEqual(plain('a { b { c: 1 } }\nd = { e: { f: 2 } }\ng: {}\n'), {
      a: { b: { c: 1 } },
      d: { e: { f: 2 } },
      g: {},
    });
    assert.deepEqual(plain('auth\n{\n  user: a\n}\n'), { auth: { user: 'a' } });
  });

  it('parses arrays separated by commas or newlines, with mixed types and trailing comma', () => {
    assert.deepEqual(plain('a: [1, "two", 3.5, true, {x: y}, [n]]'), { a: [1, 'two', 3.5, true, { x: 'y' }, ['n']] });
    assert.deepEqual(plain('a: [\n  1\n  2 # c\n  // c\n  3,\n]\n'), { a: [1, 2, 3] });
    assert.deepEqual(plain('a: []'), { a: [] });
    assert.deepEqual(plain('a: [1]\nb: [x]\n'), { a: [1], b: ['x'] });
  });

  it('skips # and // comments everywhere a comment can appear', () => {
    const text = '# top\n// top\nport: 4222 # trailing\nm { # open\n  a: 1 // x\n  # inner\n}\nl: [ # c\n 1 ]\n';
    assert.deepEqual(plain(text), { port: 4222, m: { a: 1 }, l: [1] });
  });

  it('accepts quoted keys', () => {
    assert.deepEqual(plain(`"a b": 1\n'c.d' = 2\nm { "x": 3, 'y': 4 }`), { 'a b': 1, 'c.d': 2, m: { x: 3, y: 4 } });
  });

  it('parses a whole file wrapped in {} (JSON)', () => {
    const json = JSON.stringify({ port: 4222, debug: true, a: [1, 'x', { b: 2.5 }], m: { s: 'v' } }, null, 2);
    assert.deepEqual(plain(json), { port: 4222, debug: true, a: [1, 'x', { b: 2.5 }], m: { s: 'v' } });
    assert.deepEqual(plain('{port: 1}'), { port: 1 });
  });

  it('keeps the last value of a repeated key', () => {
    assert.deepEqual(plain('a: 1\na: 2\n'), { a: 2 });
  });

  it('handles CRLF line endings and a UTF-8 BOM', () => {
    assert.deepEqual(plain('\ufeffa: 1\r\nb {\r\n c: "x"\r\n}\r\n'), { a: 1, b: { c: 'x' } });
  });
});

describe('config syntax: strings', () => {
  it('decodes double-quoted escapes', () => {
    assert.deepEqual(plain('a: "t\\tn\\nr\\rq\\"b\\\\x\\x41\\xc3\\xa9"'), { a: 't\tn\nr\rq"b\\xAé' });
  });

  it('keeps single-quoted strings raw', () => {
    assert.deepEqual(plain("a: 'no\\tescape \"here\"'"), { a: 'no\\tescape "here"' });
  });

  it('reads unquoted strings up to whitespace, newline, , ; ] }', () => {
    assert.deepEqual(plain('a: hello\nb: x.y/z?q=1\nc: [p, q]\nd { e: f }\ng: h;'), {
      a: 'hello',
      b: 'x.y/z?q=1',
      c: ['p', 'q'],
      d: { e: 'f' },
      g: 'h',
    });
  });

  it('reads block strings ( ... ) ending with ) alone on a line', () => {
    assert.deepEqual(plain('a: (\nline 1\n  line) 2\n)\nb: 1\n'), { a: '\nline 1\n  line) 2', b: 1 });
  });

  it('lexes unquoted IP:port as a string', () => {
    assert.deepEqual(plain('listen: 127.0.0.1:4222\nh: 10.0.0.1'), { listen: '127.0.0.1:4222', h: '10.0.0.1' });
  });

  it('treats digits followed by letters as strings (durations such as 5s)', () => {
    assert.deepEqual(plain('a: 5s\nb: 1h30m\nc: 500ms\nd: 4222abc'), { a: '5s', b: '1h30m', c: '500ms', d: '4222abc' });
  });
});

describe('config syntax: booleans, numbers, sizes, datetimes', () => {
  it('parses true/false/yes/no/on/off case-insensitively, unquoted only', () => {
    assert.deepEqual(plain('a: true\nb: FALSE\nc: Yes\nd: no\ne: ON\nf: off\ng: "true"\nh: \'no\''), {
      a: true,
      b: false,
      c: true,
      d: false,
      e: true,
      f: false,
      g: 'true',
      h: 'no',
    });
  });

  it('parses integers, negatives and floats', () => {
    assert.deepEqual(plain('a: 0\nb: -17\nc: 3.25\nd: -0.5\ne: 9007199254740991'), {
      a: 0,
      b: -17,
      c: 3.25,
      d: -0.5,
      e: 9007199254740991,
    });
  });

  it('applies size suffixes (k=1000, kb/ki/kib=1024, ...) case-insensitively', () => {
    const cases: [string, number][] = [
      ['1k', 1000],
      ['1K', 1000],
      ['1kb', 1024],
      ['1Ki', 1024],
      ['1KiB', 1024],
      ['2m', 2_000_000],
      ['2mb', 2 * 1024 * 1024],
      ['2MI', 2 * 1024 * 1024],
      ['2mib', 2 * 1024 * 1024],
      ['3g', 3e9],
      ['3gb', 3 * 1024 ** 3],
      ['1t', 1e12],
      ['1tb', 1024 ** 4],
      ['1p', 1e15],
      ['1pb', 1024 ** 5],
      ['-5k', -5000],
    ];
    for (const [raw, want] of cases) assert.deepEqual(plain(`v: ${raw}`), { v: want }, raw);
  });

  it('the gotcha: an unquoted 1m is one million, a quoted "1m" is a string', () => {
    assert.deepEqual(plain('a: 1m\nb: "1m"'), { a: 1_000_000, b: '1m' });
  });

  it('rejects integers outside the safe range', () => {
    throwsConfig(() => plain('a: 99999999999999999999'), /integer '99999999999999999999' is out of the range/);
    throwsConfig(() => plain('a: 10e'), /out of the range/);
  });

  it('parses ISO-8601 Zulu datetimes', () => {
    const v = plain('d: 2016-05-04T18:53:41Z') as { d: Date };
    assert.ok(v.d instanceof Date);
    assert.equal(v.d.toISOString(), '2016-05-04T18:53:41.000Z');
    throwsConfig(() => plain('d: 2016-05-04'), /Zulu/);
    throwsConfig(() => plain('d: 2016-13-04T18:53:41Z'), /Expected Zulu formatted DateTime/);
  });

  it('keeps the position of every value and key', () => {
    const tree = parseConfig('port: 4222\nauth {\n  user: "bob"\n  list: [1,\n    2]\n}\n', 'p.conf', { env: {} });
    const port = getEntry(tree, 'port')!;
    assert.deepEqual(port.keyPos, { file: 'p.conf', line: 1, column: 1 });
    assert.deepEqual(port.value.pos, { file: 'p.conf', line: 1, column: 7 });
    const auth = getEntry(tree, 'auth')!.value as MapNode;
    const user = getEntry(auth, 'user')!;
    assert.deepEqual(user.keyPos, { file: 'p.conf', line: 3, column: 3 });
    assert.deepEqual(user.value.pos, { file: 'p.conf', line: 3, column: 9 });
    const list = getEntry(auth, 'list')!.value;
    assert.equal(list.kind, 'array');
    if (list.kind === 'array') assert.deepEqual(list.items[1]!.pos, { file: 'p.conf', line: 5, column: 5 });
  });
});

describe('config syntax: lexer tokens', () => {
  it('emits typed tokens with positions', () => {
    const toks = tokenize('a: [1, x]\nb { c: $v }\ninclude "f.conf"\n', 'l.conf').map((t) => [t.type, t.value, t.pos.line, t.pos.column]);
    assert.deepEqual(toks, [
      ['key', 'a', 1, 1],
      ['arrayStart', '', 1, 4],
      ['integer', '1', 1, 5],
      ['string', 'x', 1, 8],
      ['arrayEnd', '', 1, 9],
      ['key', 'b', 2, 1],
      ['mapStart', '', 2, 3],
      ['key', 'c', 2, 5],
      ['variable', 'v', 2, 8],
      ['mapEnd', '', 2, 11],
      ['include', 'f.conf', 3, 9],
      ['eof', '', 4, 1],
    ]);
  });
});

describe('config includes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-inc-'));
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'users.conf'), 'user: derek\npassword: porkchop\ninclude deeper/extra.conf\n');
  writeFileSync(join(dir, 'sub', 'deeper', 'extra.conf'), 'timeout: 5\n');
  writeFileSync(join(dir, 'sub', 'auth.conf'), 'authorization {\n  include "users.conf"\n}\n');
  writeFileSync(join(dir, 'main.conf'), "port: 4222\ninclude 'sub/auth.conf'\ndebug: true\n");
  writeFileSync(join(dir, 'a.conf'), 'include b.conf\n');
  writeFileSync(join(dir, 'b.conf'), 'x: 1\ninclude a.conf\n');
  writeFileSync(join(dir, 'bad.conf'), 'ok: 1\nnot ok here\n');
  writeFileSync(join(dir, 'vars.conf'), 'secret: $PASS\n');

  it('includes files relative to the including file, nested and inside blocks', () => {
    const tree = parseConfig('x: 0\ninclude main.conf\n', join(dir, 'top.conf'), { env: {} });
    assert.deepEqual(toPlain(tree), {
      x: 0,
      port: 4222,
      authorization: { user: 'derek', password: 'porkchop', timeout: 5 },
      debug: true,
    });
  });

  it('keeps positions in the included file', () => {
    const tree = parseConfig('include main.conf', join(dir, 'top.conf'), { env: {} });
    const auth = getEntry(tree, 'authorization')!.value as MapNode;
    const user = getEntry(auth, 'user')!;
    assert.equal(user.keyPos.file, join(dir, 'sub', 'users.conf'));
    assert.equal(user.keyPos.line, 1);
  });

  it('reports a missing include with the include position', () => {
    throwsConfig(
      () => parseConfig('port: 1\n  include nope.conf\n', join(dir, 'x.conf'), { env: {} }),
      /x\.conf:2:11: error parsing include file 'nope\.conf', open .*nope\.conf: no such file or directory/,
      { line: 2, column: 11 },
    );
  });

  it('reports errors inside included files at their own position', () => {
    const e = throwsConfig(() => parseConfig('include bad.conf', join(dir, 'x.conf'), { env: {} }), /bad\.conf:2:8: Expected a top-level value to end/);
    assert.equal(e.file, join(dir, 'bad.conf'));
  });

  it('detects include cycles', () => {
    throwsConfig(() => parseConfig('include a.conf', join(dir, 'x.conf'), { env: {} }), /include cycle: .*a\.conf -> .*b\.conf -> .*a\.conf/);
  });

  it('lets included files see variables of the including scopes', () => {
    const tree = parseConfig('PASS = s3cret\nm { include vars.conf }\n', join(dir, 'x.conf'), { env: {} });
    assert.deepEqual(toPlain(tree), { PASS: 's3cret', m: { secret: 's3cret' } });
  });

  it('rejects include values that are not paths', () => {
    throwsConfig(() => plain('include [a]'), /Expected include value but found start of an array/);
    throwsConfig(() => plain('include 5'), /Expected include value but found start of a number/);
    throwsConfig(() => plain('include\nfoo'), /Expected include value but found new line/);
  });
});

describe('config variables', () => {
  it('resolves variables from the enclosing block scopes, innermost first', () => {
    assert.deepEqual(plain('a = 1\nm { a = 2, b: $a }\nc: $a\n'), { a: 1, m: { a: 2, b: 2 }, c: 1 });
    assert.deepEqual(plain('x = top\nm { n { v: $x } }'), { x: 'top', m: { n: { v: 'top' } } });
  });

  it('only sees variables defined above the reference', () => {
    throwsConfig(() => plain('a: $b\nb: 1\n'), /variable reference for 'b' on line 1 can not be found/, { line: 1, column: 4 });
  });

  it('substitutes maps and arrays', () => {
    assert.deepEqual(plain('perm = { publish: "a.>" }\nlist = [1, 2]\nu { p: $perm, l: $list }'), {
      perm: { publish: 'a.>' },
      list: [1, 2],
      u: { p: { publish: 'a.>' }, l: [1, 2] },
    });
  });

  it('falls back to environment variables, parsing their value as a config value', () => {
    assert.deepEqual(plain('p: $PORT\ns: $NAME\nl: $LIST\nb: $FLAG', { PORT: '4222', NAME: 'hello', LIST: '[1, two]', FLAG: 'yes' }), {
      p: 4222,
      s: 'hello',
      l: [1, 'two'],
      b: true,
    });
    assert.deepEqual(plain('a: $A', { A: '$B', B: '"deep"' }), { a: 'deep' });
  });

  it('prefers a config definition over the environment', () => {
    assert.deepEqual(plain('PORT = 1\np: $PORT', { PORT: '2' }), { PORT: 1, p: 1 });
  });

  it('detects cycles through environment variables', () => {
    throwsConfig(() => plain('p: $CYC', { CYC: '$CYC' }), /is a cycle: CYC -> CYC/, { line: 1, column: 4 });
    throwsConfig(() => plain('\n\n  p: $CA', { CA: '$CB', CB: '$CA' }), /is a cycle: CA -> CB -> CA/, { line: 3, column: 6 });
  });

  it('reports environment values that do not parse', () => {
    throwsConfig(() => plain('p: $V', { V: 'abc def' }), /variable reference for 'V' on line 1 could not be parsed/);
  });

  it('reports unresolved variables with their position', () => {
    throwsConfig(() => plain('port: 1\nauth {\n  token: $NOPE\n}'), /t\.conf:3:10: variable reference for 'NOPE' on line 3 can not be found/, {
      line: 3,
      column: 10,
    });
  });

  it('keeps bcrypt hashes ($2a$...) as strings', () => {
    const h = '$2a$11$ooo4gPBbeGmj0Rc5pnU0peSsXo4sVmJwHz3yMkUh7kVXyB5qCmUTu';
    assert.deepEqual(plain(`p: ${h}\nq: $2b$10$abc`), { p: h, q: '$2b$10$abc' });
  });

  it('flags entries used as variables', () => {
    const tree = parseConfig('a = 1\nb = 2\nc: $a\n', 't.conf', { env: {} });
    assert.equal(getEntry(tree, 'a')!.usedAsVariable, true);
    assert.equal(getEntry(tree, 'b')!.usedAsVariable, false);
    assert.equal(getEntry(tree, 'c')!.value.variable, 'a');
    assert.deepEqual(getEntry(tree, 'c')!.value.pos, { file: 't.conf', line: 3, column: 4 });
  });
});
