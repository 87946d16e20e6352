// Flow control: nats-server's fast-producer stall and the slow-consumer cut-offs.
//
// - A consumer above 75 % of max_pending pauses the reading of the producers that deliver to it,
//   until it drains or for at most the stall duration (nats-server 2.9: 100 ms .. 1 s).
// - A consumer above max_pending is closed (Slow Consumer (Pending Bytes)); one whose socket makes
//   no write progress for write_deadline is closed (Slow Consumer (Write Deadline)); no -ERR.
//
// The first part drives Client objects over stub sockets (deterministic: the test decides what the
// socket has buffered); the second runs a real server with a flooding publisher and subscribers
// that read slowly or not at all.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { defaultOptions } from '../../src/config/index.js';
import { Client, ClosedReason, stallDuration } from '../../src/server/client.js';
import { Logger } from '../../src/server/logger.js';
import { Server } from '../../src/server/server.js';
import { tsnats } from '../client/helpers.js';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------------
// Stub sockets

/**
 * Just enough of net.Socket for Client. With `hold`, written bytes stay in `writableLength` (a
 * peer that does not read) until the test calls `progress()` or `drain()`.
 */
class StubSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  localAddress = '127.0.0.1';
  localPort = 4222;
  writableLength = 0;
  destroyed = false;
  writable = true;
  paused = false;
  hold = false;
  out = '';

  get writableNeedDrain(): boolean {
    return this.writableLength > 16384;
  }
  write(b: Buffer): boolean {
    this.out += b.toString('latin1');
    if (this.hold) this.writableLength += b.length;
    return !this.writableNeedDrain;
  }
  /** The peer read `n` bytes. */
  progress(n: number): void {
    this.writableLength = Math.max(0, this.writableLength - n);
  }
  /** The peer read everything: 'drain'. */
  drain(): void {
    const need = this.writableNeedDrain;
    this.writableLength = 0;
    if (need) this.emit('drain');
  }
  cork(): void {}
  uncork(): void {}
  setNoDelay(): void {}
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  destroy(): void {
    this.destroyed = true;
    this.writable = false;
  }
  destroySoon(): void {
    this.destroy();
  }
}

function stubServer(opts: { maxPending: number; writeDeadlineMs?: number }): { srv: Server; logs: string[] } {
  const logs: string[] = [];
  const o = { ...defaultOptions(), maxPayload: Math.min(opts.maxPending, 65536), maxPending: opts.maxPending };
  if (opts.writeDeadlineMs !== undefined) o.writeDeadlineMs = opts.writeDeadlineMs;
  const srv = new Server(o, { logger: new Logger({ write: (l) => void logs.push(l), debug: true }) });
  srv.rebuildInfo();
  return { srv, logs };
}

let nextCid = 1;
/** Every stub client of the current test, closed after it (their ping timers would keep the process alive). */
const opened: Client[] = [];
afterEach(() => {
  for (const c of opened) c.close(ClosedReason.ClientClosed);
  opened.length = 0;
});

interface StubConn {
  c: Client;
  s: StubSocket;
  /** One read: parse it, then flush as the server does once the I/O callback is done. */
  feed(data: Buffer): void;
}

function open(srv: Server, ops = ''): StubConn {
  const s = new StubSocket();
  const c = new Client(srv, s as unknown as Socket, nextCid++);
  opened.push(c);
  c.begin();
  const feed = (data: Buffer): void => {
    s.emit('data', data);
    srv.flushPending();
  };
  feed(Buffer.from(`CONNECT {"verbose":false,"pedantic":false}\r\n${ops}`, 'latin1'));
  return { c, s, feed };
}

function pubs(subject: string, n: number, size: number): Buffer {
  const one = `PUB ${subject} ${size}\r\n${'x'.repeat(size)}\r\n`;
  return Buffer.from(one.repeat(n), 'latin1');
}

describe('fast-producer stall (stub sockets)', () => {
  it('stall durations are nats-server 2.9\'s: 100 ms, +100 ms per 5 % of max_pending above half, 1 s at the limit', () => {
    const mp = 1 << 20;
    assert.equal(stallDuration(0, mp), 100);
    assert.equal(stallDuration(mp / 2, mp), 100);
    assert.equal(stallDuration(mp * 0.75 + 1, mp), 600);
    assert.equal(stallDuration(mp * 0.95, mp), 1000);
    assert.equal(stallDuration(mp, mp), 1000);
    assert.equal(stallDuration(mp * 2, mp), 1000);
  });

  it('a consumer above 75 % of max_pending pauses the producer until it drains', () => {
    const { srv } = stubServer({ maxPending: 100_000 });
    const sub = open(srv, 'SUB s 1\r\n');
    sub.s.hold = true;
    const pub = open(srv);
    // 80 messages of ~1 KiB in one read: the consumer passes 75 000 pending bytes.
    pub.feed(pubs('s', 80, 1000));
    assert.equal(pub.c.isStalled, true);
    assert.equal(pub.s.paused, true, 'the producer stops reading');
    assert.equal(pub.c.stallCount, 1);
    assert.equal(sub.c.isClosed, false, 'below max_pending: not a slow consumer');
    assert.equal((sub.s.out.match(/MSG s 1 1000\r\n/g) ?? []).length, 80, 'the rest of the read is still delivered');
    // More deliveries from the same producer while stalled do not stack stalls.
    pub.feed(pubs('s', 5, 1000));
    assert.equal(pub.c.stallCount, 1);
    sub.s.drain();
    assert.equal(pub.c.isStalled, false);
    assert.equal(pub.s.paused, false, 'reading resumes on drain');
  });

  it('the producer waits for every consumer it stalled on', () => {
    const { srv } = stubServer({ maxPending: 100_000 });
    const a = open(srv, 'SUB s 1\r\n');
    const b = open(srv, 'SUB s 1\r\n');
    a.s.hold = b.s.hold = true;
    const pub = open(srv);
    pub.feed(pubs('s', 80, 1000));
    assert.equal(pub.s.paused, true);
    a.s.drain();
    assert.equal(pub.s.paused, true, 'still waiting for b');
    b.s.drain();
    assert.equal(pub.s.paused, false);
  });

  it('a consumer that does not drain holds the producer for the stall duration only', async () => {
    const { srv, logs } = stubServer({ maxPending: 100_000 });
    const sub = open(srv, 'SUB s 1\r\n');
    sub.s.hold = true;
    const pub = open(srv);
    pub.feed(pubs('s', 80, 1000));
    const ttl = stallDuration(sub.c.pendingBytes, 100_000);
    assert.ok(ttl >= 600 && ttl <= 1000, `ttl ${ttl}`);
    await sleep(ttl - 200);
    assert.equal(pub.s.paused, true);
    await sleep(400);
    assert.equal(pub.s.paused, false, 'the producer goes on after the stall duration');
    assert.ok(logs.some((l) => l.includes('[DBG]') && /Timed out of fast producer stall \(\d+ms\)/.test(l)));
    // Its next delivery to the consumer, still above the threshold, stalls it again.
    pub.feed(pubs('s', 1, 1000));
    assert.equal(pub.s.paused, true);
    assert.equal(pub.c.stallCount, 2);
  });

  it('above max_pending the consumer is cut (no -ERR) and every producer it stalled is released', () => {
    const { srv, logs } = stubServer({ maxPending: 100_000 });
    const sub = open(srv, 'SUB s 1\r\n');
    sub.s.hold = true;
    const other = open(srv, 'SUB s 1\r\n');
    const p1 = open(srv);
    const p2 = open(srv);
    p1.feed(pubs('s', 80, 1000));
    assert.equal(p1.s.paused, true);
    // A second producer (fan-in) pushes the consumer past max_pending.
    p2.feed(pubs('s', 30, 1000));
    assert.equal(sub.c.isClosed, true);
    assert.equal(sub.c.reason, ClosedReason.SlowConsumerPendingBytes);
    assert.ok(!sub.s.out.includes('-ERR'));
    assert.equal(srv.slowConsumers, 1);
    assert.ok(logs.some((l) => l.includes('[INF]') && l.includes('Slow Consumer Detected: MaxPending of 100000 Exceeded')));
    assert.equal(p1.s.paused, false, 'released when the consumer closed');
    assert.equal(p2.s.paused, false);
    assert.equal((other.s.out.match(/MSG s 1 1000\r\n/g) ?? []).length, 110, 'the other subscriber got everything');
    assert.equal(other.c.isClosed, false);
  });

  it('write deadline: no write progress closes the consumer; a slow reader that makes progress is kept', async () => {
    const { srv, logs } = stubServer({ maxPending: 10_000_000, writeDeadlineMs: 100 });
    const stuck = open(srv, 'SUB s 1\r\n');
    const slow = open(srv, 'SUB s 1\r\n');
    stuck.s.hold = slow.s.hold = true;
    const pub = open(srv);
    pub.feed(pubs('s', 40, 1000)); // 40 KB each: write() returns false, the deadline is armed
    assert.equal(stuck.s.writableNeedDrain, true);
    const t = setInterval(() => slow.s.progress(2000), 30);
    try {
      await sleep(350);
    } finally {
      clearInterval(t);
    }
    assert.equal(stuck.c.isClosed, true);
    assert.equal(stuck.c.reason, ClosedReason.SlowConsumerWriteDeadline);
    assert.ok(logs.some((l) => /Slow Consumer Detected: WriteDeadline of 100ms exceeded with \d+ chunks of \d+ total bytes\./.test(l)));
    assert.equal(slow.c.isClosed, false, 'progress re-arms the deadline');
    slow.s.drain();
    await sleep(150);
    assert.equal(slow.c.isClosed, false);
    assert.equal(srv.slowConsumers, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Real sockets

/**
 * A raw NATS connection that parses MSG frames as they come (without keeping them), answers
 * PINGs, and can read slowly (`rate` bytes/s) or not at all (`stop()`).
 */
class Raw {
  readonly sock: Socket;
  msgs = 0;
  /** Payloads that did not carry the expected sequence number. */
  outOfOrder = 0;
  pongs = 0;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private rate = 0;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => undefined);
  }

  static async open(port: number, ops = ''): Promise<Raw> {
    const sock = connect(port, '127.0.0.1');
    const r = new Raw(sock);
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    r.send(`CONNECT {"verbose":false,"pedantic":false}\r\n${ops}`);
    await r.ping(5000);
    return r;
  }

  send(s: string | Buffer): void {
    this.sock.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }

  async ping(timeoutMs: number): Promise<void> {
    const n = this.pongs;
    this.send('PING\r\n');
    await until(() => this.pongs > n || this.closed, timeoutMs, 'PONG');
    if (this.closed) throw new Error('connection closed');
  }

  /** Read at most `bytesPerSec` (0 = as fast as possible). */
  throttle(bytesPerSec: number): void {
    this.rate = bytesPerSec;
  }

  /** Stop reading for good (the socket stays open). */
  stop(): void {
    this.sock.pause();
    this.sock.removeAllListeners('data');
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    this.parse();
    if (this.rate > 0) {
      this.sock.pause();
      setTimeout(() => this.sock.resume(), Math.ceil((d.length / this.rate) * 1000));
    }
  }

  private parse(): void {
    let b = this.buf;
    for (;;) {
      const eol = b.indexOf('\r\n');
      if (eol < 0) break;
      const line = b.toString('latin1', 0, eol);
      if (line.startsWith('MSG ')) {
        const size = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (b.length < eol + 2 + size + 2) break;
        const seq = Number(b.toString('latin1', eol + 2, eol + 2 + 8));
        if (seq !== this.msgs) this.outOfOrder++;
        this.msgs++;
        b = b.subarray(eol + 2 + size + 2);
      } else {
        if (line === 'PING') this.send('PONG\r\n');
        else if (line === 'PONG') this.pongs++;
        b = b.subarray(eol + 2);
      }
    }
    this.buf = b.length === 0 ? Buffer.alloc(0) : Buffer.from(b);
  }
}

/** `n` PUBs on `subject`, payloads of `size` bytes starting with their 8-digit sequence number. */
function flood(subject: string, n: number, size: number): Buffer {
  const frame = Buffer.from(`PUB ${subject} ${size}\r\n${'x'.repeat(size)}\r\n`, 'latin1');
  const at = frame.indexOf('\r\n') + 2;
  const out = Buffer.allocUnsafe(frame.length * n);
  for (let i = 0; i < n; i++) {
    frame.copy(out, i * frame.length);
    out.write(String(i).padStart(8, '0'), i * frame.length + at, 'latin1');
  }
  return out;
}

describe('fast-producer stall and slow consumers (real sockets)', () => {
  it('a flooded subscriber that reads slowly loses nothing: the publisher is slowed instead', async () => {
    const srv = await tsnats('max_payload: 65536\nmax_pending: 1048576');
    try {
      const sub = await Raw.open(srv.port, 'SUB flood 1\r\n');
      sub.throttle(16 << 20); // 16 MiB/s, far slower than the publisher
      const pub = await Raw.open(srv.port);
      const n = 3000;
      pub.send(flood('flood', n, 10_000)); // 30 MB at once
      await pub.ping(60_000); // the server has read every PUB
      await until(() => sub.msgs >= n || sub.closed, 60_000, 'all messages');
      assert.equal(sub.closed, false);
      assert.equal(sub.msgs, n, 'every message delivered');
      assert.equal(sub.outOfOrder, 0, 'in order');
      assert.equal(srv.server.slowConsumers, 0);
      const stalls = srv.server.closedConnections().length;
      assert.equal(stalls, 0, 'nobody was closed');
      assert.ok(
        srv.logs.every((l) => !l.includes('Slow Consumer')),
        'no slow consumer logged',
      );
      pub.sock.destroy();
      sub.sock.destroy();
    } finally {
      await srv.stop();
    }
  });

  it('a subscriber that stops reading is cut as a slow consumer; the others are unaffected', async () => {
    const srv = await tsnats('max_payload: 65536\nmax_pending: 1048576\nwrite_deadline: "1s"');
    try {
      const stuck = await Raw.open(srv.port, 'SUB flood 1\r\n');
      const healthy = await Raw.open(srv.port, 'SUB flood 2\r\n');
      const other = await Raw.open(srv.port, 'SUB other 1\r\n');
      const pub = await Raw.open(srv.port);
      stuck.stop();
      const n = 1500;
      pub.send(flood('flood', n, 10_000)); // 15 MB, more than the kernel buffers the stuck one can hold
      // While the flood is stalled behind the stuck subscriber, unrelated traffic flows.
      await until(() => [...srv.server.clients.values()].some((c) => c.isStalled), 30_000, 'a stall');
      const t0 = Date.now();
      other.send('PUB other 8\r\n00000000\r\n');
      await until(() => other.msgs === 1, 2_000, 'unrelated message');
      assert.ok(Date.now() - t0 < 500, 'unrelated traffic is not held up');

      await pub.ping(30_000);
      await until(() => healthy.msgs >= n, 30_000, 'healthy subscriber');
      assert.equal(healthy.msgs, n, 'the healthy subscriber got everything');
      assert.equal(healthy.outOfOrder, 0);
      assert.equal(healthy.closed, false);
      assert.equal(pub.closed, false, 'the publisher is not closed');
      const closed = srv.server.closedConnections();
      assert.equal(closed.length, 1, 'only the stuck subscriber was closed');
      assert.match(closed[0]!.reason ?? '', /^Slow Consumer \((Pending Bytes|Write Deadline)\)$/);
      assert.equal(srv.server.slowConsumers, 1);
      for (const r of [pub, healthy, other, stuck]) r.sock.destroy();
    } finally {
      await srv.stop();
    }
  });
});
