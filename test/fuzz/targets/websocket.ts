// Fuzz target: the websocket frame decoder (src/server/websocket/frames.ts).
//
// Always checked: the decoder only ever throws WsFrameError (never anything else), decoded output
// stays bounded (uncompressed: never more than the input; compressed: never more than
// maxCompressed per message), and after a WsFrameError the caller halts it.
// Kinds:
// - valid: random frame streams (text/binary/continuation, fragmentation with control frames
//   between fragments, compressed messages, 7/16/64-bit lengths, masked) split at random points:
//   exactly the payload bytes and control frames that were encoded;
// - mutated: valid streams with byte mutations: data delivered before the first mutated byte is
//   a prefix of the expected data;
// - random: random bytes.

import { constants as zc, deflateRawSync } from 'node:zlib';
import { WsDecoder, WsFrameError } from '../../../src/server/websocket/frames.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

const MAX_COMPRESSED = 256 * 1024;
const DICT = [Buffer.from([0x82]), Buffer.from([0x80]), Buffer.from([0x88, 0x80]), Buffer.from([0xff]), Buffer.from([0x7e]), Buffer.from([0x7f])];

interface Gen {
  bytes: Buffer;
  data: Buffer;
  controls: string[];
  /** Byte offset where each frame ends (for the mutated oracle). */
  ends: number[];
  /** Data expected once the frame ending at ends[i] is decoded. */
  dataAt: number[];
}

function frameBytes(src: Src, op: number, payload: Buffer, fin: boolean, rsv1: boolean): Buffer {
  const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op;
  let h: Buffer;
  const n = payload.length;
  // Non-minimal length encodings are legal on the wire too: sometimes use them.
  // (Not for control frames: nats-server checks the 7-bit length field itself against 125.)
  const form = n > 65535 ? 127 : n > 125 ? (src.oneIn(4) ? 127 : 126) : op >= 8 ? n : src.oneIn(8) ? 126 : src.oneIn(8) ? 127 : n;
  if (form === 126) {
    h = Buffer.alloc(4);
    h.writeUInt16BE(n, 2);
  } else if (form === 127) {
    h = Buffer.alloc(10);
    h.writeBigUInt64BE(BigInt(n), 2);
  } else h = Buffer.alloc(2);
  h[0] = b0;
  h[1] = 0x80 | form;
  const key = src.bytes(4);
  const m = Buffer.from(payload);
  for (let i = 0; i < m.length; i++) m[i] = m[i]! ^ key[i & 3]!;
  return Buffer.concat([h, key, m]);
}

function genStream(src: Src): Gen {
  const parts: Buffer[] = [];
  const data: Buffer[] = [];
  const controls: string[] = [];
  const ends: number[] = [];
  const dataAt: number[] = [];
  let off = 0;
  let dlen = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    off += b.length;
    ends.push(off);
    dataAt.push(dlen);
  };
  const control = (): void => {
    const op = src.pick([9, 10]);
    const p = src.bytes(src.len(125));
    controls.push(`${op}:${p.toString('hex')}`);
    push(frameBytes(src, op, p, true, false));
  };
  for (let m = 1 + src.int(6); m > 0; m--) {
    const msg = src.oneIn(50) ? src.bytes(70_000) : src.bytes(src.len(3000));
    const compressed = src.oneIn(3);
    let body = msg;
    if (compressed) {
      const z = deflateRawSync(msg, { level: 1, finishFlush: zc.Z_SYNC_FLUSH });
      body = z.subarray(0, z.length - 4);
    }
    const pieces = 1 + (src.oneIn(3) ? src.int(4) : 0);
    let at = 0;
    for (let i = 0; i < pieces; i++) {
      const end = i === pieces - 1 ? body.length : at + src.int(body.length - at + 1);
      const part = body.subarray(at, end);
      at = end;
      const first = i === 0;
      const fin = i === pieces - 1;
      // Uncompressed data is delivered per frame; compressed only once the message is complete.
      if (!compressed) dlen += part.length;
      else if (fin) dlen += msg.length;
      parts.push(frameBytes(src, first ? src.pick([1, 2]) : 0, part, fin, compressed && first));
      off += parts[parts.length - 1]!.length;
      ends.push(off);
      dataAt.push(dlen);
      if (!fin && src.oneIn(3)) control();
    }
    data.push(msg);
    if (src.oneIn(4)) control();
  }
  return { bytes: Buffer.concat(parts), data: Buffer.concat(data), controls, ends, dataAt };
}

interface Out {
  data: Buffer;
  controls: string[];
  error?: string;
}

function decode(src: Src, bytes: Buffer, stats: Record<string, number>): Out {
  const got: Buffer[] = [];
  const controls: string[] = [];
  const d = new WsDecoder(
    {
      data: (b) => got.push(Buffer.from(b)),
      control: (op, p) => controls.push(`${op}:${p.toString('hex')}`),
    },
    { maskRequired: true, maxCompressed: MAX_COMPRESSED },
  );
  let error: string | undefined;
  // Split at random points (or one byte at a time), as TCP reads would.
  let at = 0;
  const oneByte = src.oneIn(20);
  while (at < bytes.length) {
    const n = oneByte ? 1 : 1 + src.int(Math.min(bytes.length - at, src.pick([7, 100, 5000, 70_000])));
    // The decoder unmasks in place: give it a copy, as a socket gives fresh buffers.
    const chunk = Buffer.from(bytes.subarray(at, at + n));
    at += n;
    try {
      d.push(chunk);
    } catch (e) {
      check(e instanceof WsFrameError, () => `decoder threw ${(e as Error).name}: ${(e as Error).message}`);
      error = (e as Error).message;
      stats[`error: ${error.replace(/\d+/g, 'N').slice(0, 60)}`] = (stats[`error: ${error.replace(/\d+/g, 'N').slice(0, 60)}`] ?? 0) + 1;
      got.push(...d.out.map((b) => Buffer.from(b)));
      d.halt();
      break;
    }
  }
  const data = Buffer.concat(got);
  check(data.length <= bytes.length * 1 + MAX_COMPRESSED * (1 + Math.ceil(bytes.length / 8)), 'decoded output exceeds its bound');
  return { data, controls, error };
}

export async function create(_opts: TargetOptions): Promise<TargetInstance> {
  const stats: Record<string, number> = {};
  const kinds: Kind[] = [
    {
      name: 'valid',
      weight: 4,
      run(src, cur) {
        const g = genStream(src);
        cur.set(g.bytes, 'valid');
        const out = decode(src, g.bytes, stats);
        check(out.error === undefined, () => `valid stream rejected: ${out.error}`);
        check(out.data.equals(g.data), () => `decoded ${out.data.length} bytes, expected ${g.data.length}`);
        check(out.controls.join(',') === g.controls.join(','), 'control frames differ');
      },
    },
    {
      name: 'mutated',
      weight: 4,
      run(src, cur) {
        const g = genStream(src);
        const m: ByteMutation = { first: g.bytes.length, recipe: [] };
        const bytes = mutateBytes(src, g.bytes, DICT, 1 + src.int(4), m);
        cur.set(bytes, m.recipe.join(' '));
        const out = decode(src, bytes, stats);
        let k = 0;
        while (k < g.ends.length && g.ends[k]! <= m.first) k++;
        const expect = k > 0 ? g.dataAt[k - 1]! : 0;
        check(out.data.length >= expect || out.error !== undefined, 'data of frames before the first mutated byte is missing');
        check(out.data.subarray(0, Math.min(expect, out.data.length)).equals(g.data.subarray(0, Math.min(expect, out.data.length))), 'data before the first mutated byte differs');
      },
    },
    {
      name: 'random',
      weight: 1,
      run(src, cur) {
        const bytes = src.bytes(src.len(5000));
        cur.set(bytes, 'random');
        decode(src, bytes, stats);
      },
    },
  ];
  return { kinds, stats };
}
