// Slow consumers against a real tsnats process (bin/tsnats, max_pending 1 MiB, write_deadline 2 s):
//
//   - a subscriber that stops reading while a publisher sends 40 MB: it is cut off as a slow
//     consumer (log line, /varz slow_consumers), two fast subscribers on the same subject receive
//     every message, and an unrelated client keeps getting PONGs quickly;
//   - a publisher flooding for a few seconds at full speed with a subscriber that never reads and
//     one that reads slowly: the server's memory stays bounded (peak RSS), it does not crash, and
//     fast subscribers receive everything the server accepted.
//
// The invariant (nats-server's slow-consumer rule, with or without a fast-producer stall) is
// asserted, not exact counts: memory bounded, no crash, fast subscribers unaffected.

import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { getJson, procStats, sleep, spawnTsnats, tempDir, waitFor, type Child } from '../hostile/harness.js';
import { MsgCounter } from './load-kit.js';

let tmp: { dir: string; remove(): void };
let server: Child;

before(async () => {
  tmp = tempDir('load-slow');
  const out = await spawnTsnats(tmp.dir, ['max_pending: 1048576', 'write_deadline: "2s"', 'max_payload: 65536'].join('\n'), { monitor: true });
  assert.ok(out.ready, out.proc.out());
  server = out.proc;
});
after(async () => {
  await server?.kill();
  tmp?.remove();
});

interface Conn {
  sock: Socket;
  counter: MsgCounter;
  closed: boolean;
  pongs: number;
}

function conn(port: number, setup: string, read = true): Promise<Conn> {
  return new Promise((res, rej) => {
    const sock = netConnect(port, '127.0.0.1');
    const c: Conn = { sock, counter: new MsgCounter(), closed: false, pongs: 0 };
    sock.on('error', () => undefined);
    sock.on('close', () => (c.closed = true));
    let ready = false;
    const timer = setTimeout(() => !ready && rej(new Error('no PONG')), 10_000);
    sock.on('data', (d: Buffer) => {
      c.counter.feed(d);
      c.pongs = (c.counter.text.match(/^PONG$/gm) ?? []).length;
      if (!ready && c.pongs >= 1) {
        ready = true;
        clearTimeout(timer);
        if (!read) sock.pause();
        res(c);
      }
    });
    sock.once('connect', () => sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\n${setup}PING\r\n`));
  });
}

/** Publishes `count` messages of `size` bytes as fast as the socket takes them (bounded in time). */
async function publish(p: Conn, subject: string, count: number, size: number, budgetMs: number): Promise<number> {
  const payload = Buffer.alloc(size, 0x61);
  const frame = Buffer.concat([Buffer.from(`PUB ${subject} ${size}\r\n`), payload, Buffer.from('\r\n')]);
  const batch = Math.max(1, Math.floor(65536 / frame.length));
  const deadline = Date.now() + budgetMs;
  let sent = 0;
  while (sent < count && Date.now() < deadline && !p.closed) {
    const n = Math.min(batch, count - sent);
    const ok = p.sock.write(n === 1 ? frame : Buffer.concat(Array.from({ length: n }, () => frame)));
    sent += n;
    if (!ok) await new Promise<void>((r) => p.sock.once('drain', () => r()));
  }
  return sent;
}

async function pingPong(c: Conn, timeoutMs = 20_000): Promise<void> {
  const before = c.pongs;
  c.sock.write('PING\r\n');
  assert.ok(await waitFor(() => c.pongs > before || c.closed, timeoutMs, 5), 'PONG');
  assert.equal(c.closed, false, 'connection still open');
}

describe('load: slow consumers', () => {
  it('a subscriber that stops reading is cut off; fast subscribers get every message; other clients keep their latency', async (t) => {
    const v0 = await getJson<{ slow_consumers: number }>(server.monitorPort, '/varz');
    const hwm0 = procStats(server.pid).hwmKb;
    const slow = await conn(server.port, 'SUB flood 1\r\n', false);
    const fast = [await conn(server.port, 'SUB flood 1\r\n'), await conn(server.port, 'SUB flood 1\r\n')];
    const other = await conn(server.port, '');
    const pub = await conn(server.port, '');
    const COUNT = 40_000;
    // An unrelated client measures PING round trips during the flood.
    let maxRtt = 0;
    let stop = false;
    const rtts = (async () => {
      while (!stop) {
        const t = Date.now();
        await pingPong(other, 10_000);
        maxRtt = Math.max(maxRtt, Date.now() - t);
        await sleep(50);
      }
    })();
    const sent = await publish(pub, 'flood', COUNT, 1024, 20_000);
    await pingPong(pub);
    stop = true;
    await rtts;
    assert.equal(sent, COUNT);
    for (const f of fast) await pingPong(f);
    for (const [i, f] of fast.entries()) assert.equal(f.counter.count, COUNT, `fast subscriber ${i} received every message`);
    assert.ok(await waitFor(async () => (await getJson<{ slow_consumers: number }>(server.monitorPort, '/varz')).slow_consumers > v0.slow_consumers, 5000, 100), 'slow consumer counted');
    assert.match(server.out(), /Slow Consumer Detected: (MaxPending of 1048576 Exceeded|WriteDeadline of 2s exceeded)/);
    assert.ok(maxRtt < 3000, `an unrelated client kept answering (max PING RTT ${maxRtt} ms)`);
    const hwm = procStats(server.pid).hwmKb;
    t.diagnostic(`40 MB published; fast subscribers ${fast.map((f) => f.counter.count).join(', ')} messages; max PING RTT of an unrelated client ${maxRtt} ms; peak RSS +${((hwm - hwm0) / 1024).toFixed(1)} MB`);
    assert.ok(hwm - hwm0 < 96 * 1024, `peak RSS grew ${((hwm - hwm0) / 1024).toFixed(1)} MB`);
    for (const c of [slow, ...fast, other, pub]) c.sock.destroy();
  });

  it('a publisher flooding a slow and a stalled subscriber: memory bounded, no crash, fast subscribers unaffected', async (t) => {
    const v0 = await getJson<{ slow_consumers: number }>(server.monitorPort, '/varz');
    const hwm0 = procStats(server.pid).hwmKb;
    const stalled = await conn(server.port, 'SUB big 1\r\n', false);
    const crawling = await conn(server.port, 'SUB big 1\r\n', false);
    // Reads 16 KiB every 100 ms.
    const crawl = setInterval(() => {
      crawling.sock.read(16 * 1024);
    }, 100);
    const fast = await conn(server.port, 'SUB big 1\r\n');
    const pub = await conn(server.port, '');
    const SIZE = 60 * 1024;
    const sent = await publish(pub, 'big', 2000, SIZE, 4000); // up to ~120 MB in 4 s
    await pingPong(pub, 30_000);
    clearInterval(crawl);
    await pingPong(fast, 30_000);
    assert.equal(fast.counter.count, sent, `the fast subscriber received all ${sent} messages the server accepted`);
    assert.equal(server.done, false, 'no crash');
    const hwm = procStats(server.pid).hwmKb;
    const v1 = await getJson<{ slow_consumers: number }>(server.monitorPort, '/varz');
    t.diagnostic(`${sent} × 60 KiB = ${((sent * SIZE) / 1e6).toFixed(0)} MB published; fast subscriber ${fast.counter.count}; slow consumers cut ${v1.slow_consumers - v0.slow_consumers} (stalled closed ${stalled.closed}, crawling closed ${crawling.closed}); peak RSS +${((hwm - hwm0) / 1024).toFixed(1)} MB`);
    assert.ok(hwm - hwm0 < 96 * 1024, `peak RSS grew ${((hwm - hwm0) / 1024).toFixed(1)} MB for ${((sent * SIZE) / 1e6).toFixed(0)} MB published`);
    for (const c of [stalled, crawling, fast, pub]) c.sock.destroy();
    assert.ok(await waitFor(async () => (await getJson<{ connections: number }>(server.monitorPort, '/varz')).connections === 0, 10_000, 100));
  });
});
