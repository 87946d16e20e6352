// The route protocol reader (nats-server 2.9.10 cluster connections): control lines INFO,
// CONNECT, PING, PONG, +OK, -ERR, RS+, RS-, LS+, LS-, and the messages RMSG, HMSG, LMSG with
// their payloads. Lines and subjects are latin1 ("wire") strings as in the client parser.
//
// Unlike client connections, routes have no max_control_line and no max_payload (nats-server
// does not enforce them on routes); sanity limits below keep a hostile peer from growing buffers
// without bound. A payload split over reads is gathered into one buffer of its final size (no
// quadratic concatenation).

import { ERR_MAX_PAYLOAD } from './errors.js';

/** Limits for a hostile peer (nats-server has none on routes). */
export const ROUTE_MAX_LINE = 1024 * 1024;
export const ROUTE_MAX_PAYLOAD = 64 * 1024 * 1024;

export interface RouteMsg {
  /** `LMSG` origin cluster, else undefined. */
  origin: string | undefined;
  account: string;
  subject: string;
  reply: string | undefined;
  /** Queue names the sender selected (after `|` or `+ reply`); null without a list. */
  queues: string[] | null;
  /** Header size, -1 without headers. */
  hdr: number;
  size: number;
}

export interface RouteHandler {
  /** A control line (op upper-cased, args split on runs of blanks; `rest` = text after the op). */
  onOp(op: string, args: string[], rest: string): void;
  /** A message: payload is data[start, end). */
  onMsg(m: RouteMsg, data: Buffer, start: number, end: number): void;
  /** Protocol error: the connection must close. */
  onParseError(reason: string, snippet: string): void;
}

export class RouteParser {
  private partial: Buffer | null = null;
  private msg: RouteMsg | null = null;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private halted = false;

  /** `parseArgs`: the message-argument reader (leaf connections pass their own, src/protocol/leaf-parser.ts). */
  constructor(
    private readonly h: RouteHandler,
    private readonly parseArgs: (op: string, rest: string) => RouteMsg | string = parseMsgArgs,
  ) {}

  halt(): void {
    this.halted = true;
    this.partial = null;
    this.body = null;
  }

  parse(input: Buffer): void {
    let d = input;
    let i = 0;
    if (this.body !== null) {
      i = this.fillBody(d, 0);
      if (i < 0) return;
    } else if (this.partial !== null) {
      d = Buffer.concat([this.partial, d]);
      this.partial = null;
    }
    const n = d.length;
    while (i < n && !this.halted) {
      const nl = d.indexOf(10, i);
      if (nl < 0) {
        if (n - i > ROUTE_MAX_LINE) return this.fail('Maximum Control Line Exceeded', d, i);
        this.partial = Buffer.from(d.subarray(i));
        return;
      }
      let lineEnd = nl;
      if (lineEnd > i && d[lineEnd - 1] === 13) lineEnd--;
      // Fast path for the common `RMSG <acc> <subject> [<reply>] <size>` (no queue list).
      const fast = d[i] === 0x52 && d[i + 1] === 0x4d && d[i + 2] === 0x53 && d[i + 3] === 0x47 && d[i + 4] === 0x20 ? fastRmsg(d, i + 5, lineEnd) : null;
      if (fast !== null) {
        i = nl + 1;
        const need = fast.size + 2;
        if (n - i >= need && d[i + fast.size] === 13 && d[i + fast.size + 1] === 10) {
          this.h.onMsg(fast, d, i, i + fast.size);
          i += need;
          continue;
        }
        this.msg = fast;
        this.body = Buffer.allocUnsafe(need);
        this.bodyFill = 0;
        const k = this.fillBody(d, i);
        if (k < 0) return;
        i = k;
        continue;
      }
      const line = d.toString('latin1', i, lineEnd);
      const lineStart = i;
      i = nl + 1;
      if (line.length === 0) continue;
      const sp = firstBlank(line);
      const op = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const rest = sp < 0 ? '' : line.slice(sp + 1).replace(/^[ \t]+/, '');
      if (op === 'RMSG' || op === 'HMSG' || op === 'LMSG') {
        const m = this.parseArgs(op, rest);
        if (typeof m === 'string') return this.fail(m, d, lineStart);
        const need = m.size + 2;
        if (n - i >= need) {
          if (d[i + m.size] !== 13 || d[i + m.size + 1] !== 10) return this.fail('Parse Error: missing CRLF after payload', d, i);
          this.h.onMsg(m, d, i, i + m.size);
          i += need;
          continue;
        }
        this.msg = m;
        this.body = Buffer.allocUnsafe(need);
        this.bodyFill = 0;
        const k = this.fillBody(d, i);
        if (k < 0) return;
        i = k;
        continue;
      }
      this.h.onOp(op, splitArgs(rest), rest);
    }
  }

  /** Copies payload bytes from d[i..]; returns the offset after the payload, or -1 if more is needed. */
  private fillBody(d: Buffer, i: number): number {
    const body = this.body!;
    const take = Math.min(body.length - this.bodyFill, d.length - i);
    d.copy(body, this.bodyFill, i, i + take);
    this.bodyFill += take;
    if (this.bodyFill < body.length) return -1;
    const m = this.msg!;
    this.body = null;
    this.msg = null;
    if (body[m.size] !== 13 || body[m.size + 1] !== 10) {
      this.fail('Parse Error: missing CRLF after payload', body, 0);
      return -1;
    }
    this.h.onMsg(m, body, 0, m.size);
    return i + take;
  }

  private fail(reason: string, d: Buffer, at: number): void {
    const snippet = d.toString('latin1', at, Math.min(d.length, at + 32));
    this.halt();
    this.h.onParseError(reason, snippet);
  }
}

/**
 * `<acc> <subject> [<reply>] <size>` from d[s, e) with single spaces, or null (any other form, or
 * anything unusual, goes to the general parser).
 */
function fastRmsg(d: Buffer, s: number, e: number): RouteMsg | null {
  // Token bounds (at most 4), no arrays.
  let s0 = -1, e0 = -1, s1 = -1, e1 = -1, s2 = -1, e2 = -1, s3 = -1;
  let k = 0;
  let t = -1;
  for (let i = s; i < e; i++) {
    const c = d[i]!;
    if (c === 0x20) {
      if (t < 0) return null;
      if (k === 0) (s0 = t), (e0 = i);
      else if (k === 1) (s1 = t), (e1 = i);
      else if (k === 2) (s2 = t), (e2 = i);
      else return null;
      k++;
      t = -1;
    } else if (c === 0x09) return null;
    else if (t < 0) t = i;
  }
  if (t < 0 || k < 2) return null;
  s3 = t;
  if (e - s3 > 10) return null;
  let size = 0;
  for (let i = s3; i < e; i++) {
    const c = d[i]! - 0x30;
    if (c < 0 || c > 9) return null;
    size = size * 10 + c;
  }
  if (size > ROUTE_MAX_PAYLOAD) return null;
  if (k === 3 && e2 - s2 === 1 && (d[s2] === 0x2b || d[s2] === 0x7c)) return null;
  const account = e0 - s0 === 2 && d[s0] === 0x24 && d[s0 + 1] === 0x47 ? '$G' : d.toString('latin1', s0, e0);
  return { origin: undefined, account, subject: subjectOf(d, s1, e1), reply: k === 3 ? d.toString('latin1', s2, e2) : undefined, queues: null, hdr: -1, size };
}

// The last subject read, as bytes and string: a run of messages on one subject makes no new string.
let lastSubjectBytes = Buffer.alloc(0);
let lastSubject = '';

function subjectOf(d: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n === lastSubjectBytes.length) {
    const b = lastSubjectBytes;
    let i = 0;
    while (i < n && d[s + i] === b[i]) i++;
    if (i === n) return lastSubject;
  }
  lastSubject = d.toString('latin1', s, e);
  if (n <= 256) lastSubjectBytes = Buffer.from(d.subarray(s, e));
  return lastSubject;
}

function firstBlank(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) return i;
  }
  return -1;
}

export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 32;
    if (c === 32 || c === 9 || c === 13 || c === 10) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  return out;
}

function size(s: string): number {
  if (!/^\d{1,10}$/.test(s)) return -1;
  return Number(s);
}

/** RMSG/HMSG/LMSG arguments (see nats-server's processRoutedMsgArgs). */
export function parseMsgArgs(op: string, rest: string): RouteMsg | string {
  const a = splitArgs(rest);
  const hasHdr = op !== 'RMSG';
  let k = 0;
  let origin: string | undefined;
  if (op === 'LMSG') origin = a[k++];
  const account = a[k++];
  const subject = a[k++];
  const tailCount = hasHdr ? 2 : 1;
  if (account === undefined || subject === undefined || a.length - k < tailCount) return `processRoutedMsgArgs Parse Error: '${rest}'`;
  const mid = a.slice(k, a.length - tailCount);
  let hdr = -1;
  let total: number;
  if (hasHdr) {
    hdr = size(a[a.length - 2]!);
    total = size(a[a.length - 1]!);
  } else total = size(a[a.length - 1]!);
  if (total < 0 || (hasHdr && (hdr < 0 || hdr > total))) return `processRoutedMsgArgs Bad or Missing Size: '${rest}'`;
  if (total > ROUTE_MAX_PAYLOAD) return ERR_MAX_PAYLOAD.text;
  // LMSG carries a header size of 0 when the message has no headers.
  if (op === 'LMSG' && hdr === 0) hdr = -1;
  let reply: string | undefined;
  let queues: string[] | null = null;
  if (mid.length === 1) reply = mid[0];
  else if (mid.length >= 2) {
    const ind = mid[0]!;
    if (ind === '+') {
      reply = mid[1];
      queues = mid.slice(2);
    } else if (ind === '|') {
      queues = mid.slice(1);
    } else return `processRoutedMsgArgs Bad or Missing Reply Indicator: '${ind}'`;
  }
  return { origin, account, subject, reply, queues, hdr, size: total };
}
