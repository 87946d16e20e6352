// Fuzz target: the route protocol reader (src/protocol/route-parser.ts), what a cluster peer sends.
//
// Every input is read as one chunk and split at random points; both must give the same events.
// Always checked: the reader never throws; after a parse error nothing more is reported.
// Kinds: `valid` streams of every op form nats-server 2.9.10 writes (exact events), `mutated`
// valid streams (the ops before the first mutated byte give exactly their events), `random` bytes.

import { RouteParser, type RouteMsg } from '../../../src/protocol/route-parser.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

type Ev = string;

function read(chunks: Buffer[]): Ev[] {
  const out: Ev[] = [];
  let failed = false;
  const p = new RouteParser({
    onOp: (op, args) => {
      check(!failed, 'event after a parse error');
      out.push(`${op}|${args.join(',')}`);
    },
    onMsg: (m: RouteMsg, d, s, e) => {
      check(!failed, 'event after a parse error');
      check(e - s === m.size, `payload of ${e - s} bytes for size ${m.size}`);
      out.push(`MSG|${m.origin ?? ''}|${m.account}|${m.subject}|${m.reply ?? ''}|${m.queues?.join(',') ?? '-'}|${m.hdr}|${d.toString('latin1', s, e)}`);
    },
    onParseError: (r) => {
      check(!failed, 'two parse errors');
      failed = true;
      out.push(`ERR|${r}`);
    },
  });
  for (const c of chunks) p.parse(c);
  return out;
}

function split(src: Src, b: Buffer): Buffer[] {
  if (src.oneIn(10)) return [...b].map((x) => Buffer.from([x]));
  const out: Buffer[] = [];
  let k = 0;
  while (k < b.length) {
    const n = 1 + src.int(64);
    out.push(b.subarray(k, k + n));
    k += n;
  }
  return out;
}

const TOK = 'abcdefghijklmnopqrstuvwxyz0123456789_-$';
function token(src: Src): string {
  let s = '';
  const n = 1 + src.int(8);
  for (let i = 0; i < n; i++) s += TOK[src.int(TOK.length)];
  return s;
}
function subject(src: Src): string {
  const n = 1 + src.int(4);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(src.oneIn(8) ? '*' : token(src));
  return parts.join('.');
}

interface Op {
  bytes: string;
  ev: Ev;
}

function genOp(src: Src): Op {
  const acc = src.oneIn(5) ? '$SYS' : '$G';
  const subj = subject(src);
  switch (src.int(8)) {
    case 0:
      return { bytes: 'PING\r\n', ev: 'PING|' };
    case 1:
      return { bytes: 'PONG\r\n', ev: 'PONG|' };
    case 2: {
      const q = token(src);
      const w = 1 + src.int(100);
      return src.oneIn(2) ? { bytes: `RS+ ${acc} ${subj}\r\n`, ev: `RS+|${acc},${subj}` } : { bytes: `RS+ ${acc} ${subj} ${q} ${w}\r\n`, ev: `RS+|${acc},${subj},${q},${w}` };
    }
    case 3:
      return { bytes: `RS-  ${acc} ${subj}\r\n`, ev: `RS-|${acc},${subj}` };
    case 4:
    case 5: {
      const body = src.bytes(src.len(300)).toString('latin1');
      const r = src.oneIn(2) ? token(src) : undefined;
      const qs = src.oneIn(2) ? [token(src), ...(src.oneIn(2) ? [token(src)] : [])] : null;
      const mid = qs ? (r ? ` + ${r} ${qs.join(' ')}` : ` | ${qs.join(' ')}`) : r ? ` ${r}` : '';
      return { bytes: `RMSG ${acc} ${subj}${mid} ${body.length}\r\n${body}\r\n`, ev: `MSG||${acc}|${subj}|${r ?? ''}|${qs?.join(',') ?? '-'}|-1|${body}` };
    }
    case 6: {
      const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
      const body = hdr + token(src);
      return { bytes: `HMSG ${acc} ${subj} ${hdr.length} ${body.length}\r\n${body}\r\n`, ev: `MSG||${acc}|${subj}||-|${hdr.length}|${body}` };
    }
    default: {
      const body = token(src);
      return { bytes: `LMSG LC ${acc} ${subj} 0 ${body.length}\r\n${body}\r\n`, ev: `MSG|LC|${acc}|${subj}||-|-1|${body}` };
    }
  }
}

const DICT = ['RMSG ', 'HMSG ', 'RS+ ', 'RS- ', '\r\n', ' | ', ' + ', '$G ', '99999999999', '-1', 'INFO {}', '\n'].map((s) => Buffer.from(s, 'latin1'));

export async function create(_opts: TargetOptions): Promise<TargetInstance> {
  const stats: Record<string, number> = {};
  const kinds: Kind[] = [
    {
      name: 'valid',
      weight: 3,
      run(src, cur) {
        const ops = Array.from({ length: 1 + src.int(20) }, () => genOp(src));
        const bytes = Buffer.from(ops.map((o) => o.bytes).join(''), 'latin1');
        cur.set(bytes);
        const whole = read([bytes]);
        check(JSON.stringify(whole) === JSON.stringify(ops.map((o) => o.ev)), () => `events differ: ${JSON.stringify(whole).slice(0, 300)}`);
        check(JSON.stringify(read(split(src, bytes))) === JSON.stringify(whole), 'a split stream gives other events');
        stats.valid_ops = (stats.valid_ops ?? 0) + ops.length;
      },
    },
    {
      name: 'mutated',
      weight: 3,
      run(src, cur) {
        const ops = Array.from({ length: 1 + src.int(10) }, () => genOp(src));
        const base = Buffer.from(ops.map((o) => o.bytes).join(''), 'latin1');
        const m: ByteMutation = { first: base.length, recipe: [] };
        const bytes = mutateBytes(src, base, DICT, 1 + src.int(4), m);
        cur.set(bytes, m.recipe.join(' '));
        const whole = read([bytes]);
        check(JSON.stringify(read(split(src, bytes))) === JSON.stringify(whole), 'a split stream gives other events');
        let end = 0;
        let k = 0;
        while (k < ops.length && end + Buffer.byteLength(ops[k]!.bytes, 'latin1') <= m.first) end += Buffer.byteLength(ops[k++]!.bytes, 'latin1');
        const before = ops.slice(0, k).map((o) => o.ev);
        check(JSON.stringify(whole.slice(0, before.length)) === JSON.stringify(before), 'ops before the first mutated byte changed');
        if (whole.some((e) => e.startsWith('ERR|'))) stats.parse_errors = (stats.parse_errors ?? 0) + 1;
      },
    },
    {
      name: 'random',
      weight: 1,
      run(src, cur) {
        const bytes = src.bytes(src.len(2000));
        cur.set(bytes);
        const whole = read([bytes]);
        check(JSON.stringify(read(split(src, bytes))) === JSON.stringify(whole), 'a split stream gives other events');
      },
    },
  ];
  return { kinds, stats };
}
