import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText, loadConfigFile } from '../../src/config/index.js';

interface Broken {
  name: string;
  text: string;
  line: number;
  column: number;
  reason: RegExp;
}

// Every broken file must fail with `file:line:col: reason`, at the right place.
const BROKEN: Broken[] = [
  { name: 'unclosed array', text: 'port: 4222\nfoo = [1, 2\n', line: 3, column: 1, reason: /^Unexpected EOF: the array opened at line 2, column 7 is not closed$/ },
  { name: 'unclosed map', text: 'tls {\n  cert_file: a\n', line: 3, column: 1, reason: /the map opened at line 1, column 5 is not closed/ },
  { name: 'missing value', text: 'port = \n', line: 1, column: 8, reason: /^Expected value but found new line$/ },
  { name: 'missing value at EOF', text: 'port =', line: 1, column: 7, reason: /^Unexpected EOF: expected a value$/ },
  {
    name: 'junk after a value',
    text: 'port: 4222 x\n',
    line: 1,
    column: 12,
    reason: /^Expected a top-level value to end with a new line, comment or EOF, but got 'x' instead\.$/,
  },
  { name: 'unterminated string', text: 'debug: true\nserver_name: "abc\n', line: 2, column: 14, reason: /unterminated quoted string/ },
  { name: 'unterminated raw string', text: "a: 'abc", line: 1, column: 4, reason: /unterminated quoted string/ },
  {
    name: 'missing map terminator',
    text: 'authorization { user: a password: b }',
    line: 1,
    column: 25,
    reason: /^Expected a map value terminator "," or a map terminator "}", but got 'p' instead\.$/,
  },
  { name: 'bad escape', text: 'a: "x\\q"', line: 1, column: 6, reason: /^Invalid escape character 'q'\. Only the following escape characters are allowed/ },
  { name: 'bad hex escape', text: 'a: "\\xZZ"', line: 1, column: 5, reason: /Expected two hexadecimal digits after '\\x', but got 'ZZ'/ },
  { name: 'float without leading digit', text: 'a: .5', line: 1, column: 4, reason: /^Floats must start with a digit$/ },
  { name: 'float without fraction', text: 'a: 1.\n', line: 1, column: 4, reason: /^Floats must have a digit after the '\.', but got '\\n' instead\.$/ },
  { name: 'stray key separator', text: '\n\n  = 5', line: 3, column: 3, reason: /^Unexpected key separator '='\.$/ },
  { name: 'double comma in array', text: 'a: [1,,2]', line: 1, column: 7, reason: /^Unexpected array value terminator ','\.$/ },
  { name: 'array end in map', text: 'a { b: 1 ]', line: 1, column: 10, reason: /^Expected a map value terminator/ },
  { name: 'unclosed block string', text: 'a: (\nnever closed\n', line: 1, column: 4, reason: /unterminated block string/ },
  { name: 'content after the wrapping braces', text: '{ port: 1 } extra', line: 1, column: 13, reason: /after the closing '}' of the file/ },
  { name: 'unbalanced closing brace', text: 'm { a: 1 }\n}\n', line: 2, column: 1, reason: /^Expected a key but got '}'$/ },
  { name: 'unclosed wrapping brace', text: '{\n  port: 1\n', line: 3, column: 1, reason: /file's opening '\{' is not closed/ },
  { name: 'partial datetime', text: 'a: 2016-05-04', line: 1, column: 4, reason: /Zulu ISO8601 datetime/ },
  { name: 'negative non-number', text: 'a: -abc', line: 1, column: 4, reason: /^Expected a digit but got 'a'\.$/ },
  { name: 'unknown top-level field', text: 'port: 1\n\n   foo: bar\n', line: 3, column: 4, reason: /^unknown field "foo"$/ },
  { name: 'wrong value type', text: '\nport: "4222"', line: 2, column: 1, reason: /^expected "port" to be an integer, got string "4222"$/ },
  { name: 'unknown tls field', text: 'tls {\n  cert_file: a\n  key_file: b\n  bogus: 1\n}', line: 4, column: 3, reason: /^error parsing tls config, unknown field \["bogus"\]$/ },
  { name: 'unresolved variable', text: 'a {\n  b: $NOPE_NOT_SET_ANYWHERE\n}', line: 2, column: 6, reason: /^variable reference for 'NOPE_NOT_SET_ANYWHERE' on line 2 can not be found$/ },
  { name: 'unsupported block', text: 'port: 1\ngateway {\n  port: 7222\n}\n', line: 2, column: 1, reason: /^"gateway" is not supported by tsnats yet$/ },
  { name: 'too deep', text: 'a: ' + '['.repeat(300) + ']'.repeat(300), line: 1, column: 4 + 257, reason: /Maximum nesting depth/ },
];

describe('config error positions', () => {
  for (const b of BROKEN) {
    it(`${b.name} → line ${b.line}, column ${b.column}`, () => {
      let caught: unknown;
      try {
        parseConfigText(b.text, 'broken.conf', { env: {} });
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
      assert.equal(caught.code, 'TSNATS_CONFIG');
      assert.equal(caught.file, 'broken.conf');
      assert.match(caught.reason, b.reason);
      assert.deepEqual([caught.line, caught.column], [b.line, b.column], caught.message);
      assert.equal(caught.message.split('\n')[0], `broken.conf:${b.line}:${b.column}: ${caught.reason}`);
    });
  }

  it('collects every option error, the first one being the position of the error', () => {
    let caught: unknown;
    try {
      parseConfigText('port: "x"\nfoo: 1\ndebug: 5\n', 'multi.conf', { env: {} });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ConfigError);
    assert.equal(caught.errors.length, 3);
    assert.deepEqual(
      caught.errors.map((e) => [e.line, e.column]),
      [
        [1, 1],
        [2, 1],
        [3, 1],
      ],
    );
    assert.equal(caught.line, 1);
    assert.equal(caught.message.split('\n').length, 3);
    assert.match(caught.message, /^multi\.conf:1:1: .*\nmulti\.conf:2:1: unknown field "foo"\nmulti\.conf:3:1: /);
  });

  it('reports an unreadable config file without a position', () => {
    let caught: unknown;
    try {
      loadConfigFile('/nonexistent/dir/tsnats.conf');
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ConfigError);
    assert.equal(caught.line, 0);
    assert.match(caught.message, /^error opening config file: open \/nonexistent\/dir\/tsnats\.conf: no such file or directory$/);
  });
});
