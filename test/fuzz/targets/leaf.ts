// Fuzz target: the leaf protocol reader (the route framing with the leaf argument parser,
// src/protocol/leaf-parser.ts).
//
// Always checked: the reader never throws (errors go to onParseError, after which it is halted),
// and what it reports is bounded by the input.
// Kinds:
// - valid: random streams of INFO/CONNECT/PING/PONG/LS+/LS-/LMSG/HMSG (reply, `+ reply q..`,
//   `| q..`, headers) split at random points: exactly the encoded ops and messages, in order;
// - mutated: valid streams with byte mutations: the events before the first mutated line are a
//   prefix of the expected ones;
// - random: random bytes.

import { newLeafParser } from '../../../src/protocol/leaf-parser.js';
import type { RouteMsg } from '../../../src/protocol/route-parser.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

const DICT = [Buffer.from('\r\n'), Buffer.from(' '), Buffer.from('LMSG '), Buffer.from('HMSG '), Buffer.from('LS+ '), Buffer.from('+'), Buffer.from('|'), Buffer.from('99999999999')];

function token(src: Src): string {
  const alpha = 'abcdefghijklmnopqrstuvwxyz0123456789_-$';
  let s = '';
  for (let i = 1 + src.int(8); i > 0; i--) s += alpha[src.int(alpha.length)];
  return s;
}

function subject(src: Src): string {
  const parts: string[] = [];
  for (let i = 1 + src.int(4); i > 0; i--) parts.push(src.oneIn(10) ? '*' : token(src));
  if (src.oneIn(10)) parts.push('>');
  return parts.join('.');
}

interface Gen {
  bytes: Buffer;
  events: string[];
  /** Byte offset where each event's bytes end. */
  ends: number[];
}

function gen(src: Src): Gen {
  const parts: Buffer[] = [];
  const events: string[] = [];
  const ends: number[] = [];
  let off = 0;
  const push = (b: Buffer, ev: string): void => {
    parts.push(b);
    off += b.length;
    ends.push(off);
    events.push(ev);
  };
  for (let n = 1 + src.int(12); n > 0; n--) {
    const k = src.int(7);
    if (k === 0) push(Buffer.from('PING\r\n'), 'PING');
    else if (k === 1) push(Buffer.from('PONG\r\n'), 'PONG');
    else if (k === 2) {
      const s = subject(src);
      if (src.oneIn(2)) push(Buffer.from(`LS+ ${s}\r\n`), `LS+ ${s}`);
      else {
        const q = token(src);
        const w = 1 + src.int(9);
        push(Buffer.from(`LS+ ${s} ${q} ${w}\r\n`), `LS+ ${s} ${q} ${w}`);
      }
    } else if (k === 3) {
      const s = subject(src);
      push(Buffer.from(`LS- ${s}\r\n`), `LS- ${s}`);
    } else {
      const s = subject(src).replace(/[*>]/g, 'x');
      const reply = src.oneIn(2) ? token(src) : undefined;
      const qs = src.oneIn(3) ? Array.from({ length: 1 + src.int(3) }, () => token(src)) : null;
      const hdrs = src.oneIn(3);
      const body = src.bytes(src.len(src.oneIn(30) ? 70_000 : 300));
      const hlen = hdrs ? Math.min(body.length, src.int(body.length + 1)) : -1;
      let mid = '';
      if (qs) mid = reply !== undefined ? ` + ${reply} ${qs.join(' ')}` : ` | ${qs.join(' ')}`;
      else if (reply !== undefined) mid = ` ${reply}`;
      const line = hdrs ? `HMSG ${s}${mid} ${hlen} ${body.length}` : `LMSG ${s}${mid} ${body.length}`;
      push(Buffer.concat([Buffer.from(line + '\r\n'), body, Buffer.from('\r\n')]), `MSG ${s} ${reply ?? '-'} ${qs ? qs.join(',') : '-'} ${hlen} ${body.toString('hex')}`);
    }
  }
  return { bytes: Buffer.concat(parts), events, ends };
}

function run(src: Src, bytes: Buffer): { events: string[]; error: string | undefined } {
  const events: string[] = [];
  let error: string | undefined;
  let total = 0;
  const p = newLeafParser({
    onOp(op, args) {
      events.push(args.length > 0 ? `${op} ${args.join(' ')}` : op);
    },
    onMsg(m: RouteMsg, data, start, end) {
      total += end - start;
      events.push(`MSG ${m.subject} ${m.reply ?? '-'} ${m.queues ? m.queues.join(',') : '-'} ${m.hdr} ${data.subarray(start, end).toString('hex')}`);
    },
    onParseError(reason) {
      error = reason;
    },
  });
  let i = 0;
  while (i < bytes.length && error === undefined) {
    const n = 1 + src.int(Math.max(1, Math.min(bytes.length - i, src.oneIn(2) ? 7 : 4096)));
    p.parse(bytes.subarray(i, i + n));
    i += n;
  }
  check(total <= bytes.length, 'more payload reported than input');
  return { events, error };
}

export async function create(_opts: TargetOptions): Promise<TargetInstance> {
  const stats: Record<string, number> = {};
  const kinds: Kind[] = [
    {
      name: 'valid',
      weight: 4,
      run(src, cur) {
        const g = gen(src);
        cur.set(g.bytes, 'valid');
        const out = run(src, g.bytes);
        check(out.error === undefined, () => `valid stream rejected: ${out.error}`);
        check(out.events.join('\n') === g.events.join('\n'), 'events differ from the encoded stream');
      },
    },
    {
      name: 'mutated',
      weight: 4,
      run(src, cur) {
        const g = gen(src);
        const m: ByteMutation = { first: g.bytes.length, recipe: [] };
        const bytes = mutateBytes(src, g.bytes, DICT, 1 + src.int(4), m);
        cur.set(bytes, m.recipe.join(' '));
        const out = run(src, bytes);
        if (out.error !== undefined) stats[out.error.split(':')[0]!] = (stats[out.error.split(':')[0]!] ?? 0) + 1;
        let k = 0;
        while (k < g.ends.length && g.ends[k]! < m.first) k++;
        // Events whose bytes end before the first mutated byte were decoded as encoded. (A
        // mutation may merge the next line into the last one, so the last intact event may differ.)
        const intact = Math.max(0, k - 1);
        check(out.events.length >= intact || out.error !== undefined, 'events before the first mutated byte are missing');
        for (let i = 0; i < Math.min(intact, out.events.length); i++) check(out.events[i] === g.events[i], () => `event ${i} differs before the first mutated byte`);
      },
    },
    {
      name: 'random',
      weight: 1,
      run(src, cur) {
        const bytes = src.bytes(src.len(5000));
        cur.set(bytes, 'random');
        run(src, bytes);
      },
    },
  ];
  return { kinds, stats };
}
