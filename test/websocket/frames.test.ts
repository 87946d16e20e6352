// Raw frames, differential: a hand-made websocket peer talks to tsnats and nats-server 2.9.10
// (same `websocket {}` block) and the frames each server sends back are compared.

import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { frame, SKIP_NATS_SERVER, start, text, upgraded, type Frame, type WsTarget } from './helpers.js';

const CONF = `websocket { listen: "127.0.0.1:-1", no_tls: true }`;
const CONF_Z = `websocket { listen: "127.0.0.1:-1", no_tls: true, compression: true }`;
const CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"protocol":1,"headers":true}\r\n';

function hasPong(all: Frame[]): boolean {
  return text(all).includes('PONG\r\n');
}

function closeOf(all: Frame[]): { code: number; body: string } | undefined {
  const c = all.find((f) => f.opcode === 8);
  return c ? { code: c.payload.length >= 2 ? c.payload.readUInt16BE(0) : 0, body: c.payload.subarray(2).toString() } : undefined;
}

type Scenario = (t: WsTarget) => Promise<unknown>;

const SCENARIOS: Array<{ name: string; conf?: string; run: Scenario }> = [
  {
    name: 'INFO arrives in one binary frame, unmasked, server port of the client listener',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      const fs = await p.framesUntil((a) => text(a).includes('\r\n'));
      p.close();
      const info = JSON.parse(text(fs).slice(5)) as Record<string, unknown>;
      return { n: fs.length, op: fs[0]!.opcode, fin: fs[0]!.fin, masked: fs[0]!.masked, portIsClient: info.port === t.port, wsUrls: 'ws_connect_urls' in info, connectUrls: 'connect_urls' in info };
    },
  },
  {
    name: 'CONNECT split over a text frame and a two-part fragmented binary message',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(1, CONNECT.slice(0, 10)));
      p.write(frame(2, CONNECT.slice(10, 30), { fin: false }));
      p.write(frame(0, CONNECT.slice(30) + 'PI', { fin: true }));
      p.write(frame(2, 'NG\r\n'));
      const fs = await p.framesUntil(hasPong);
      p.close();
      return { pong: hasPong(fs) };
    },
  },
  {
    name: 'several NATS ops in one frame; PUB payload split across frames',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, CONNECT + 'SUB a 1\r\nPUB a 5\r\nhe'));
      p.write(frame(2, 'llo\r\nPING\r\n'));
      const fs = await p.framesUntil(hasPong);
      p.close();
      return { msg: text(fs).includes('MSG a 1 5\r\nhello\r\n'), pong: hasPong(fs) };
    },
  },
  {
    name: 'PING control frame → PONG with the same payload; PONG ignored',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(10, 'ignored'));
      p.write(frame(9, 'hey'));
      const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 10));
      p.close();
      const pong = fs.find((f) => f.opcode === 10)!;
      return { payload: pong.payload.toString(), fin: pong.fin };
    },
  },
  {
    name: 'control frame between the fragments of a data message',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, CONNECT + 'PI', { fin: false }));
      p.write(frame(9, 'x'));
      p.write(frame(0, 'NG\r\n'));
      const fs = await p.framesUntil((a) => hasPong(a) && a.some((f) => f.opcode === 10));
      p.close();
      return { pong: hasPong(fs), ctrl: fs.some((f) => f.opcode === 10) };
    },
  },
  {
    name: 'CLOSE 1000 "bye" → CLOSE 1000 "bye", then the connection closes',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])));
      const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 8));
      await p.until(() => p.closed);
      return { close: closeOf(fs), closed: p.closed };
    },
  },
  {
    name: 'CLOSE without status → 1005; invalid UTF-8 body → 1007',
    run: async (t) => {
      const out: unknown[] = [];
      for (const payload of [Buffer.alloc(0), Buffer.from([0x03, 0xe8, 0xff, 0xfe])]) {
        const p = await upgraded(t.wsPort);
        p.write(frame(8, payload));
        const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 8));
        p.close();
        out.push(closeOf(fs));
      }
      return out;
    },
  },
  ...(
    [
      ['unmasked frame', frame(2, 'PING\r\n', { mask: false }), 'read error: mask bit missing'],
      ['control frame over 125 bytes', frame(9, Buffer.alloc(126)), 'control frame length bigger than maximum allowed of 125 bytes'],
      ['fragmented control frame', frame(9, 'x', { fin: false }), 'control frame does not have final bit set'],
      ['continuation without a start', frame(0, 'x'), 'invalid continuation frame'],
      ['unknown opcode', frame(3, 'x'), 'unknown opcode 3'],
      ['new message inside a fragmented one', Buffer.concat([frame(2, 'a', { fin: false }), frame(2, 'b')]), 'new message started before final frame for previous message was received'],
    ] as Array<[string, Buffer, string]>
  ).map(([name, bytes, log]) => ({
    name: `${name}: connection closed (close frame 1002 at most), logged`,
    run: async (t: WsTarget) => {
      const p = await upgraded(t.wsPort);
      await p.framesUntil((a) => text(a).includes('\r\n'));
      p.write(bytes);
      const fs = await p.framesUntil(() => false, 3000);
      for (let i = 0; i < 40 && !t.log().includes(log); i++) await new Promise((r) => setTimeout(r, 25));
      // nats-server queues a 1002 close frame but normally closes before writing it (a race in
      // its write loop): either no close frame, or that one.
      const cf = closeOf(fs);
      const closeOk = cf === undefined || (cf.code === 1002 && cf.body === log.replace('read error: ', ''));
      return { closed: p.closed, closeOk, logged: t.log().includes(log) };
    },
  })),
  {
    name: 'auth failure → -ERR then close frame 1008 "Authentication Failure"',
    conf: `authorization { user: a, password: b }\n${CONF}`,
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, 'CONNECT {"user":"a","pass":"wrong","verbose":false}\r\n'));
      const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 8));
      p.close();
      return { err: text(fs).includes("-ERR 'Authorization Violation'"), close: closeOf(fs) };
    },
  },
  {
    name: 'a protocol violation → close frame 1002',
    run: async (t) => {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, CONNECT + 'BOGUS\r\n'));
      const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 8));
      p.close();
      return { close: closeOf(fs)?.code };
    },
  },
  {
    name: 'compression: INFO deflated (RSV1), small PONG not, masked compressed input inflated',
    conf: CONF_Z,
    run: async (t) => {
      const p = await upgraded(t.wsPort, { 'Sec-WebSocket-Extensions': 'permessage-deflate' });
      const { deflateRawSync, constants } = await import('node:zlib');
      const z = deflateRawSync(Buffer.from(CONNECT + 'SUB a 1\r\nPUB a 3\r\nabc\r\nPING\r\n'), { finishFlush: constants.Z_SYNC_FLUSH });
      p.write(frame(2, z.subarray(0, z.length - 4), { rsv1: true }));
      const fs = await p.framesUntil((a) => a.filter((f) => !f.rsv1).some((f) => f.payload.toString().includes('PONG')));
      p.close();
      const info = fs[0]!;
      const plain = fs.map((f) => (f.rsv1 ? inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }) : f.payload)).map((b) => b.toString());
      return { infoRsv1: info.rsv1, infoByte0: (info.fin ? 0x80 : 0) | (info.rsv1 ? 0x40 : 0) | info.opcode, msg: plain.join('').includes('MSG a 1 3\r\nabc\r\n'), pongFrame: fs.some((f) => !f.rsv1 && f.payload.toString() === 'PONG\r\n') };
    },
  },
  {
    name: 'browser UA: a 10000-byte message arrives in FIN frames of at most 4096 bytes; other UA: one frame',
    run: async (t) => {
      const out: unknown[] = [];
      for (const ua of ['Mozilla/5.0 (X11; Linux x86_64)', 'nats-test']) {
        const p = await upgraded(t.wsPort, { 'User-Agent': ua });
        await p.framesUntil((a) => text(a).includes('\r\n'));
        p.write(frame(2, CONNECT + 'SUB a 1\r\nPING\r\n'));
        await p.framesUntil(hasPong);
        p.write(frame(2, `PUB a 10000\r\n${'x'.repeat(10000)}\r\n`));
        const fs = await p.framesUntil((a) => text(a).length >= 10000 + 20);
        p.close();
        // How many frames depends on how the 10000 bytes reached the server (one or two reads): compare
        // the properties, not the count.
        out.push({ ua, allFinBinary: fs.every((f) => f.fin && f.opcode === 2), allLe4096: fs.every((f) => f.payload.length <= 4096), several: fs.length >= 3 });
      }
      return out;
    },
  },
  {
    name: 'browser UA + compression: a large compressed batch is one message in 4096-byte fragments (RSV1 on the first only)',
    conf: CONF_Z,
    run: async (t) => {
      const p = await upgraded(t.wsPort, { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120', 'Sec-WebSocket-Extensions': 'permessage-deflate' });
      await p.framesUntil((a) => a.length > 0);
      const { randomBytes } = await import('node:crypto');
      const body = randomBytes(15000).toString('base64'); // ~20000 bytes that deflate poorly
      p.write(frame(2, CONNECT + 'SUB a 1\r\nPING\r\n'));
      await p.framesUntil((a) => a.length > 0);
      p.write(frame(2, `PUB a ${body.length}\r\n${body}\r\n`));
      const fs = await p.framesUntil((a) => a.filter((f) => f.fin).length >= 1 && a.reduce((n, f) => n + f.payload.length, 0) > 15000);
      p.close();
      return {
        shapes: fs.every((f) => (f.opcode === 2 && f.rsv1) || (f.opcode === 0 && !f.rsv1)),
        le4096: fs.every((f) => f.payload.length <= 4096),
        fragmented: fs.some((f) => !f.fin),
      };
    },
  },
  {
    name: 'Nats-No-Masking: true → unmasked frames accepted',
    run: async (t) => {
      const p = await upgraded(t.wsPort, { 'Nats-No-Masking': 'true' });
      p.write(frame(2, CONNECT + 'PING\r\n', { mask: false }));
      const fs = await p.framesUntil(hasPong);
      p.close();
      return { pong: hasPong(fs) };
    },
  },
];

describe('websocket frames: tsnats vs nats-server 2.9.10', { skip: SKIP_NATS_SERVER }, () => {
  const servers = new Map<string, { ts: WsTarget; go: WsTarget }>();
  before(async () => {
    for (const c of new Set(SCENARIOS.map((s) => s.conf ?? CONF))) servers.set(c, { ts: await start('tsnats', c), go: await start('nats-server', c) });
  });
  after(async () => {
    for (const s of servers.values()) await Promise.all([s.ts.stop(), s.go.stop()]);
  });
  for (const s of SCENARIOS) {
    it(s.name, async () => {
      const pair = servers.get(s.conf ?? CONF)!;
      const [a, b] = await Promise.all([s.run(pair.ts), s.run(pair.go)]);
      assert.deepEqual(a, b);
    });
  }
});

describe('websocket frames: tsnats bounds', () => {
  it('a deflate bomb (compressed message inflating past the bound) closes only that connection', async () => {
    const { start: startT } = await import('./helpers.js');
    const t = await startT('tsnats', `max_payload: 65536\nmax_pending: 262144\n${CONF_Z}`);
    try {
      const { deflateRawSync, constants } = await import('node:zlib');
      const bomb = deflateRawSync(Buffer.alloc(8 * 1024 * 1024), { finishFlush: constants.Z_SYNC_FLUSH });
      const p = await upgraded(t.wsPort, { 'Sec-WebSocket-Extensions': 'permessage-deflate' });
      p.write(frame(2, CONNECT));
      p.write(frame(2, bomb.subarray(0, bomb.length - 4), { rsv1: true }));
      await p.until(() => p.closed, 5000);
      assert.ok(p.closed);
      assert.match(t.log(), /read error: .*(larger than|too large)/i);
      const q = await upgraded(t.wsPort);
      q.write(frame(2, CONNECT + 'PING\r\n'));
      assert.ok(hasPong(await q.framesUntil(hasPong)));
      q.close();
    } finally {
      await t.stop();
    }
  });
});
