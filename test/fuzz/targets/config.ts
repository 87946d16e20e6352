// Fuzz target: the configuration file reader (src/config: lexer, parser, options).
//
// Every input is loaded with parseConfigText as the file /fuzz/main.conf, with a virtual file
// system for `include` (self-includes, include cycles, a 70-deep chain, broken files) and an
// environment with cycles, self-references, bad and deep values. The oracle: it either loads or
// throws a ConfigError whose every error has a position inside the file it names (line within the
// file, column within the line) and whose message starts with `file:line:col: `; anything else
// (another exception, a stack overflow) is a crash, a hang is caught by the watchdog.
// Kinds: `rendered` random trees from test/config/arbitraries.ts (must also parse back to their
// value), `mutated` files (byte and token mutations, splices of two files), `nesting` (deep maps
// and arrays around the depth limit), `variables` (random variable graphs), `random` text.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, parseConfig, parseConfigText, toPlain } from '../../../src/config/index.js';
import { configArb, REALISTIC_CONFIGS } from '../../config/arbitraries.js';
import { CONFIG_CORPUS, FUZZ_ENV, VFS, VFS_DIR } from '../corpus.js';
import { OracleFailure, check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

const MAIN = `${VFS_DIR}/main.conf`;

const readFile = (p: string): string => {
  const t = VFS[p];
  if (t === undefined) throw Object.assign(new Error(`no such file: ${p}`), { code: 'ENOENT' });
  return t;
};

const DICT_TEXT = [
  '{', '}', '[', ']', '=', ':', ',', ';', '"', "'", '(', ')', '\n)', '#', '//', '/*', '\\', '$', '\n', ' ', '\t', '\r', '-', '.', '0',
  'include ', 'include "x.conf"', 'include self.conf', 'include chain0.conf', 'include deep.conf', 'include bad.conf', 'include a.conf',
  '$FUZZ_PORT', '$FUZZ_CYCLE_A', '$FUZZ_SELF', '$FUZZ_BAD', '$FUZZ_DEEP', '$FUZZ_MAP', '$FUZZ_EMPTY', '$UNDEFINED', '$2a$11$abc',
  '99999999999999999999', '9223372036854775808', '-9223372036854775809', '1e400', '-1e400', '0.0000001', '1kb', '1KiB', '1GB',
  '100TB', '1EB', '1pb', '2020-01-01T00:00:00Z', '2020-13-45T99:99:99Z', '"\\u00e9"', '"\\x41"', '"\\q"', '"\\', "'''", 'true',
  'off', 'null', 'NaN', '\u0000', '\ufeff', '\u00e9', '\u{1F600}', 'port', 'tls', 'ocsp', 'authorization', 'users', 'max_payload',
  'listen', '::1', '[::1]:4222', '0.0.0.0:99999', 'mode: always', 'url: ', '"1m"', '"-5s"', '"9999999h"',
];
const DICT = DICT_TEXT.map((s) => Buffer.from(s, 'utf8'));

const TOKEN_RE = /\s+|[{}[\]=:,;"'()#$\\]|[^\s{}[\]=:,;"'()#$\\]+/g;
const tokens = (text: string): string[] => text.match(TOKEN_RE) ?? [];

const BASES = [...CONFIG_CORPUS, ...REALISTIC_CONFIGS];
const BASE_TOKENS = BASES.map(tokens);
const ALPHABET = [...'{}[]=:,;"\'()#$\\/-._ \t\n\r0123456789abcdefkmgtxyzKMGTSE\u00e9\u0000\u{1F600}'];
const KEYS = ['port', 'listen', 'authorization', 'users', 'user', 'password', 'tls', 'ocsp', 'accounts', 'a', 'x', 'server_name', 'max_payload', 'permissions'];

function sampleRendered(src: Src): { text: string; value: unknown } {
  const [c] = fc.sample(configArb, { seed: src.int(2 ** 31), numRuns: 1 });
  return c!;
}

function mutateTokens(src: Src, text: string, recipe: string[]): string {
  const t = tokens(text);
  const n = t.length;
  const i = src.int(n + 1);
  switch (src.int(6)) {
    case 0:
      t.splice(i, 1 + src.int(3));
      recipe.push(`tok-delete@${i}`);
      break;
    case 1:
      t.splice(i, 0, ...t.slice(i, i + 1 + src.int(4)));
      recipe.push(`tok-dup@${i}`);
      break;
    case 2: {
      const j = src.int(n + 1);
      if (i < n && j < n) [t[i], t[j]] = [t[j]!, t[i]!];
      recipe.push(`tok-swap@${i},${j}`);
      break;
    }
    case 3:
      t.splice(i, src.int(2), src.pick(DICT_TEXT));
      recipe.push(`tok-dict@${i}`);
      break;
    case 4: {
      const other = src.pick(BASE_TOKENS);
      t.splice(i, src.int(2), ...other.slice(src.int(other.length + 1)).slice(0, 1 + src.int(8)));
      recipe.push(`tok-graft@${i}`);
      break;
    }
    default: {
      const other = src.pick(BASE_TOKENS);
      recipe.push(`splice@${i}`);
      return t.slice(0, i).join('') + other.slice(src.int(other.length + 1)).join('');
    }
  }
  return t.join('');
}

function nested(src: Src): string {
  const depth = src.oneIn(3) ? src.pick([255, 256, 257, 258, 300, 2000, 20_000]) : 1 + src.int(12);
  const kinds: ('map' | 'array')[] = [];
  let open = src.oneIn(2) ? '' : `${src.pick(KEYS)}${src.pick([': ', ' = ', ' '])}`;
  for (let d = 0; d < depth; d++) {
    const k = src.oneIn(2) ? 'map' : 'array';
    kinds.push(k);
    open += k === 'map' ? `{ ${src.pick(KEYS)}${src.pick([': ', '=', ' '])}` : '[';
  }
  const leaf = src.pick(['1', 'x', '"s"', '$FUZZ_MAP', '$FUZZ_DEEP', '', 'true', '1.5', '2020-01-01T00:00:00Z']);
  let close = '';
  const closeAll = !src.oneIn(4);
  for (let d = kinds.length - 1; d >= 0; d--) {
    if (!closeAll && src.oneIn(8)) break;
    close += kinds[d] === 'map' ? ' }' : ']';
  }
  return open + leaf + close + (src.oneIn(2) ? '\n' : '');
}

function variables(src: Src): string {
  const names = ['a', 'b', 'c', 'port', 'FUZZ_PORT', 'FUZZ_CYCLE_A', 'x_y', 'users'];
  let out = '';
  let depth = 0;
  for (let n = 1 + src.int(12); n > 0; n--) {
    const r = src.int(6);
    if (r === 0 && depth < 4) {
      out += `${src.pick(names)} {\n`;
      depth++;
    } else if (r === 1 && depth > 0) {
      out += '}\n';
      depth--;
    } else {
      const v = src.oneIn(2) ? `$${src.pick(names)}` : src.pick(['1', '"s"', '[$a, $b]', '{ k: $c }', '$2a$11$zzz', '$', '$$a', '${a}']);
      out += `${src.pick(names)}${src.pick([' = ', ': ', ' '])}${v}\n`;
    }
  }
  while (src.oneIn(2) && depth-- > 0) out += '}\n';
  return out;
}

function randomText(src: Src): string {
  const n = src.len(2048);
  switch (src.int(3)) {
    case 0: {
      let s = '';
      for (let i = 0; i < n; i++) s += src.pick(ALPHABET);
      return s;
    }
    case 1:
      return src.bytes(n).toString('latin1');
    default:
      return src.bytes(n).toString('utf8');
  }
}

export async function create(_opts: TargetOptions): Promise<TargetInstance> {
  const stats: Record<string, number> = {};
  const bump = (k: string): void => {
    stats[k] = (stats[k] ?? 0) + 1;
  };

  /** The oracle: loads or throws a ConfigError positioned inside the file it names. */
  function load(text: string): void {
    try {
      parseConfigText(text, MAIN, { env: FUZZ_ENV, readFile });
      bump('loaded');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      check(e.errors.length >= 1, 'ConfigError without errors');
      for (const err of e.errors) {
        const fileText = err.file === MAIN ? text : VFS[err.file];
        check(fileText !== undefined, () => `error in an unknown file: ${JSON.stringify(err.headline)}`);
        const lines = fileText.split('\n');
        check(err.line >= 1 && err.line <= lines.length, () => `line ${err.line} outside the file (${lines.length} lines): ${err.headline}`);
        const lineLen = lines[err.line - 1]!.length;
        check(err.column >= 1 && err.column <= lineLen + 1, () => `column ${err.column} outside line ${err.line} (${lineLen} chars): ${err.headline}`);
      }
      check(e.message.startsWith(`${e.file}:${e.line}:${e.column}: `), () => `message without its position: ${e.message.slice(0, 200)}`);
      if (e.file !== MAIN) bump('errors in included files');
      bump('rejected with a positioned ConfigError');
    }
  }

  const kinds: Kind[] = [
    {
      name: 'rendered',
      weight: 2,
      run(src, cur) {
        const c = sampleRendered(src);
        cur.set(c.text, 'configArb');
        let plain: unknown;
        try {
          plain = toPlain(parseConfig(c.text, MAIN, { env: {}, readFile }));
          assert.deepStrictEqual(plain, c.value);
        } catch (e) {
          throw new OracleFailure(`a rendered tree does not parse back to its value: ${(e as Error).message.slice(0, 500)}`);
        }
        load(c.text);
      },
    },
    {
      name: 'mutated',
      weight: 5,
      run(src, cur) {
        let text = src.oneIn(4) ? sampleRendered(src).text : src.pick(BASES);
        const recipe: string[] = [];
        for (let n = 1 + src.int(6); n > 0; n--) {
          if (src.oneIn(2)) text = mutateTokens(src, text, recipe);
          else {
            const m: ByteMutation = { first: 0, recipe };
            text = mutateBytes(src, Buffer.from(text, 'utf8'), DICT, 1, m).toString(src.oneIn(8) ? 'latin1' : 'utf8');
          }
        }
        cur.set(text, recipe.join(' '));
        load(text);
      },
    },
    {
      name: 'nesting',
      weight: 1,
      run(src, cur) {
        const text = nested(src);
        cur.set(text);
        load(text);
      },
    },
    {
      name: 'variables',
      weight: 1,
      run(src, cur) {
        const text = variables(src);
        cur.set(text);
        load(text);
      },
    },
    {
      name: 'random',
      weight: 1,
      run(src, cur) {
        const text = randomText(src);
        cur.set(text);
        load(text);
      },
    },
  ];
  return { kinds, stats };
}
