// The official nats.js client over websocket (`wsconnect` from @nats-io/nats-core, with the `ws`
// package as the platform WebSocket: Node 20 has none) mixed with TCP clients on the same tsnats.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { headers as natsHeaders, wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { frame, startTs, text, upgraded, type WsTarget } from './helpers.js';

(globalThis as unknown as { WebSocket: unknown }).WebSocket ??= WebSocket;

async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(url);
  return (await r.json()) as Record<string, unknown>;
}

for (const compression of [false, true]) {
  describe(`nats.js over websocket (compression ${compression ? 'on' : 'off'})`, () => {
    let t: WsTarget;
    let ws: NatsConnection;
    let tcp: NatsConnection;
    before(async () => {
      t = await startTs(`http: "127.0.0.1:-1"\nwebsocket { listen: "127.0.0.1:-1", no_tls: true, compression: ${compression} }`);
      ws = await wsconnect({ servers: `ws://127.0.0.1:${t.wsPort}`, name: 'ws-client' });
      tcp = await connect({ servers: `127.0.0.1:${t.port}`, name: 'tcp-client' });
    });
    after(async () => {
      await ws?.close();
      await tcp?.close();
      await t?.stop();
    });

    it('tcp → ws and ws → tcp publish/subscribe', async () => {
      const s1 = ws.subscribe('to.ws', { max: 3 });
      const s2 = tcp.subscribe('to.tcp', { max: 3 });
      await ws.flush();
      await tcp.flush();
      for (let i = 0; i < 3; i++) {
        tcp.publish('to.ws', `m${i}`);
        ws.publish('to.tcp', `n${i}`);
      }
      const a: string[] = [];
      const b: string[] = [];
      for await (const m of s1) a.push(m.string());
      for await (const m of s2) b.push(m.string());
      assert.deepEqual(a, ['m0', 'm1', 'm2']);
      assert.deepEqual(b, ['n0', 'n1', 'n2']);
    });

    it('request/reply both ways, with headers', async () => {
      tcp.subscribe('svc.tcp', {
        callback: (_e, m) => {
          m.respond(`tcp:${m.string()}:${m.headers?.get('X-A') ?? ''}`);
        },
      });
      ws.subscribe('svc.ws', {
        callback: (_e, m) => {
          m.respond(`ws:${m.string()}`);
        },
      });
      await tcp.flush();
      await ws.flush();
      const h = natsHeaders();
      h.set('X-A', 'b');
      assert.equal((await ws.request('svc.tcp', 'q', { headers: h, timeout: 2000 })).string(), 'tcp:q:b');
      assert.equal((await tcp.request('svc.ws', 'r', { timeout: 2000 })).string(), 'ws:r');
    });

    it('a 512 KiB payload (split across frames and reads) arrives intact both ways', async () => {
      const big = new Uint8Array(512 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const s1 = ws.subscribe('big.ws', { max: 1 });
      const s2 = tcp.subscribe('big.tcp', { max: 1 });
      await ws.flush();
      await tcp.flush();
      tcp.publish('big.ws', big);
      ws.publish('big.tcp', big);
      for await (const m of s1) assert.ok(Buffer.from(m.data).equals(Buffer.from(big)));
      for await (const m of s2) assert.ok(Buffer.from(m.data).equals(Buffer.from(big)));
    });

    it('queue group members on both transports share the messages', async () => {
      let nw = 0;
      let nt = 0;
      ws.subscribe('q.x', {
        queue: 'g',
        callback: () => {
          nw++;
        },
      });
      tcp.subscribe('q.x', {
        queue: 'g',
        callback: () => {
          nt++;
        },
      });
      await ws.flush();
      await tcp.flush();
      const pub = await connect({ servers: `127.0.0.1:${t.port}` });
      for (let i = 0; i < 200; i++) pub.publish('q.x');
      await pub.flush();
      await pub.close();
      await ws.flush();
      await tcp.flush();
      assert.equal(nw + nt, 200);
      assert.ok(nw > 0 && nt > 0);
    });

    it('/connz lists the websocket client with type "websocket"; /varz has the websocket section; ports file', async () => {
      const c = await getJson(`${t.monitor}/connz`);
      const conns = c.connections as Array<Record<string, unknown>>;
      const w = conns.find((x) => x.name === 'ws-client')!;
      const p = conns.find((x) => x.name === 'tcp-client')!;
      assert.equal(w.type, 'websocket');
      assert.equal(w.kind, 'Client');
      assert.equal(w.lang, 'nats.ws');
      assert.equal(p.type, 'nats');
      const v = await getJson(`${t.monitor}/varz`);
      const section = v.websocket as Record<string, unknown>;
      assert.equal(section.port, t.wsPort);
      assert.equal(section.host, '127.0.0.1');
      assert.equal(section.no_tls, true);
      assert.equal(section.compression, compression ? true : undefined);
      const pf = readdirSync(t.dir).find((f) => f.endsWith('.ports'))!;
      const ports = JSON.parse(readFileSync(join(t.dir, pf), 'utf8')) as { websocket?: string[] };
      assert.deepEqual(ports.websocket, [`ws://127.0.0.1:${t.wsPort}`]);
      assert.match(t.log(), / - wid:\d+ - Client connection created/);
    });
  });
}

describe('websocket authorization override', () => {
  let t: WsTarget;
  before(async () => {
    t = await startTs(`websocket { listen: "127.0.0.1:-1", no_tls: true, authorization { user: wsu, password: wsp, timeout: 1 } }`);
  });
  after(async () => {
    await t?.stop();
  });

  it('ws clients need the websocket credentials; TCP clients none; INFO says auth_required only on ws', async () => {
    const nc = await wsconnect({ servers: `ws://127.0.0.1:${t.wsPort}`, user: 'wsu', pass: 'wsp' });
    assert.equal(nc.info?.auth_required, true);
    await nc.flush();
    await nc.close();
    await assert.rejects(wsconnect({ servers: `ws://127.0.0.1:${t.wsPort}`, user: 'wsu', pass: 'bad', reconnect: false }));
    await assert.rejects(wsconnect({ servers: `ws://127.0.0.1:${t.wsPort}`, reconnect: false }));
    const tc = await connect({ servers: `127.0.0.1:${t.port}` });
    assert.equal(tc.info?.auth_required, undefined);
    await tc.close();
  });
});

describe('websocket and server lifecycle', () => {
  it('max_connections counts websocket clients (INFO, -ERR, close 1008); shutdown sends close 1001', async () => {
    const t = await startTs(`max_connections: 1\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }`);
    try {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, 'CONNECT {"verbose":false}\r\nPING\r\n'));
      await p.framesUntil((a) => text(a).includes('PONG'));
      const q = await upgraded(t.wsPort);
      const refused = await q.framesUntil((a) => a.some((f) => f.opcode === 8));
      assert.match(text(refused), /^INFO .*\r\n-ERR 'maximum connections exceeded'\r\n$/);
      assert.equal(refused.find((f) => f.opcode === 8)!.payload.readUInt16BE(0), 1008);
      q.close();
      await t.ts!.server.shutdown();
      const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 8));
      const c = fs.find((f) => f.opcode === 8)!;
      assert.equal(c.payload.readUInt16BE(0), 1001);
      assert.equal(c.payload.subarray(2).toString(), 'Server Shutdown');
      p.close();
    } finally {
      await t.stop();
    }
  });

  it('a websocket subscriber that stops reading is closed as a slow consumer; the server keeps serving', async () => {
    const t = await startTs(`max_payload: 65536\nmax_pending: 262144\nwrite_deadline: "1s"\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }`);
    try {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, 'CONNECT {"verbose":false}\r\nSUB flood 1\r\nPING\r\n'));
      await p.framesUntil((a) => text(a).includes('PONG'));
      p.sock.pause(); // stops reading: the kernel buffers fill, then the server's
      const pub = await connect({ servers: `127.0.0.1:${t.port}` });
      const chunk = new Uint8Array(32 * 1024);
      for (let i = 0; i < 2000 && !t.log().includes('Slow Consumer Detected'); i++) {
        pub.publish('flood', chunk);
        if (i % 50 === 0) await pub.flush();
      }
      for (let i = 0; i < 100 && !t.log().includes('Slow Consumer Detected'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(t.log(), / - wid:\d+ - Slow Consumer Detected/);
      assert.equal(t.ts!.server.slowConsumers, 1);
      await pub.flush();
      await pub.close();
      p.close();
    } finally {
      await t.stop();
    }
  });

  it('lame duck mode: the websocket listener stops accepting; clients get INFO ldm, then close 1001', async () => {
    const t = await startTs(`lame_duck_grace_period: "0s"\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }`);
    try {
      const p = await upgraded(t.wsPort);
      p.write(frame(2, 'CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n'));
      await p.framesUntil((a) => text(a).includes('PONG'));
      const ldm = t.ts!.server.lameDuckMode();
      const fs = await p.framesUntil((a) => a.some((f) => f.opcode === 8), 5000);
      assert.match(text(fs), /INFO \{[^\r]*"ldm":true/);
      assert.equal(fs.find((f) => f.opcode === 8)!.payload.readUInt16BE(0), 1001);
      await assert.rejects(upgraded(t.wsPort));
      await ldm;
    } finally {
      await t.stop();
    }
  });

  it('reload: a websocket change other than TLS is refused', async () => {
    const t = await startTs(`websocket { listen: "127.0.0.1:-1", no_tls: true }`);
    try {
      const o = structuredClone(t.ts!.server.options);
      o.websocket!.compression = true;
      await assert.rejects(t.ts!.server.reload(o), /config reload not supported for Websocket/);
      const same = structuredClone(t.ts!.server.options);
      same.debug = !same.debug;
      await t.ts!.server.reload(same);
    } finally {
      await t.stop();
    }
  });
});
