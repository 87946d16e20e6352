// A client cannot make the server allocate unbounded memory. A real tsnats process
// (max_control_line 1024, max_payload 64 KiB, max_pending 1 MiB, max_subscriptions 100) is fed:
//
//   - a 10 MB control line without CRLF, and a 10 MB CONNECT: `maximum control line exceeded`,
//     closed after about max_control_line bytes;
//   - PUB/HPUB announcing 999 999 999 bytes: `Maximum Payload Violation`, closed, nothing
//     allocated;
//   - 200 connections each holding a 64 KiB payload that never completes (memory bounded by
//     connections × max_payload);
//   - 10 000 SUBs on one connection: 100 kept, the rest refused with `maximum subscriptions
//     exceeded`;
//   - 40 MB of PINGs from a client that never reads its PONGs (pending bytes): cut off at
//     max_pending;
//   - 200 000 distinct subjects published (caches must stay bounded).
//
// For each: the process's RSS is sampled every 20 ms while the client misbehaves; the growth over
// the value before stays bounded, and the server stays up.

import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { getJson, procStats, RawClient, sleep, spawnTsnats, tempDir, waitFor, type Child } from '../hostile/harness.js';

let tmp: { dir: string; remove(): void };
let server: Child;

before(async () => {
  tmp = tempDir('sec-limits');
  const out = await spawnTsnats(tmp.dir, ['max_control_line: 1024', 'max_payload: 65536', 'max_pending: 1048576', 'max_subscriptions: 100', 'write_deadline: "2s"'].join('\n'), {
    monitor: true,
  });
  assert.ok(out.ready, out.proc.out());
  server = out.proc;
});
after(async () => {
  await server?.kill();
  tmp?.remove();
});

/** Runs `fn` while sampling the server's RSS; returns the peak growth in MB over the RSS before. */
async function rssGrowth(fn: () => Promise<void>): Promise<number> {
  await sleep(50);
  const base = procStats(server.pid).rssKb;
  let peak = base;
  let on = true;
  const sampler = (async () => {
    while (on) {
      peak = Math.max(peak, procStats(server.pid).rssKb);
      await sleep(20);
    }
  })();
  try {
    await fn();
  } finally {
    on = false;
    await sampler;
  }
  peak = Math.max(peak, procStats(server.pid).rssKb);
  return (peak - base) / 1024;
}

/** Resolves on 'drain' or 'close', or after `ms` (listeners removed). */
function drainOrClose(sock: Socket, ms: number): Promise<void> {
  return new Promise((res) => {
    const done = (): void => {
      clearTimeout(t);
      sock.off('drain', done);
      sock.off('close', done);
      res();
    };
    const t = setTimeout(done, ms);
    sock.once('drain', done);
    sock.once('close', done);
  });
}

/** Writes `total` bytes of `chunk` repeated (until the server closes), as fast as it takes them. */
async function stream(sock: Socket, head: Buffer, chunk: Buffer, total: number): Promise<number> {
  let sent = 0;
  let closed = false;
  sock.once('close', () => (closed = true));
  if (head.length > 0 && !sock.write(head)) await drainOrClose(sock, 2000);
  sent += head.length;
  while (sent < total && !closed && !sock.destroyed) {
    const ok = sock.write(chunk);
    sent += chunk.length;
    if (!ok) await drainOrClose(sock, 2000);
  }
  return sent;
}

function plain(port: number): Promise<{ sock: Socket; text: () => string; closed: () => boolean }> {
  return new Promise((res) => {
    const sock = netConnect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    sock.on('data', (d: Buffer) => {
      if (text.length < 100_000) text += d.toString('latin1');
    });
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    sock.once('connect', () => res({ sock, text: () => text, closed: () => closed }));
  });
}

describe('limits: a client cannot make the server allocate unbounded memory', () => {
  it('a 10 MB control line and a 10 MB CONNECT: refused after ~max_control_line bytes', async (t) => {
    const grew = await rssGrowth(async () => {
      for (const head of ['PUB ', 'CONNECT {"name":"']) {
        const logged = (server.out().match(/maximum control line exceeded/g) ?? []).length;
        const c = await plain(server.port);
        const sent = await stream(c.sock, Buffer.from(head), Buffer.alloc(64 * 1024, 0x61), 10 * 1024 * 1024);
        assert.ok(await waitFor(() => c.closed(), 5000), `${head.trim()}: closed`);
        // The -ERR itself may be lost: the client keeps writing into a closed socket, and the
        // resulting RST discards what it had not read yet (as with nats-server). The log says why.
        assert.ok(await waitFor(() => (server.out().match(/maximum control line exceeded/g) ?? []).length > logged, 3000), 'logged');
        t.diagnostic(`${head.trim()}: the client managed to send ${(sent / 1e6).toFixed(1)} MB before the close`);
        c.sock.destroy();
      }
    });
    assert.ok(grew < 16, `RSS grew ${grew.toFixed(1)} MB`);
  });

  it('PUB and HPUB announcing 999 999 999 bytes: Maximum Payload Violation, closed at once', async () => {
    const grew = await rssGrowth(async () => {
      for (const line of ['CONNECT {"verbose":false,"headers":true}\r\nPUB foo 999999999\r\n', 'CONNECT {"verbose":false,"headers":true}\r\nHPUB foo 12 999999999\r\n']) {
        const c = await RawClient.connect(server.port);
        c.send(line);
        await c.waitFor(/-ERR 'Maximum Payload Violation'/, 5000);
        assert.ok(await c.waitClosed(3000));
        c.close();
      }
    });
    assert.ok(grew < 8, `RSS grew ${grew.toFixed(1)} MB`);
  });

  it('200 connections each holding an unfinished 64 KiB payload: bounded by connections × max_payload', async (t) => {
    const conns: Socket[] = [];
    const grew = await rssGrowth(async () => {
      for (let i = 0; i < 200; i++) {
        const c = await plain(server.port);
        c.sock.write(`CONNECT {"verbose":false}\r\nPUB hold.${i} 65536\r\n`);
        c.sock.write(Buffer.alloc(65_000, 0x62));
        conns.push(c.sock);
      }
      await sleep(300);
    });
    const v = await getJson<{ connections: number }>(server.monitorPort, '/varz');
    assert.ok(v.connections >= 200, 'all held');
    for (const s of conns) s.destroy();
    t.diagnostic(`200 × 65 000 pending payload bytes (13 MB): RSS +${grew.toFixed(1)} MB`);
    assert.ok(grew < 64, `RSS grew ${grew.toFixed(1)} MB`);
    assert.ok(await waitFor(async () => (await getJson<{ connections: number }>(server.monitorPort, '/varz')).connections === 0, 5000, 100));
  });

  it('10 000 SUBs on one connection: 100 kept, the rest refused', async () => {
    const c = await RawClient.connect(server.port);
    c.send('CONNECT {"verbose":false,"pedantic":false}\r\n');
    const parts: string[] = [];
    for (let i = 0; i < 10_000; i++) parts.push(`SUB s.${i}.${'x'.repeat(900)} ${i}\r\n`);
    const grew = await rssGrowth(async () => {
      for (let i = 0; i < parts.length; i += 500) c.send(parts.slice(i, i + 500).join(''));
      await c.flush(20_000);
    });
    const errs = (c.text.match(/-ERR 'maximum subscriptions exceeded'/g) ?? []).length;
    assert.equal(errs, 9_900, 'every SUB past 100 refused');
    assert.equal(c.closed, false, 'the connection stays open (as nats-server)');
    const v = await getJson<{ subscriptions: number }>(server.monitorPort, '/varz');
    assert.equal(v.subscriptions, 100);
    c.close();
    assert.ok(grew < 32, `RSS grew ${grew.toFixed(1)} MB`);
  });

  it(
    // Found by this suite (replies were not counted against max_pending: 238 MB of PINGs in 6 s took
    // the server from 68 to 365 MB, nats-server stayed at 15 MB); fixed in cf0965e.
    '40 MB of PINGs from a client that never reads its PONGs: cut off at max_pending, memory bounded',
    async (t) => {
      const v0 = await getJson<{ slow_consumers: number }>(server.monitorPort, '/varz');
      const c = await plain(server.port);
      c.sock.write('CONNECT {"verbose":false}\r\n');
      c.sock.pause(); // never read
      const chunk = Buffer.from('PING\r\n'.repeat(10_000));
      let sent = 0;
      const grew = await rssGrowth(async () => {
        sent = await stream(c.sock, Buffer.alloc(0), chunk, 40 * 1024 * 1024);
        await sleep(200);
      });
      const v1 = await getJson<{ slow_consumers: number }>(server.monitorPort, '/varz');
      t.diagnostic(`sent ${(sent / 1e6).toFixed(1)} MB of PING; slow consumers +${v1.slow_consumers - v0.slow_consumers}; RSS +${grew.toFixed(1)} MB`);
      c.sock.destroy();
      assert.ok(v1.slow_consumers > v0.slow_consumers, 'cut off as a slow consumer (pending bytes)');
      assert.ok(grew < 16, `RSS grew ${grew.toFixed(1)} MB`);
    },
  );

  it('200 000 distinct subjects published: bounded', async () => {
    const sub = await RawClient.connect(server.port);
    sub.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB d.7.> 1\r\n');
    await sub.flush();
    const pub = await RawClient.connect(server.port);
    pub.send('CONNECT {"verbose":false,"pedantic":false}\r\n');
    const grew = await rssGrowth(async () => {
      for (let b = 0; b < 200; b++) {
        let s = '';
        for (let i = 0; i < 1000; i++) s += `PUB d.${b}.${i}.${'k'.repeat(40)} 1\r\nx\r\n`;
        pub.send(s);
        if (b % 20 === 19) await pub.flush(20_000);
      }
      await pub.flush(20_000);
      await sub.flush(20_000);
    });
    assert.equal((sub.text.match(/MSG d\.7\./g) ?? []).length, 1000, 'the matching ones delivered');
    sub.close();
    pub.close();
    assert.ok(grew < 64, `RSS grew ${grew.toFixed(1)} MB`);
    assert.equal(server.done, false, 'server up');
  });
});
