// Leaf connection message arguments (nats-server 2.9.10 processLeafMsgArgs /
// processLeafHeaderMsgArgs): `LMSG <subj> [<reply> | + <reply> <q..> | | <q..>] <size>` and
// `HMSG <subj> [...] <hdr> <size>`: no account, no origin. The framing is the route reader's
// (src/protocol/route-parser.ts), which takes this function as its argument parser.

import { ERR_MAX_PAYLOAD, ERR_UNKNOWN_OP } from './errors.js';
import { ROUTE_MAX_PAYLOAD, RouteParser, splitArgs, type RouteHandler, type RouteMsg } from './route-parser.js';

export const LEAF_ACCOUNT = '$G';

function size(s: string): number {
  if (!/^\d{1,10}$/.test(s)) return -1;
  return Number(s);
}

/** Decimal of s[from, to) (1-10 digits), else -1. */
function sizeAt(s: string, from: number, to: number): number {
  if (to <= from || to - from > 10) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

export function parseLeafMsgArgs(op: string, rest: string): RouteMsg | string {
  if (op !== 'LMSG' && op !== 'HMSG') return ERR_UNKNOWN_OP.text;
  // Fast path: `LMSG <subj> <size>` and `LMSG <subj> <reply> <size>` with single blanks.
  if (op === 'LMSG') {
    const a = rest.indexOf(' ');
    if (a > 0) {
      const b = rest.indexOf(' ', a + 1);
      if (b < 0) {
        const total = sizeAt(rest, a + 1, rest.length);
        if (total >= 0 && total <= ROUTE_MAX_PAYLOAD) return { origin: undefined, account: LEAF_ACCOUNT, subject: rest.slice(0, a), reply: undefined, queues: null, hdr: -1, size: total };
      } else if (rest.indexOf(' ', b + 1) < 0 && b > a + 1) {
        const c0 = rest.charCodeAt(a + 1);
        const total = sizeAt(rest, b + 1, rest.length);
        if (total >= 0 && total <= ROUTE_MAX_PAYLOAD && !(b === a + 2 && (c0 === 0x2b || c0 === 0x7c))) {
          return { origin: undefined, account: LEAF_ACCOUNT, subject: rest.slice(0, a), reply: rest.slice(a + 1, b), queues: null, hdr: -1, size: total };
        }
      }
    }
  }
  const a = splitArgs(rest);
  const hasHdr = op === 'HMSG';
  const tail = hasHdr ? 2 : 1;
  if (a.length < 1 + tail) return `processLeafMsgArgs Parse Error: '${rest}'`;
  const subject = a[0]!;
  const mid = a.slice(1, a.length - tail);
  let hdr = -1;
  let total: number;
  if (hasHdr) {
    hdr = size(a[a.length - 2]!);
    total = size(a[a.length - 1]!);
  } else total = size(a[a.length - 1]!);
  if (total < 0 || (hasHdr && (hdr < 0 || hdr > total))) return `processLeafMsgArgs Bad or Missing Size: '${rest}'`;
  if (total > ROUTE_MAX_PAYLOAD) return ERR_MAX_PAYLOAD.text;
  let reply: string | undefined;
  let queues: string[] | null = null;
  if (mid.length === 1) reply = mid[0];
  else if (mid.length >= 2) {
    const ind = mid[0]!;
    if (ind === '+') {
      reply = mid[1];
      queues = mid.slice(2);
    } else if (ind === '|') queues = mid.slice(1);
    else return `processLeafMsgArgs Bad or Missing Reply Indicator: '${ind}'`;
  }
  return { origin: undefined, account: LEAF_ACCOUNT, subject, reply, queues, hdr, size: total };
}

export function newLeafParser(h: RouteHandler): RouteParser {
  return new RouteParser(h, parseLeafMsgArgs);
}
