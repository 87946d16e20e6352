// Connections (plaintext, and TLS after the handshake) read into one buffer shared by all of them
// (src/server/shared-read.ts):
// whatever outlives a read must be copied. These tests interleave several publishers so that
// every read overwrites the previous connection's bytes, and check every delivered payload byte.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import bcrypt from 'bcryptjs';
import { pki, tsnats, type TestServer } from '../client/helpers.js';

const SIZES = [0, 1, 100, 4095, 4096, 4097, 65_535, 70_000, 200_000];

function payloadOf(pub: number, seq: number): Buffer {
  const size = SIZES[seq % SIZES.length]!;
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (pub * 31 + seq * 7 + j) & 0xff;
  return b;
}

/** A raw client: CONNECT (verbose off), then whatever the test writes. With `ca`, TLS after INFO. */
async function raw(port: number, connectJson = '{"verbose":false,"pedantic":false,"protocol":1}', ca?: Buffer): Promise<Socket> {
  let s: Socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.once('data', () => resolve()); // INFO
  });
  if (ca) {
    const t = tlsConnect({ socket: s, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      t.once('error', reject);
      t.once('secureConnect', () => resolve());
    });
    s = t;
  }
  s.write(`CONNECT ${connectJson}\r\n`);
  return s;
}

/** Collects MSG frames: subject → payload. */
function reader(s: Socket): { msgs: Map<string, Buffer>; errors: string[] } {
  const msgs = new Map<string, Buffer>();
  const errors: string[] = [];
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = buf.toString('latin1', 0, eol);
      if (!line.startsWith('MSG ')) {
        if (line.startsWith('-ERR')) errors.push(line);
        if (line === 'PING') s.write('PONG\r\n');
        buf = buf.subarray(eol + 2);
        continue;
      }
      const parts = line.split(' ');
      const size = Number(parts[parts.length - 1]);
      if (buf.length < eol + 2 + size + 2) return;
      msgs.set(parts[1]!, Buffer.from(buf.subarray(eol + 2, eol + 2 + size)));
      buf = buf.subarray(eol + 2 + size + 2);
    }
  });
  return { msgs, errors };
}

/** Writes `data` in slices of 1..maxSlice bytes, yielding to the event loop between slices. */
async function trickle(s: Socket, data: Buffer, seed: number, maxSlice: number): Promise<void> {
  let x = seed;
  for (let off = 0; off < data.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % maxSlice);
    s.write(data.subarray(off, off + n));
    off += n;
    await new Promise((r) => setImmediate(r));
  }
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function usesSharedReads(srv: TestServer): boolean {
  const clients = [...srv.server.clients.values()];
  return clients.length > 0 && clients.every((c) => c.parser.chunksReused);
}

describe('reads into one shared buffer', () => {
  for (const secure of [false, true]) {
  it(`payloads of every size arrive intact while publishers interleave (${secure ? 'TLS' : 'plaintext'})`, async () => {
    const p = await pki();
    const ca = secure ? readFileSync(p.caFile) : undefined;
    const srv = await tsnats(secure ? `tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}" }` : '');
    const socks: Socket[] = [];
    try {
      const sub = await raw(srv.port, undefined, ca);
      socks.push(sub);
      const got = reader(sub);
      sub.write('SUB x.> 1\r\nPING\r\n');
      await new Promise((r) => setTimeout(r, 50));
      // The subscriber does not read until every PUB is sent: deliveries wait in the server's
      // socket buffers (and views queued by reference would see later reads' bytes).
      sub.pause();
      const PUBS = 3;
      const PER = SIZES.length * 6;
      const pubs = await Promise.all(Array.from({ length: PUBS }, () => raw(srv.port, undefined, ca)));
      socks.push(...pubs);
      await until(() => srv.server.clients.size === PUBS + 1, 2000, 'connections');
      // (A TLS connection switches once the server side of its handshake is done.)
      await until(() => usesSharedReads(srv), 2000, 'every connection reading into the shared buffer');
      await Promise.all(
        pubs.map((p, pi) => {
          const frames: Buffer[] = [];
          for (let i = 0; i < PER; i++) {
            const pl = payloadOf(pi, i);
            frames.push(Buffer.from(`PUB x.${pi}.${i} ${pl.length}\r\n`), pl, Buffer.from('\r\n'));
          }
          return trickle(p, Buffer.concat(frames), pi + 1, 40_000);
        }),
      );
      sub.resume();
      await until(() => got.msgs.size === PUBS * PER, 10_000, `${PUBS * PER} messages (have ${got.msgs.size})`);
      for (let pi = 0; pi < PUBS; pi++) {
        for (let i = 0; i < PER; i++) {
          assert.ok(got.msgs.get(`x.${pi}.${i}`)?.equals(payloadOf(pi, i)), `payload of x.${pi}.${i} intact`);
        }
      }
      assert.deepEqual(got.errors, []);
    } finally {
      for (const s of socks) s.destroy();
      await srv.stop();
    }
  });
  }

  it('a PUB queued behind a pending bcrypt check keeps its payload while others publish', async () => {
    const hash = bcrypt.hashSync('pass', 10); // slow enough that other reads happen meanwhile
    const srv = await tsnats(`authorization { users: [ {user: a, password: "${hash}"}, {user: b, password: plain} ] }`);
    const socks: Socket[] = [];
    try {
      const sub = await raw(srv.port, '{"verbose":false,"pedantic":false,"user":"b","pass":"plain"}');
      socks.push(sub);
      const got = reader(sub);
      sub.write('SUB x.> 1\r\nPING\r\n');
      const noisy = await raw(srv.port, '{"verbose":false,"pedantic":false,"user":"b","pass":"plain"}');
      socks.push(noisy);
      await new Promise((r) => setTimeout(r, 50));
      const slow = connect({ host: '127.0.0.1', port: srv.port });
      socks.push(slow);
      await new Promise<void>((r) => slow.once('data', () => r()));
      // CONNECT and two PUBs in one read (under 64 KiB): both wait for the bcrypt check. The big
      // one is over the copy threshold (queued by reference when delivered).
      const big = Buffer.alloc(40_000, 0x42);
      const small = payloadOf(9, 2);
      slow.write(
        Buffer.concat([
          Buffer.from('CONNECT {"verbose":false,"pedantic":false,"user":"a","pass":"pass"}\r\n'),
          Buffer.from(`PUB x.slow.big ${big.length}\r\n`),
          big,
          Buffer.from(`\r\nPUB x.slow.small ${small.length}\r\n`),
          small,
          Buffer.from('\r\n'),
        ]),
      );
      // Meanwhile another connection fills the shared buffer with other bytes.
      const filler = Buffer.alloc(60_000, 0x5a);
      for (let i = 0; i < 20; i++) noisy.write(Buffer.concat([Buffer.from(`PUB x.noise.${i} ${filler.length}\r\n`), filler, Buffer.from('\r\n')]));
      await until(() => got.msgs.has('x.slow.big') && got.msgs.has('x.slow.small'), 10_000, 'the queued PUBs');
      assert.ok(got.msgs.get('x.slow.big')!.equals(big));
      assert.ok(got.msgs.get('x.slow.small')!.equals(small));
      await until(() => got.msgs.size === 22, 10_000, 'the noise');
      assert.ok(usesSharedReads(srv));
    } finally {
      for (const s of socks) s.destroy();
      await srv.stop();
    }
  });

  it('a payload whose CRLF arrives in a later read', async () => {
    const srv = await tsnats();
    const socks: Socket[] = [];
    try {
      const sub = await raw(srv.port);
      const pub = await raw(srv.port);
      const other = await raw(srv.port);
      socks.push(sub, pub, other);
      const got = reader(sub);
      sub.write('SUB y 1\r\nPING\r\n');
      await new Promise((r) => setTimeout(r, 50));
      pub.write('PUB y 5\r\nhello');
      await new Promise((r) => setTimeout(r, 50));
      other.write('PUB z 5\r\nXXXXX\r\n'); // another read into the shared buffer
      await new Promise((r) => setTimeout(r, 50));
      pub.write('\r\n');
      await until(() => got.msgs.has('y'), 2000, 'the message');
      assert.equal(got.msgs.get('y')!.toString(), 'hello');
    } finally {
      for (const s of socks) s.destroy();
      await srv.stop();
    }
  });
});
