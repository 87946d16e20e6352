// Fuzz target: the client-protocol parser (src/protocol/parser.ts).
//
// Every input, whatever its kind, is parsed twice, as one chunk and split at random points (or one
// byte at a time), and must give the same handler calls. Always checked: the parser never throws;
// at most one violation, as the last call, after which it ignores input; its buffers stay within
// max_control_line + 1 (control line) and max_payload (payload); and every violation kind has
// nats-server's answer in the -ERR table (src/protocol/errors.ts).
// Kinds with an exact oracle on top:
// - valid: random streams of valid ops (binary tokens, both line endings, random case, leading
//   zeros, limits exactly at their bound, auth and headers switches): exactly the expected calls;
// - mutated: valid streams with byte mutations: the ops before the first mutated byte still give
//   exactly their calls;
// - structured: one hostile op after valid ones, with the answer nats-server gives for it: huge
//   sizes, overflowing/negative/non-numeric sizes, header size above total, wrong arity, missing
//   CRLF after the payload, a stream cut anywhere (no call, no error), binary subjects, control
//   lines at max_control_line -2..+50 (terminated by CRLF, LF, CR or nothing), long PING lines,
//   near-miss verbs, a first op other than CONNECT when auth is required, HPUB without headers,
//   payloads up to 1 MiB across chunks.
// Unchecked beyond the invariants: `soup` (protocol fragments + random bytes) and `random` bytes.

import { Recorder, splitAt, type Call } from '../../protocol/recorder.js';
import { VIOLATION_ERRORS } from '../../../src/protocol/errors.js';
import type { ProtocolViolation } from '../../../src/protocol/handler.js';
import type { ParserLimits } from '../../../src/protocol/parser.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

// nats-server's answer per violation (reference: nats-protocol-config-anchors.md §1.13, checked live
// by test/protocol/nats-server-errors.test.ts): the -ERR text, or null for "close without -ERR".
// Written out here on purpose, independently of errors.ts, which is what is being checked.
const NATS_ANSWER: Record<ProtocolViolation, string | null> = {
  unknown_op: 'Unknown Protocol Operation',
  max_control_line: 'maximum control line exceeded',
  max_payload: 'Maximum Payload Violation',
  auth_violation: 'Authorization Violation',
  bad_args: null,
};

interface Setup {
  limits: ParserLimits;
  expectConnect: boolean;
  headers: boolean;
}

type Verb = 'ping' | 'pong' | 'ok' | 'connect' | 'info' | 'err' | 'pub' | 'hpub' | 'sub' | 'unsub';

interface Op {
  verb: Verb;
  bytes: Buffer;
  calls: Call[];
  /** Length of the control-line argument as max_control_line counts it (0: not limited). */
  arg: number;
  /** Announced payload size (0 if none). */
  payload: number;
}

interface Stream {
  ops: Op[];
  bytes: Buffer;
  calls: Call[];
  /** Offset just past each op. */
  ends: number[];
  maxArg: number;
  maxPayload: number;
}

const MiB = 1024 * 1024;
const DEFAULTS: ParserLimits = { maxControlLine: 4096, maxPayload: MiB };
const L = (s: string): Buffer => Buffer.from(s, 'latin1');
const lat = (b: Buffer): string => b.toString('latin1');

// ---- pieces of valid ops -----------------------------------------------------------------------

const SUBJECT_CHARS = L('abcdefghijklmnopqrstuvwxyz0123456789.*>_-ABCXYZ$');

function isSepOrEol(b: number): boolean {
  return b === 32 || b === 9 || b === 13 || b === 10;
}

/** A token (subject, reply, queue, sid): no space, tab, CR or LF; ASCII, printable or binary. */
function token(src: Src, maxLen = 16, binary = false): string {
  const n = 1 + src.len(maxLen - 1);
  const mode = binary ? 3 : src.int(4);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    let c: number;
    if (mode <= 1) c = SUBJECT_CHARS[src.int(SUBJECT_CHARS.length)]!;
    else if (mode === 2) c = 0x21 + src.int(0x5e);
    else c = src.int(256);
    b[i] = isSepOrEol(c) ? 0x78 : c;
  }
  return lat(b);
}

function sep(src: Src): string {
  if (!src.oneIn(4)) return ' ';
  let s = '';
  for (let n = 1 + src.int(3); n > 0; n--) s += src.oneIn(2) ? ' ' : '\t';
  return s;
}

const eol = (src: Src): string => (src.oneIn(4) ? '\n' : '\r\n');

function verbCase(src: Src, name: string): string {
  let out = '';
  for (const c of name) out += src.oneIn(2) ? c.toLowerCase() : c;
  return out;
}

/** A size with random leading zeros, never more than 9 digits. */
function sizeText(src: Src, n: number): string {
  const d = String(n);
  return src.oneIn(4) ? '0'.repeat(src.int(10 - d.length)) + d : d;
}

/** A CONNECT/INFO/-ERR argument: `n` bytes, no CR or LF, not starting with a space or tab. */
function lineArg(src: Src, n: number): Buffer {
  const b = src.oneIn(2) ? src.bytes(n) : L(JSON.stringify({ verbose: src.oneIn(2), v: token(src, 8) }).slice(0, n).padEnd(n, '}'));
  for (let i = 0; i < n; i++) if (b[i] === 10 || b[i] === 13) b[i] = 0x7a;
  if (n > 0 && (b[0] === 32 || b[0] === 9)) b[0] = 0x7b;
  return b;
}

/** Bytes of a PING/PONG/+OK line rest (ignored by the parser): anything but LF. */
function junk(src: Src, n: number): Buffer {
  const b = src.bytes(n);
  for (let i = 0; i < n; i++) if (b[i] === 10) b[i] = 0x79;
  return b;
}

function payloadSize(src: Src, max: number): number {
  const r = src.int(200);
  const cap = r < 180 ? 32 : r < 199 ? 512 : max;
  return src.int(Math.min(cap, max) + 1);
}

interface OpOptions {
  maxPayload: number;
  /** Verbs to choose from (default: all). */
  verbs?: readonly Verb[];
  binary?: boolean;
}

const ALL_VERBS: readonly Verb[] = ['ping', 'pong', 'ok', 'connect', 'info', 'err', 'pub', 'pub', 'pub', 'hpub', 'hpub', 'sub', 'sub', 'unsub'];

function genOp(src: Src, o: OpOptions): Op {
  const verb = src.pick(o.verbs ?? ALL_VERBS);
  const bin = o.binary ?? false;
  switch (verb) {
    case 'ping':
    case 'pong':
    case 'ok': {
      const name = verb === 'ok' ? '+OK' : verb.toUpperCase();
      const bytes = Buffer.concat([L(verbCase(src, name)), junk(src, src.len(8)), L(eol(src))]);
      return { verb, bytes, calls: [[verb]], arg: 0, payload: 0 };
    }
    case 'connect':
    case 'info':
    case 'err': {
      const name = verb === 'err' ? '-ERR' : verb.toUpperCase();
      const s = verb === 'err' || !src.oneIn(3) ? sep(src) : '';
      const a = lineArg(src, 1 + src.len(60));
      const bytes = Buffer.concat([L(verbCase(src, name) + s), a, L(eol(src))]);
      return { verb, bytes, calls: [[verb, a.toString('utf8')] as Call], arg: a.length, payload: 0 };
    }
    case 'pub':
    case 'hpub': {
      const subject = token(src, 16, bin);
      const reply = src.oneIn(2) ? token(src, 16, bin) : undefined;
      const hdr = verb === 'hpub' ? src.bytes(payloadSize(src, o.maxPayload)) : null;
      const body = src.bytes(payloadSize(src, o.maxPayload - (hdr?.length ?? 0)));
      const payload = hdr ? Buffer.concat([hdr, body]) : body;
      const sizes = hdr ? `${sizeText(src, hdr.length)}${sep(src)}${sizeText(src, payload.length)}` : sizeText(src, payload.length);
      const arg = `${subject}${reply !== undefined ? sep(src) + reply : ''}${sep(src)}${sizes}${src.oneIn(5) ? sep(src) : ''}`;
      const line = `${verbCase(src, verb.toUpperCase())}${sep(src)}${arg}${eol(src)}`;
      return {
        verb,
        bytes: Buffer.concat([L(line), payload, L('\r\n')]),
        calls: [['pub', subject, reply, hdr ? hdr.length : -1, lat(payload)]],
        arg: arg.length,
        payload: payload.length,
      };
    }
    case 'sub': {
      const subject = token(src, 16, bin);
      const queue = src.oneIn(3) ? token(src, 12, bin) : undefined;
      const sid = token(src, 8, bin);
      const arg = `${subject}${queue !== undefined ? sep(src) + queue : ''}${sep(src)}${sid}${src.oneIn(5) ? sep(src) : ''}`;
      return { verb, bytes: L(`${verbCase(src, 'SUB')}${sep(src)}${arg}${eol(src)}`), calls: [['sub', subject, queue, sid]], arg: arg.length, payload: 0 };
    }
    case 'unsub': {
      const sid = token(src, 8, bin);
      let max: number | undefined;
      let maxText = '';
      const r = src.int(4);
      if (r === 1) {
        max = src.oneIn(2) ? src.int(1000) : src.int(1_000_000_000);
        maxText = sizeText(src, max);
      } else if (r === 2) {
        maxText = src.pick(['-1', 'abc', '1234567890', '+1', '99999999999', '0x1', '1.5', '', '']);
        if (maxText === '') maxText = token(src, 4);
        max = /^[0-9]{1,9}$/.test(maxText) ? Number(maxText) : -1;
      }
      const arg = `${sid}${max !== undefined ? sep(src) + maxText : ''}${src.oneIn(5) ? sep(src) : ''}`;
      return { verb, bytes: L(`${verbCase(src, 'UNSUB')}${sep(src)}${arg}${eol(src)}`), calls: [['unsub', sid, max]], arg: arg.length, payload: 0 };
    }
  }
}

function genStream(src: Src, n: number, o: OpOptions): Stream {
  const ops: Op[] = [];
  const ends: number[] = [];
  let off = 0;
  let maxArg = 0;
  let maxPayload = 0;
  for (let i = 0; i < n; i++) {
    const op = genOp(src, o);
    ops.push(op);
    off += op.bytes.length;
    ends.push(off);
    maxArg = Math.max(maxArg, op.arg);
    maxPayload = Math.max(maxPayload, op.payload);
  }
  return { ops, ends, maxArg, maxPayload, bytes: Buffer.concat(ops.map((x) => x.bytes)), calls: ops.flatMap((x) => x.calls) };
}

const EMPTY: Stream = { ops: [], ends: [], maxArg: 0, maxPayload: 0, bytes: Buffer.alloc(0), calls: [] };

/** Valid ops that fit `limits` (or none). */
function fitting(src: Src, n: number, limits: ParserLimits): Stream {
  if (n === 0) return EMPTY;
  const s = genStream(src, n, { maxPayload: Math.max(0, Math.min(limits.maxPayload, 256)) });
  return s.maxArg <= limits.maxControlLine && s.maxPayload <= limits.maxPayload ? s : EMPTY;
}

// ---- running and the invariants ----------------------------------------------------------------

interface Outcome {
  calls: Call[];
  stopped: boolean;
}

/** Same calls (element-wise `===` on the tuples: strings compare as values). */
function sameList(a: readonly Call[], b: readonly Call[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
  }
  return true;
}

function firstDiff(a: readonly Call[], b: readonly Call[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = JSON.stringify(a[i]);
    const y = JSON.stringify(b[i]);
    if (x !== y) return `call #${i}: ${(x ?? 'none').slice(0, 300)} vs ${(y ?? 'none').slice(0, 300)} (${a.length} vs ${b.length} calls)`;
  }
  return 'equal';
}

function describe(s: Setup): string {
  return `limits ${s.limits.maxControlLine}/${s.limits.maxPayload}${s.expectConnect ? ', expectConnect' : ''}${s.headers ? '' : ', headers off'}`;
}

function feed(chunks: readonly Buffer[], s: Setup): Outcome & { r: Recorder } {
  const r = new Recorder(s.limits);
  r.parser.expectConnect = s.expectConnect;
  r.parser.headers = s.headers;
  const p = r.parser;
  for (const c of chunks) {
    p.parse(c);
    const scratch = p.scratchBytes;
    const pending = p.pendingPayloadBytes;
    check(scratch <= s.limits.maxControlLine + 1, () => `scratch holds ${scratch} bytes, max_control_line ${s.limits.maxControlLine}`);
    check(pending === 0 || scratch === 0, 'scratch and payload buffers held at once');
    check(s.limits.maxPayload < 0 || pending <= s.limits.maxPayload, () => `payload buffer holds ${pending} bytes, max_payload ${s.limits.maxPayload}`);
  }
  return { calls: r.calls, stopped: p.stopped, r };
}

function chunksOf(src: Src, b: Buffer): Buffer[] {
  const mode = src.int(10);
  if (mode === 0 && b.length <= 512) {
    const out: Buffer[] = [];
    for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
    return out;
  }
  if (mode === 1) {
    const size = 1 + src.int(b.length <= 16_384 ? 64 : 4096);
    const out: Buffer[] = [];
    for (let i = 0; i < b.length; i += size) out.push(Buffer.from(b.subarray(i, i + size)));
    return out;
  }
  const cuts: number[] = [];
  for (let n = src.int(13); n > 0; n--) cuts.push(src.int(b.length + 1));
  return splitAt(b, cuts.sort((x, y) => x - y));
}

function createChecker(stats: Record<string, number>) {
  const bump = (k: string, n = 1): void => {
    stats[k] = (stats[k] ?? 0) + n;
  };
  /** Parses whole and split, checks every invariant, returns the calls. */
  return function exercise(src: Src, bytes: Buffer, s: Setup): Outcome {
    const whole = feed([bytes], s);
    const split = feed(chunksOf(src, bytes), s);
    check(sameList(whole.calls, split.calls), () => `split parse differs from the unsplit parse (${describe(s)}): ${firstDiff(whole.calls, split.calls)}`);
    check(whole.stopped === split.stopped, 'split and unsplit parses disagree on stopping');
    const calls = whole.calls;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!;
      if (c[0] === 'violation') {
        check(i === calls.length - 1, () => `violation ${c[1]} is call #${i} of ${calls.length}, not the last`);
        check(Object.prototype.hasOwnProperty.call(NATS_ANSWER, c[1]), () => `unknown violation kind ${String(c[1])}`);
        const wire = VIOLATION_ERRORS[c[1]];
        check((wire?.text ?? null) === NATS_ANSWER[c[1]], () => `violation ${c[1]} answers ${wire?.text ?? 'nothing'}, nats-server answers ${NATS_ANSWER[c[1]] ?? 'nothing'}`);
        check(whole.stopped, 'a violation did not stop the parser');
        const before = whole.r.calls.length;
        whole.r.parser.parse(L('PING\r\nPUB a 1\r\nx\r\n'));
        check(whole.r.calls.length === before, 'the parser produced calls after a violation');
        bump(`violation ${c[1]}`);
      } else if (c[0] === 'pub') {
        check(c[1].length > 0 && !/[ \t]/.test(c[1]), () => `PUB subject ${JSON.stringify(c[1])} is empty or has a separator`);
        check(c[3] <= c[4].length, 'HPUB header size above the payload size');
        bump('dispatched ops');
      } else {
        bump('dispatched ops');
      }
    }
    return { calls, stopped: whole.stopped };
  };
}

// ---- structured hostile ops --------------------------------------------------------------------

interface Case {
  name: string;
  bytes: Buffer;
  setup: Setup;
  expected: Call[];
  stopped: boolean;
}

const plain = (limits: ParserLimits = DEFAULTS): Setup => ({ limits, expectConnect: false, headers: true });
const V = (k: ProtocolViolation): Call => ['violation', k];

const OVERFLOW = ['1000000000', '2147483648', '4294967296', '9223372036854775807', '9223372036854775808', '18446744073709551616', '0000000000', '0000000001', '99999999999999999999999'];
const NEGATIVE = ['-1', '-0', '-999999999', '-2147483648', '-18446744073709551616', '\u00e2\u0088\u00921'];
const NOT_A_NUMBER = ['1a', 'a1', '0x10', '+5', '1e3', '1.0', '5\u0000', '\u00d9\u00a1', '\u00ef\u00bc\u0091', 'NaN', 'Infinity', '1_0'];
const NEAR_MISS = [
  'PU\r\n', 'PUB\r\n', 'PUB\n', 'HPUB\r\n', 'SUB\n', 'UNSUB\r\n', 'PUBB a 1\r\n', 'PONX\r\n', 'PIN\r\n', 'CONNEC\n', 'INF\n',
  '+O\r\n', '-ER\r\n', '-ERR\r\n', 'MSG foo 1 0\r\n', 'HMSG a 1 0 0\r\n', 'RS+ a\r\n', 'LS- a\r\n', '\r\n', '\n', ' PING\r\n',
  '\tPUB a 0\r\n', 'PUSH\r\n', 'SUBSCRIBE a 1\r\n', 'UNSUBSCRIBE 1\r\n', 'HPUBX\r\n', 'P\u0000B a 0\r\n', 'CONECT {}\r\n',
];
/** First bytes that start some op: anything else is an unknown op. */
const OP_STARTS = new Set(L('pPsShHuUcCiI+-'));

/** PUB/HPUB whose size (PUB) or header or total size (HPUB) is `bad`. */
function badSizeOp(src: Src, verb: 'pub' | 'hpub', bad: string): Buffer {
  const [hdr, total] = verb === 'pub' || src.oneIn(2) ? ['0', bad] : [bad, '5'];
  const subject = token(src);
  const reply = src.oneIn(3) ? sep(src) + token(src) : '';
  const sz = verb === 'hpub' ? `${hdr}${sep(src)}${total}` : total;
  return L(`${verbCase(src, verb.toUpperCase())}${sep(src)}${subject}${reply}${sep(src)}${sz}${eol(src)}`);
}

type CaseGen = (src: Src) => Omit<Case, 'name'>;

/** Prefix ops + the hostile op + a tail: the calls of the prefix, then the violation. */
function fatal(src: Src, setup: Setup, bad: Buffer, kind: ProtocolViolation, prefixVerbs?: readonly Verb[]): Omit<Case, 'name'> {
  let pre = fitting(src, src.int(4), setup.limits);
  if (prefixVerbs && pre.ops.some((o) => !prefixVerbs.includes(o.verb))) pre = EMPTY;
  return { bytes: Buffer.concat([pre.bytes, bad, src.bytes(src.len(32))]), setup, expected: [...pre.calls, V(kind)], stopped: true };
}

/** Prefix ops + an op that is fine + more ops: all their calls. */
function fine(src: Src, setup: Setup, op: { bytes: Buffer; calls: Call[] }): Omit<Case, 'name'> {
  const pre = fitting(src, src.int(3), setup.limits);
  const post = fitting(src, src.int(3), setup.limits);
  return { bytes: Buffer.concat([pre.bytes, op.bytes, post.bytes]), setup, expected: [...pre.calls, ...op.calls, ...post.calls], stopped: false };
}

const CASES: [string, number, CaseGen][] = [
  [
    'huge size',
    3,
    (src) => {
      const p = src.pick([0, 1, 64, 4096, 65536, MiB]);
      const n = src.pick([p + 1, 999_999_999, p + 1 + src.int(999_999_999 - p - 1)]);
      const verb = src.oneIn(3) ? 'hpub' : 'pub';
      const total = sizeText(src, n);
      const hdr = sizeText(src, src.int(n + 1));
      const bad = verb === 'pub' ? badSizeOp(src, verb, total) : L(`HPUB ${token(src)} ${hdr} ${total}\r\n`);
      return fatal(src, plain({ maxControlLine: 4096, maxPayload: p }), bad, 'max_payload');
    },
  ],
  [
    'overflowing size',
    2,
    (src) => {
      const big = (s: Src): string => (s.oneIn(2) ? s.pick(OVERFLOW) : String(1 + s.int(9)) + '9'.repeat(9 + s.int(20)));
      const verb = src.oneIn(2) ? 'hpub' : 'pub';
      const bad = badSizeOp(src, verb, big(src));
      return fatal(src, plain(), bad, 'bad_args');
    },
  ],
  [
    'negative size',
    2,
    (src) => {
      const verb = src.oneIn(2) ? 'hpub' : 'pub';
      const bad = badSizeOp(src, verb, src.pick(NEGATIVE));
      return fatal(src, plain(), bad, 'bad_args');
    },
  ],
  [
    'non-numeric size',
    2,
    (src) => {
      const verb = src.oneIn(2) ? 'hpub' : 'pub';
      const bad = badSizeOp(src, verb, src.pick(NOT_A_NUMBER));
      return fatal(src, plain(), bad, 'bad_args');
    },
  ],
  [
    'header size above total',
    1,
    (src) => {
      const total = src.int(999_999_998);
      const hdr = total + 1 + src.int(999_999_999 - total);
      return fatal(src, plain(), L(`${verbCase(src, 'HPUB')}${sep(src)}${token(src)}${sep(src)}${sizeText(src, hdr)}${sep(src)}${sizeText(src, total)}${eol(src)}`), 'bad_args');
    },
  ],
  [
    'wrong arity',
    2,
    (src) => {
      const [verb, counts] = src.pick([
        ['PUB', [0, 1, 4, 5, 6, 7]],
        ['HPUB', [0, 1, 2, 5, 6]],
        ['SUB', [0, 1, 4, 5]],
        ['UNSUB', [0, 3, 4, 6]],
      ] as const);
      const n = src.pick(counts);
      const args: string[] = [];
      for (let i = 0; i < n; i++) args.push(src.oneIn(2) ? String(src.int(100)) : token(src));
      // With no argument the line must end in CRLF: the first byte after the separator starts the
      // argument whatever it is (nats-server too), so `PUB \n` goes on to the next LF.
      const end = n === 0 ? '\r\n' : eol(src);
      const bad = L(`${verbCase(src, verb)}${sep(src)}${args.map((a, i) => (i ? sep(src) : '') + a).join('')}${src.oneIn(4) ? sep(src) : ''}${end}`);
      return fatal(src, plain(), bad, 'bad_args');
    },
  ],
  [
    'no CRLF after payload',
    2,
    (src) => {
      const op = genOp(src, { maxPayload: 256, verbs: ['pub', 'hpub'] });
      const good = op.bytes.subarray(0, op.bytes.length - 2);
      const x = src.int(256);
      const tail = src.oneIn(2) ? Buffer.from([x === 13 ? 0x0a : x]) : Buffer.from([13, x === 10 ? 0x0d : x]);
      return fatal(src, plain(), Buffer.concat([good, tail]), 'unknown_op');
    },
  ],
  [
    'cut stream',
    2,
    (src) => {
      const pre = fitting(src, src.int(4), DEFAULTS);
      const op = genOp(src, { maxPayload: 4096 });
      const cut = op.bytes.subarray(0, src.int(op.bytes.length));
      return { bytes: Buffer.concat([pre.bytes, cut]), setup: plain(), expected: pre.calls, stopped: false };
    },
  ],
  [
    'binary subject',
    2,
    (src) => {
      if (src.oneIn(4)) {
        // a long binary subject (up to 1000 bytes)
        const subject = token(src, 1000, true);
        const payload = src.bytes(src.len(64));
        const arg = `${subject} ${payload.length}`;
        const limits = { maxControlLine: Math.max(4096, arg.length), maxPayload: MiB };
        return fine(src, plain(limits), {
          bytes: Buffer.concat([L(`PUB ${arg}\r\n`), payload, L('\r\n')]),
          calls: [['pub', subject, undefined, -1, lat(payload)]],
        });
      }
      return fine(src, plain(), genOp(src, { maxPayload: 256, verbs: ['pub', 'hpub', 'sub', 'unsub'], binary: true }));
    },
  ],
  [
    'control line at its limit',
    4,
    (src) => {
      const m = src.pick([3, 8, 16, 32, 100, 1000, 4096]);
      const d = src.pick([-2, -1, 0, 0, 1, 1, 2, 50]);
      const want = Math.max(3, m + d);
      const term = src.pick(['\r\n', '\n', '\r\n', '', '\r']);
      const complete = term.endsWith('\n');
      const limits = { maxControlLine: m, maxPayload: MiB };
      const verb = src.pick(['PUB', 'HPUB', 'SUB', 'UNSUB', 'CONNECT', 'INFO', '-ERR'] as const);
      let line: string;
      let rest = '';
      let call: Call;
      const pad = (n: number): string => token(src, 1).repeat(n);
      switch (verb) {
        case 'PUB': {
          const subj = pad(want - 2);
          line = `${subj} 0`;
          rest = '\r\n';
          call = ['pub', subj, undefined, -1, ''];
          break;
        }
        case 'HPUB': {
          const subj = pad(Math.max(1, want - 4));
          line = `${subj} 0 0`;
          rest = '\r\n';
          call = ['pub', subj, undefined, 0, ''];
          break;
        }
        case 'SUB': {
          const subj = pad(want - 2);
          line = `${subj} 1`;
          call = ['sub', subj, undefined, '1'];
          break;
        }
        case 'UNSUB': {
          const sid = pad(want);
          line = sid;
          call = ['unsub', sid, undefined];
          break;
        }
        default: {
          const a = lineArg(src, want);
          line = lat(a);
          call = [verb === '-ERR' ? 'err' : verb === 'CONNECT' ? 'connect' : 'info', a.toString('utf8')] as Call;
        }
      }
      const isOver = line.length > m;
      const bytes = L(`${verbCase(src, verb)} ${line}${term}${complete ? rest : ''}`);
      if (isOver) return fatal(src, plain(limits), bytes, 'max_control_line');
      if (!complete) {
        const pre = fitting(src, src.int(3), limits);
        return { bytes: Buffer.concat([pre.bytes, bytes]), setup: plain(limits), expected: pre.calls, stopped: false };
      }
      return fine(src, plain(limits), { bytes, calls: [call] });
    },
  ],
  [
    'long PING line',
    1,
    (src) => {
      const m = src.pick([1, 8, 32, 4096]);
      const verb = src.pick(['PING', 'PONG', '+OK'] as const);
      const n = src.pick([m, m + 1, 5000, 70_000]);
      const bytes = Buffer.concat([L(verbCase(src, verb)), junk(src, n), L(eol(src))]);
      return fine(src, plain({ maxControlLine: m, maxPayload: MiB }), { bytes, calls: [[verb === '+OK' ? 'ok' : verb === 'PING' ? 'ping' : 'pong']] });
    },
  ],
  [
    'unknown op',
    2,
    (src) => {
      let bad: Buffer;
      if (src.oneIn(2)) bad = L(src.pick(NEAR_MISS));
      else {
        let b = src.int(256);
        while (OP_STARTS.has(b)) b = (b + 1) & 0xff;
        bad = Buffer.concat([Buffer.from([b]), src.bytes(src.len(16))]);
      }
      return fatal(src, plain(), bad, 'unknown_op');
    },
  ],
  [
    'auth required',
    2,
    (src) => {
      const s = { ...plain(), expectConnect: true };
      const ops = genStream(src, 1 + src.int(4), { maxPayload: 256 });
      if (ops.ops[0]!.verb === 'connect') return { bytes: ops.bytes, setup: s, expected: ops.calls, stopped: false };
      return { bytes: ops.bytes, setup: s, expected: [V('auth_violation')], stopped: true };
    },
  ],
  [
    'HPUB without headers',
    1,
    (src) => {
      const s = { ...plain(), headers: false };
      const op = genOp(src, { maxPayload: 256, verbs: ['hpub'] });
      return fatal(src, s, op.bytes, 'bad_args', ['ping', 'pong', 'ok', 'connect', 'info', 'err', 'pub', 'sub', 'unsub']);
    },
  ],
  [
    'payload up to 1 MiB',
    1,
    (src) => {
      // Mostly 4..68 KiB; one in ten near or at 1 MiB (they cost ~100 times more).
      const size = src.oneIn(10) ? src.pick([MiB - 1, MiB, src.int(MiB + 1)]) : 4096 + src.int(65_536);
      const exact = src.oneIn(2);
      const payload = src.bytes(size);
      const hpub = src.oneIn(3);
      const hdr = hpub ? src.int(size + 1) : -1;
      const head = hpub ? `HPUB big ${hdr} ${size}\r\n` : `PUB big ${size}\r\n`;
      const limits = { maxControlLine: 4096, maxPayload: exact ? size : MiB };
      return fine(src, plain(limits), {
        bytes: Buffer.concat([L(head), payload, L('\r\n')]),
        calls: [['pub', 'big', undefined, hdr, lat(payload)]],
      });
    },
  ],
];

// ---- the target --------------------------------------------------------------------------------

const DICT = [
  'PUB ', 'HPUB ', 'SUB ', 'UNSUB ', 'CONNECT ', 'INFO ', 'PING', 'PONG', '+OK', '-ERR ', '\r\n', '\n', '\r', ' ', '\t',
  '999999999', '1000000000', '-1', '4294967296', '18446744073709551616', '0', '00000000001', '{}', '\u0000', '\u00ff',
  'PUB a 5\r\nhello\r\n', 'HPUB a 3 5\r\nh\r\nxy\r\n', 'PUB a 1048577\r\n',
].map(L);

const LIMIT_CHOICES_CL = [1, 2, 8, 16, 32, 64, 256, 1024, 4096];
const LIMIT_CHOICES_PL = [0, 1, 16, 64, 1024, 65_536, MiB];

function randomSetup(src: Src): Setup {
  return {
    limits: { maxControlLine: src.pick(LIMIT_CHOICES_CL), maxPayload: src.pick(LIMIT_CHOICES_PL) },
    expectConnect: src.oneIn(8),
    headers: !src.oneIn(8),
  };
}

function sameCalls(actual: readonly Call[], expected: readonly Call[], what: string): void {
  check(sameList(actual, expected), () => `${what}: ${firstDiff(actual, expected)}`);
}

export async function create(_opts: TargetOptions): Promise<TargetInstance> {
  // The -ERR table itself, once: every violation closes and has nats-server's exact frame.
  for (const [kind, text] of Object.entries(NATS_ANSWER) as [ProtocolViolation, string | null][]) {
    const wire = VIOLATION_ERRORS[kind];
    check((wire?.text ?? null) === text, `VIOLATION_ERRORS.${kind} is ${wire?.text ?? 'null'}, nats-server sends ${text ?? 'nothing'}`);
    if (wire) {
      check(wire.closes, `${kind} does not close the connection`);
      check(wire.frame.equals(L(`-ERR '${text}'\r\n`)), `${kind} frame is ${JSON.stringify(lat(wire.frame))}`);
    }
  }
  const stats: Record<string, number> = {};
  const exercise = createChecker(stats);
  const caseWeights = CASES.flatMap(([, w], i) => Array<number>(w).fill(i));

  const kinds: Kind[] = [
    {
      name: 'valid',
      weight: 3,
      run(src, cur) {
        const big = src.oneIn(300);
        const s = genStream(src, 1 + (src.oneIn(5) ? src.int(60) : src.int(8)), { maxPayload: big ? MiB : 4096 });
        const slack = (): number => src.pick([0, 0, 1, src.int(100), 100_000]);
        const setup: Setup = {
          limits:
            src.oneIn(3) && s.maxArg <= 4096 && s.maxPayload <= MiB
              ? DEFAULTS
              : { maxControlLine: Math.max(1, s.maxArg + slack()), maxPayload: s.maxPayload + slack() },
          expectConnect: src.oneIn(8),
          headers: !src.oneIn(8),
        };
        let expected = s.calls;
        if (setup.expectConnect && s.ops[0]!.verb !== 'connect') expected = [V('auth_violation')];
        else if (!setup.headers) {
          const h = s.ops.findIndex((o) => o.verb === 'hpub');
          if (h >= 0) expected = [...s.ops.slice(0, h).flatMap((o) => o.calls), V('bad_args')];
        }
        cur.set(s.bytes, describe(setup));
        const out = exercise(src, s.bytes, setup);
        sameCalls(out.calls, expected, `valid stream (${describe(setup)})`);
      },
    },
    {
      name: 'mutated',
      weight: 3,
      run(src, cur) {
        const s = genStream(src, 1 + src.int(10), { maxPayload: 512 });
        const setup = plain({ maxControlLine: Math.max(s.maxArg, src.pick([s.maxArg, 32, 4096])), maxPayload: Math.max(s.maxPayload, src.pick([0, 64, MiB])) });
        const m: ByteMutation = { first: s.bytes.length, recipe: [] };
        const bytes = mutateBytes(src, s.bytes, DICT, 1 + src.int(4), m);
        cur.set(bytes, `${describe(setup)}; ${m.recipe.join(' ')}`);
        const out = exercise(src, bytes, setup);
        let k = 0;
        while (k < s.ops.length && s.ends[k]! <= m.first) k++;
        const before = s.ops.slice(0, k).flatMap((o) => o.calls);
        sameCalls(out.calls.slice(0, before.length), before, `ops before the first mutated byte (${m.first})`);
      },
    },
    {
      name: 'structured',
      weight: 4,
      run(src, cur) {
        const [name, , gen] = CASES[src.pick(caseWeights)]!;
        const c = gen(src);
        cur.set(c.bytes, `${name}; ${describe(c.setup)}`);
        stats[`case ${name}`] = (stats[`case ${name}`] ?? 0) + 1;
        const out = exercise(src, c.bytes, c.setup);
        sameCalls(out.calls, c.expected, `${name} (${describe(c.setup)})`);
        check(out.stopped === c.stopped, () => `${name}: parser ${out.stopped ? 'stopped' : 'did not stop'}`);
      },
    },
    {
      name: 'soup',
      weight: 2,
      run(src, cur) {
        const parts: Buffer[] = [];
        for (let n = src.int(30); n > 0; n--) {
          const r = src.int(4);
          parts.push(r === 0 ? genOp(src, { maxPayload: 64 }).bytes : r === 1 ? src.bytes(src.len(20)) : src.pick(DICT));
        }
        const bytes = Buffer.concat(parts);
        const setup = randomSetup(src);
        cur.set(bytes, describe(setup));
        exercise(src, bytes, setup);
      },
    },
    {
      name: 'random bytes',
      weight: 1,
      run(src, cur) {
        const bytes = src.bytes(src.len(4096));
        const setup = randomSetup(src);
        cur.set(bytes, describe(setup));
        exercise(src, bytes, setup);
      },
    },
  ];
  return { kinds, stats };
}
