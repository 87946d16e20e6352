// Leaf connection message arguments (nats-server 2.9.10 processLeafMsgArgs /
// processLeafHeaderMsgArgs): `LMSG <subj> [<reply> | + <reply> <q..> | | <q..>] <size>` and
// `HMSG <subj> [...] <hdr> <size>`: no account, no origin. The framing is the route reader's
// (src/protocol/route-parser.ts), which takes this function as its argument parser.

import { ROUTE_MAX_PAYLOAD, RouteParser, splitArgs, type RouteHandler, type RouteMsg } from './route-parser.js';

export const LEAF_ACCOUNT = '$G';

function size(s: string): number {
  if (!/^\d{1,10}$/.test(s)) return -1;
  return Number(s);
}

export function parseLeafMsgArgs(op: string, rest: string): RouteMsg | string {
  if (op !== 'LMSG' && op !== 'HMSG') return `Unknown Protocol Operation`;
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
  if (total > ROUTE_MAX_PAYLOAD) return 'Maximum Payload Violation';
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
