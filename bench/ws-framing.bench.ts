// Websocket framing cost, hand-written (src/server/websocket) vs the `ws` package:
// `node dist/bench/ws-framing.bench.js [frames]`.
//
// Inbound: masked client frames of 16 KiB (nats.go and nats.js send one frame per flush, full of
// small PUBs), fed in 64 KiB reads cut at arbitrary positions; each decoder hands the payload on
// and the bytes are counted. `ws`'s Receiver is its server-side frame parser (what
// `WebSocketServer` uses per connection), given fresh copies of the reads as a socket would.
// Outbound: one binary frame per flush of 16 KiB (the MSG batch of one subscriber): a header plus
// the payload handed to a counting sink, vs `ws`'s Sender.frame (header + masking decision +
// copy list) as its `send()` does for a server (unmasked).
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { frameHeader, WsDecoder } from '../src/server/websocket/frames.js';

const require = createRequire(import.meta.url);
// ws's internal modules (CommonJS, no types): the same classes its server uses per connection.
const Receiver = (require('ws') as { Receiver: unknown }).Receiver as new (o: Record<string, unknown>) => NodeJS.WritableStream & { on(e: string, f: (...a: unknown[]) => void): void };
const Sender = (require('ws') as { Sender: unknown }).Sender as { frame(data: Buffer, o: Record<string, unknown>): Buffer[] };

const FRAMES = Number(process.argv[2] ?? 20_000);
const SIZE = 16 * 1024;
const READ = 64 * 1024;

function maskedFrame(payload: Buffer): Buffer {
  const key = randomBytes(4);
  const h = Buffer.from([0x82, 0xfe, 0, 0]);
  h.writeUInt16BE(payload.length, 2);
  const m = Buffer.from(payload);
  for (let i = 0; i < m.length; i++) m[i] = m[i]! ^ key[i & 3]!;
  return Buffer.concat([h, key, m]);
}

const pub = Buffer.from('PUB bench.x 16\r\n0123456789abcdef\r\n');
const payload = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) payload[i] = pub[i % pub.length]!;
const stream = Buffer.concat(Array.from({ length: 64 }, () => maskedFrame(payload)));

function reads(): Buffer[] {
  const out: Buffer[] = [];
  let frames = 0;
  while (frames < FRAMES) {
    for (let k = 0; k < stream.length; k += READ) out.push(Buffer.from(stream.subarray(k, k + READ)));
    frames += 64;
  }
  return out;
}

function time(label: string, bytes: number, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label.padEnd(38)} ${(bytes / s / 1e6).toFixed(0).padStart(6)} MB/s  (${s.toFixed(3)} s)`);
}

for (let round = 0; round < 2; round++) {
  console.log(round === 0 ? 'warm-up' : 'measured');
  {
    const rs = reads();
    let got = 0;
    const d = new WsDecoder({ data: (b) => (got += b.length), control: () => undefined }, { maskRequired: true, maxCompressed: 1 << 26 });
    time('inbound, hand-written WsDecoder', rs.length * READ, () => {
      for (const r of rs) d.push(r);
    });
    if (got === 0) throw new Error('nothing decoded');
  }
  {
    const rs = reads();
    let got = 0;
    const r = new Receiver({ isServer: true, maxPayload: 0, skipUTF8Validation: true, binaryType: 'nodebuffer' });
    r.on('message', (...a: unknown[]) => (got += (a[0] as Buffer).length));
    time('inbound, ws Receiver', rs.length * READ, () => {
      for (const b of rs) r.write(b);
    });
    if (got === 0) throw new Error('nothing decoded');
  }
  {
    let n = 0;
    const out = Buffer.alloc(SIZE);
    time('outbound, frameHeader + payload', FRAMES * 4 * SIZE, () => {
      for (let i = 0; i < FRAMES * 4; i++) {
        const h = frameHeader(2, out.length);
        n += h.length + out.length;
      }
    });
  }
  {
    let n = 0;
    const out = Buffer.alloc(SIZE);
    time('outbound, ws Sender.frame', FRAMES * 4 * SIZE, () => {
      for (let i = 0; i < FRAMES * 4; i++) {
        const list = Sender.frame(out, { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: true, generateMask: undefined, maskBuffer: undefined });
        for (const b of list) n += b.length;
      }
    });
  }
}
