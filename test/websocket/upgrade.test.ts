// The HTTP upgrade, differential: every request goes to tsnats and to nats-server 2.9.10 started
// with the same `websocket {}` block; status, body, the headers nats-server sets, and the
// `websocket handshake error` log line must match.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawPeer, SKIP_NATS_SERVER, start, upgradeRequest, type WsTarget } from './helpers.js';

const CONF = `websocket { listen: "127.0.0.1:-1", no_tls: true, compression: true, same_origin: true }`;
const CONF_LIST = `websocket { listen: "127.0.0.1:-1", no_tls: true, allowed_origins: ["http://good.example.com:8080", "https://secure.example.com"] }`;

interface Outcome {
  status: number;
  body: string;
  headers: Record<string, string | undefined>;
}

async function ask(t: WsTarget, req: (port: number) => string): Promise<Outcome> {
  const p = await RawPeer.open(t.wsPort);
  try {
    p.write(req(t.wsPort));
    const r = await p.response();
    const len = Number(r.headers.get('content-length') ?? 0);
    const body = len > 0 ? await p.body(len) : '';
    const pick = ['content-type', 'sec-websocket-version', 'x-content-type-options', 'upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-extensions', 'sec-websocket-protocol', 'nats-no-masking'];
    const headers: Record<string, string | undefined> = {};
    for (const k of pick) headers[k] = r.headers.get(k);
    return { status: r.status, body, headers };
  } finally {
    p.close();
  }
}

const CASES: Array<{ name: string; conf?: string; req: (port: number) => string; status: number; log?: string }> = [
  { name: 'POST', req: (p) => upgradeRequest(p, { method: 'POST' }), status: 405, log: 'websocket handshake error: request method must be GET' },
  { name: 'no Upgrade header', req: (p) => upgradeRequest(p, { headers: { Upgrade: undefined } }), status: 400, log: "invalid value for header 'Upgrade'" },
  { name: 'no Connection header', req: (p) => upgradeRequest(p, { headers: { Connection: undefined } }), status: 400, log: "invalid value for header 'Connection'" },
  { name: 'Connection token list', req: (p) => upgradeRequest(p, { headers: { Connection: 'keep-alive, upgrade' } }), status: 101 },
  { name: 'no key', req: (p) => upgradeRequest(p, { headers: { 'Sec-WebSocket-Key': undefined } }), status: 400, log: 'websocket handshake error: key missing' },
  { name: 'version 99', req: (p) => upgradeRequest(p, { headers: { 'Sec-WebSocket-Version': '99' } }), status: 400, log: 'websocket handshake error: invalid version' },
  { name: 'foreign origin (same_origin)', req: (p) => upgradeRequest(p, { headers: { Origin: 'http://evil.example.com' } }), status: 403, log: 'origin not allowed: not same origin' },
  { name: 'same origin', req: (p) => upgradeRequest(p, { headers: { Origin: `http://127.0.0.1:${p}` } }), status: 101 },
  { name: 'no origin', req: (p) => upgradeRequest(p), status: 101 },
  { name: 'subprotocol ignored', req: (p) => upgradeRequest(p, { headers: { 'Sec-WebSocket-Protocol': 'nats' } }), status: 101 },
  { name: 'deflate offer with parameters', req: (p) => upgradeRequest(p, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' } }), status: 101 },
  { name: 'no-masking', req: (p) => upgradeRequest(p, { headers: { 'Nats-No-Masking': 'true' } }), status: 101 },
  { name: 'allowed origin', conf: CONF_LIST, req: (p) => upgradeRequest(p, { headers: { Origin: 'http://good.example.com:8080/some/path' } }), status: 101 },
  { name: 'origin port differs', conf: CONF_LIST, req: (p) => upgradeRequest(p, { headers: { Origin: 'http://good.example.com:9090' } }), status: 403, log: 'origin not allowed: not in the allowed list' },
  { name: 'origin scheme differs', conf: CONF_LIST, req: (p) => upgradeRequest(p, { headers: { Origin: 'http://secure.example.com:443' } }), status: 403, log: 'not in the allowed list' },
  { name: 'https default port', conf: CONF_LIST, req: (p) => upgradeRequest(p, { headers: { Origin: 'https://SECURE.example.com' } }), status: 101 },
];

describe('websocket upgrade: tsnats vs nats-server 2.9.10', { skip: SKIP_NATS_SERVER }, () => {
  const servers = new Map<string, { ts: WsTarget; go: WsTarget }>();
  before(async () => {
    for (const c of [CONF, CONF_LIST]) servers.set(c, { ts: await start('tsnats', c), go: await start('nats-server', c) });
  });
  after(async () => {
    for (const s of servers.values()) await Promise.all([s.ts.stop(), s.go.stop()]);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const s = servers.get(c.conf ?? CONF)!;
      const [a, b] = [await ask(s.ts, c.req), await ask(s.go, c.req)];
      assert.equal(b.status, c.status, 'nats-server status');
      assert.deepEqual(a, b);
      if (c.log) {
        const log = c.log;
        for (let i = 0; i < 40 && !(s.ts.log().includes(log) && s.go.log().includes(log)); i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(s.go.log().includes(log), `nats-server log has ${log}`);
        assert.ok(s.ts.log().includes(log), `tsnats log has ${log}`);
      }
    });
  }

  it("requests Go's HTTP server refuses before the handler, and HTTP/1.0: same reply bytes", async () => {
    const reqs = ['GET / HTTP/1.1\r\n\r\n', 'GARBAGE\r\n\r\n', 'GET / HTTP/1.0\r\n\r\n', 'POST / HTTP/1.0\r\nHost: x\r\n\r\n'];
    const s = servers.get(CONF)!;
    for (const req of reqs) {
      const out: string[] = [];
      for (const t of [s.ts, s.go]) {
        const p = await RawPeer.open(t.wsPort);
        p.write(req);
        await p.until(() => p.data.includes('\r\n\r\n') && (p.closed || p.data.toString().endsWith('\n')), 2000);
        await p.until(() => p.closed, 300);
        out.push(p.data.toString('latin1').replace(/Date: [^\r]*/, 'Date: X'));
        p.close();
      }
      assert.equal(out[0], out[1], JSON.stringify(req));
    }
  });

  it('data pipelined after the request: connection dropped, no 101', async () => {
    for (const t of [servers.get(CONF)!.ts, servers.get(CONF)!.go]) {
      const p = await RawPeer.open(t.wsPort);
      p.write(upgradeRequest(t.wsPort) + 'extra');
      await p.until(() => p.closed, 3000);
      assert.ok(p.closed, t.name);
      assert.ok(!p.data.toString('latin1').includes('101'), `${t.name}: ${p.data.toString('latin1')}`);
      assert.ok(t.log().includes('client sent data before handshake is complete') || t.name === 'nats-server', t.name);
    }
  });
});

describe('websocket upgrade: tsnats only', () => {
  it('handshake_timeout closes a silent connection', async () => {
    const t = await start('tsnats', `websocket { listen: "127.0.0.1:-1", no_tls: true, handshake_timeout: "200ms" }`);
    try {
      const p = await RawPeer.open(t.wsPort);
      const t0 = Date.now();
      await p.until(() => p.closed, 3000);
      assert.ok(p.closed);
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      await t.stop();
    }
  });

  it('an oversized request head gets 431 and the server keeps serving', async () => {
    const t = await start('tsnats', `websocket { listen: "127.0.0.1:-1", no_tls: true }`);
    try {
      const p = await RawPeer.open(t.wsPort);
      p.write(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(70_000)}`);
      const r = await p.response();
      assert.equal(r.status, 431);
      const q = await RawPeer.open(t.wsPort);
      q.write(upgradeRequest(t.wsPort));
      assert.equal((await q.response()).status, 101);
      q.close();
    } finally {
      await t.stop();
    }
  });

  it('a /leafnode path is refused (leaf nodes not supported yet)', async () => {
    const t = await start('tsnats', `websocket { listen: "127.0.0.1:-1", no_tls: true }`);
    try {
      const p = await RawPeer.open(t.wsPort);
      p.write(upgradeRequest(t.wsPort, { path: '/leafnode' }));
      await p.until(() => p.closed);
      assert.ok(p.closed);
      assert.match(t.log(), /Not configured to accept leaf node connections/);
    } finally {
      await t.stop();
    }
  });
});
