// fast-check arbitraries producing random, valid configuration texts together with
// the plain value they must parse back to. Shared by the property tests and the
// fuzzing worker.

import fc from 'fast-check';
import type { PlainValue } from '../../src/config/index.js';

export interface Rendered {
  text: string;
  value: PlainValue;
  /** Block strings must be followed by a newline (their ')' must be alone on its line). */
  needsNewline?: boolean;
}

const BOOL_WORDS: [string, boolean][] = [
  ['true', true],
  ['TRUE', true],
  ['yes', true],
  ['Yes', true],
  ['on', true],
  ['On', true],
  ['false', false],
  ['False', false],
  ['no', false],
  ['NO', false],
  ['off', false],
  ['OFF', false],
];

const SUFFIXES: [string, number][] = [
  ['k', 1e3],
  ['K', 1e3],
  ['kb', 1024],
  ['KiB', 1024],
  ['ki', 1024],
  ['m', 1e6],
  ['MB', 1024 ** 2],
  ['mi', 1024 ** 2],
  ['g', 1e9],
  ['GB', 1024 ** 3],
  ['t', 1e12],
  ['tb', 1024 ** 4],
];

function escapeDq(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out;
}

const BARE_RE = /^[A-Za-z_][A-Za-z0-9_./@-]*$/;
const BOOLS = new Set(['true', 'false', 'yes', 'no', 'on', 'off']);

export const intArb: fc.Arbitrary<Rendered> = fc.integer({ min: -1e12, max: 1e12 }).map((n) => ({ text: String(n), value: n }));

export const sizeArb: fc.Arbitrary<Rendered> = fc
  .tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom(...SUFFIXES))
  .map(([n, [suffix, mult]]) => ({ text: `${n}${suffix}`, value: n * mult }));

export const floatArb: fc.Arbitrary<Rendered> = fc
  .tuple(fc.boolean(), fc.integer({ min: 0, max: 1e6 }), fc.stringMatching(/^\d{1,6}$/))
  .map(([neg, i, frac]) => {
    const text = `${neg ? '-' : ''}${i}.${frac}`;
    return { text, value: Number(text) };
  });

export const boolArb: fc.Arbitrary<Rendered> = fc.constantFrom(...BOOL_WORDS).map(([text, value]) => ({ text, value }));

export const stringArb: fc.Arbitrary<Rendered> = fc
  .tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.stringMatching(/^[a-z][a-z0-9_.]{0,10}$/)), fc.nat(2))
  .map(([s, style]) => {
    if (style === 0 && BARE_RE.test(s) && !BOOLS.has(s.toLowerCase())) return { text: s, value: s };
    if (style === 1 && !s.includes("'")) return { text: `'${s}'`, value: s };
    return { text: `"${escapeDq(s)}"`, value: s };
  });

export const dateArb: fc.Arbitrary<Rendered> = fc
  .date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => {
    const secs = new Date(Math.floor(d.getTime() / 1000) * 1000);
    return { text: secs.toISOString().replace(/\.\d{3}Z$/, 'Z'), value: secs };
  });

export const blockArb: fc.Arbitrary<Rendered> = fc
  .string({ maxLength: 30, unit: fc.constantFrom('a', 'b', ' ', '\n', '"', "'", '#', '{', '}', '[', ']', '=', ':', '\\', 'x') })
  .map((content) => ({ text: `(${content}\n)`, value: content, needsNewline: true }));

export const leafArb: fc.Arbitrary<Rendered> = fc.oneof(intArb, sizeArb, floatArb, boolArb, stringArb, stringArb, dateArb, blockArb);

const keyArb: fc.Arbitrary<{ text: string; key: string }> = fc.oneof(
  fc
    .stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/)
    .filter((k) => k.toLowerCase() !== 'include')
    .map((k) => ({ text: k, key: k })),
  fc
    .string({ maxLength: 8 })
    .filter((k) => !k.includes('"'))
    .map((k) => ({ text: `"${k}"`, key: k })),
  fc
    .string({ maxLength: 8 })
    .filter((k) => !k.includes("'"))
    .map((k) => ({ text: `'${k}'`, key: k })),
);

function plainObject(entries: [string, PlainValue][]): { [k: string]: PlainValue } {
  const o: { [k: string]: PlainValue } = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const SEPARATORS = [' = ', ': ', ' ', '=', ':', '\t:\t'];
const COMMENTS = ['', '', '', ' # a comment', ' // another one'];

function renderEntries(
  entries: { key: { text: string; key: string }; value: Rendered; sep: string; term: string; comment: string }[],
  lastTerm: string,
): string {
  let out = '';
  entries.forEach((e, i) => {
    const last = i === entries.length - 1;
    let term = last ? lastTerm : e.term;
    let comment = e.comment;
    if (e.value.needsNewline) {
      term = '\n';
      comment = '';
    }
    if (comment && !term.includes('\n')) comment = '';
    if (comment) term = '\n';
    out += `${e.key.text}${e.sep}${e.value.text}${comment}${term}`;
  });
  return out;
}

const entryArb = (valueArb: fc.Arbitrary<Rendered>, terms: string[]) =>
  fc.record({
    key: keyArb,
    value: valueArb,
    sep: fc.constantFrom(...SEPARATORS),
    term: fc.constantFrom(...terms),
    comment: fc.constantFrom(...COMMENTS),
  });

const uniqueEntries = (valueArb: fc.Arbitrary<Rendered>, terms: string[], maxLength: number) =>
  fc.uniqueArray(entryArb(valueArb, terms), { selector: (e) => e.key.key, maxLength }).map((es) => es.filter((e) => e.key.key !== '__proto__'));

export const valueArb: fc.Arbitrary<Rendered> = fc.letrec<{ value: Rendered; array: Rendered; map: Rendered }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leafArb, leafArb, tie('array'), tie('map')),
  array: fc
    .tuple(fc.array(tie('value'), { maxLength: 4 }), fc.constantFrom(', ', ',', '\n', ',\n', ' ,  '), fc.boolean())
    .map(([items, sep, trailing]) => {
      let text = '[';
      items.forEach((it, i) => {
        text += it.text;
        const last = i === items.length - 1;
        if (it.needsNewline) text += last ? '\n' : '\n';
        else if (!last) text += sep;
        else if (trailing) text += sep.includes(',') ? ',' : '\n';
      });
      text += ']';
      return { text, value: items.map((it) => it.value) };
    }),
  map: uniqueEntries(tie('value'), ['\n', ', ', '; ', ','], 4).map((entries) => ({
    text: `{${entries.length ? ' ' : ''}${renderEntries(entries, ' ')}}`,
    value: plainObject(entries.map((e) => [e.key.key, e.value.value])),
  })),
})).value;

/** A whole configuration file: top-level entries, optionally wrapped in { }. */
export const configArb: fc.Arbitrary<Rendered> = fc
  .tuple(uniqueEntries(valueArb, ['\n', '; ', ', ', '\n\n'], 6), fc.boolean(), fc.constantFrom('', '# header\n', '// header\n\n'))
  .map(([entries, wrap, header]) => {
    const body = renderEntries(entries, '\n');
    const text = wrap ? `${header}{\n${body}}\n` : `${header}${body}`;
    return { text, value: plainObject(entries.map((e) => [e.key.key, e.value.value])) };
  });

/** Realistic server configurations that load without errors. */
export const REALISTIC_CONFIGS: string[] = [
  `# server
server_name: tsnats_1
listen: 127.0.0.1:4222
http: 127.0.0.1:8222
max_payload: 1MB
max_pending: 64MB
ping_interval: "30s"
write_deadline: 5s
store_dir: "/var/lib/tsnats"
ocsp {
  mode: always
  urls: ["http://127.0.0.1:8888", "http://127.0.0.1:8889"]
}
tls {
  cert_file: "server-cert.pem"
  key_file: "server-key.pem"
  ca_file: "ca.pem"
  verify: true
  timeout: 2.5
  handshake_first: auto
  cipher_suites: ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
  curve_preferences: [X25519, CurveP256]
}
`,
  `PASS = "$2a$11$ooo4gPBbeGmj0Rc5pnU0peSsXo4sVmJwHz3yMkUh7kVXyB5qCmUTu"
authorization {
  ADMIN = { publish = ">", subscribe = ">" }
  default_permissions = { publish = { allow: ["public.>"], deny: "public.secret" } }
  users = [
    { user: admin, password: $PASS, permissions: $ADMIN }
    { user: app, password: "s3cret", permissions: { pub: ["req.*"], sub: "_INBOX.>", allow_responses: { max: 2, expires: "30s" } } }
  ]
  timeout: 1.5
}
no_auth_user: app
debug: false
trace: off
logtime: true
lame_duck_duration: "1m"
`,
  `{
  "port": 4333,
  "jetstream": { "store_dir": "/tmp/js", "max_mem": "1G" },
  "authorization": { "token": "abc" },
  "ocsp": false
}
`,
];
