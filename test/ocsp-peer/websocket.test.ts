// ocsp_peer in the websocket `tls {}` block (nats-server 2.10+): wss clients with a client
// certificate are checked like mTLS clients on the client port, after the TLS handshake and
// BEFORE the HTTP upgrade is answered (the request they sent is never read). Real peers: a raw
// node:tls websocket client and the official nats.js `wsconnect` (with the `ws` package, given the
// client certificate), the testkit PKI and programmable OCSP responder.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { connect as natsConnect } from '@nats-io/transport-node';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import type { IssuedCert } from '../../src/testkit/index.js';
import { NATS_SERVER } from '../stapling/helpers.js';
import { frame, upgradeRequest } from '../websocket/helpers.js';
import { monitorJson, peerConf, setupPeer, sleep, startTs, type PeerEnv, type Ts } from './helpers.js';

let env: PeerEnv;
let n = 0;
async function fresh(opts: Parameters<PeerEnv['pki']['issue']>[1] = {}): Promise<IssuedCert> {
  return env.pki.issue(`ws${++n}`, { eku: ['clientAuth'], ...opts });
}

before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env.close();
});

/** A wss listener whose tls block verifies client certificates, with `ocsp_peer: <ocspPeer>` unless undefined. */
function wsConf(ocspPeer: string | undefined, extra = '', wsExtra = ''): string {
  const lines = [
    `store_dir: "${env.dir}"`,
    'http: "127.0.0.1:-1"',
    extra,
    'websocket {',
    '  listen: "127.0.0.1:-1"',
    wsExtra,
    '  tls {',
    `    cert_file: "${env.pki.server.certFile}"`,
    `    key_file: "${env.pki.server.keyFile}"`,
    `    ca_file: "${env.pki.caFile}"`,
    '    verify: true',
  ];
  if (ocspPeer !== undefined) lines.push(`    ocsp_peer: ${ocspPeer}`);
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

const wsPort = (ts: Ts): number => ts.server.websocket!.port;

interface WssResult {
  /** TLS handshake completed (Node cannot fail it after chain verification). */
  secure: boolean;
  /** The server answered the upgrade with 101. */
  upgraded: boolean;
  /** Got a PONG to CONNECT+PING over the websocket: the server gave it a session. */
  admitted: boolean;
  /** Everything the server sent after TLS, as latin1. */
  received: string;
  /** The socket, still open when admitted and `keep` was asked. */
  sock?: tls.TLSSocket;
}

/**
 * A raw wss client: TLS with the client certificate, the upgrade request sent at once, then (after
 * a 101) CONNECT + `payload` + PING in one masked frame; waits for PONG or the close.
 */
function wssClient(port: number, cert: IssuedCert, o: { payload?: string; keep?: boolean; timeoutMs?: number } = {}): Promise<WssResult> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let secure = false;
    let upgraded = false;
    let done = false;
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      cert: readFileSync(cert.certFile),
      key: readFileSync(cert.keyFile),
      ca: readFileSync(env.pki.caFile),
      servername: 'localhost',
    });
    const finish = (admitted: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!(admitted && o.keep)) sock.destroy();
      resolve({ secure, upgraded, admitted, received: received.toString('latin1'), ...(admitted && o.keep ? { sock } : {}) });
    };
    const timer = setTimeout(() => finish(false), o.timeoutMs ?? 8000);
    sock.on('secureConnect', () => {
      secure = true;
      sock.write(upgradeRequest(port));
    });
    sock.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const text = received.toString('latin1');
      if (!upgraded && text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) {
        upgraded = true;
        sock.write(frame(2, `CONNECT {"verbose":false,"pedantic":false}\r\n${o.payload ?? ''}PING\r\n`));
      }
      if (upgraded && text.includes('PONG\r\n')) finish(true);
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
  });
}

/** nats.js `wsconnect` with a client certificate (the `ws` package as the platform WebSocket). */
async function natsWss(port: number, cert: IssuedCert): Promise<NatsConnection | Error> {
  const tlsOpts = { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile), ca: readFileSync(env.pki.caFile) };
  class CertWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, tlsOpts);
    }
  }
  const g = globalThis as unknown as { WebSocket: unknown };
  const prev = g.WebSocket;
  g.WebSocket = CertWebSocket;
  try {
    return await wsconnect({ servers: `wss://localhost:${port}`, reconnect: false, timeout: 5000 });
  } catch (e) {
    return e as Error;
  } finally {
    g.WebSocket = prev;
  }
}

function websocketVarz(v: Record<string, unknown>): Record<string, unknown> {
  return (v.websocket ?? {}) as Record<string, unknown>;
}

describe('ocsp_peer on the websocket listener', () => {
  test('good certificate: admitted (raw wss and nats.js wsconnect); /varz shows the websocket flag', async () => {
    const ts = await startTs(env.dir, wsConf('true'));
    try {
      const r = await wssClient(wsPort(ts), env.good);
      assert.equal(r.admitted, true, r.received);
      const nc = await natsWss(wsPort(ts), env.good);
      assert.ok(!(nc instanceof Error), String(nc));
      const sub = nc.subscribe('svc');
      void (async () => {
        for await (const m of sub) m.respond(`pong:${m.string()}`);
      })();
      await nc.flush();
      const tcp = await natsConnect({ servers: `127.0.0.1:${ts.port}` });
      assert.equal((await tcp.request('svc', 'x', { timeout: 2000 })).string(), 'pong:x', 'the plain client port is unaffected');
      await tcp.close();
      await nc.close();
      assert.ok(ts.logs.some((l) => l.includes('OCSP verify pass for [O=tsnats testkit,CN=peer-client]')));
      const v = await monitorJson(ts.server.monitor.port, '/varz');
      assert.equal(websocketVarz(v).tls_ocsp_peer_verify, true);
      assert.equal(v.tls_ocsp_peer_verify, undefined, 'the top-level flag is the client tls block only (no client tls here)');
      assert.equal((v.ocsp_peer_cache as Record<string, unknown>).cache_type, 'local');
      const oz = (await monitorJson(ts.server.monitor.port, '/ocspz')).peer as Record<string, unknown>;
      assert.equal((oz.websocket_policy as Record<string, unknown>).verify, true);
      assert.equal(oz.policy, undefined);
    } finally {
      await ts.stop();
    }
  });

  test('revoked: refused before the upgrade is answered; nothing it sends reaches a session', async () => {
    const revoked = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const ts = await startTs(env.dir, wsConf('true'));
    try {
      const watcher = await natsConnect({ servers: `127.0.0.1:${ts.port}` });
      const got: string[] = [];
      const sub = watcher.subscribe('leak');
      void (async () => {
        for await (const m of sub) got.push(m.string());
      })();
      await watcher.flush();
      const r = await wssClient(wsPort(ts), revoked, { payload: 'PUB leak 6\r\nsecret\r\n' });
      assert.equal(r.secure, true, 'Node completes the TLS handshake (documented difference)');
      assert.equal(r.upgraded, false);
      assert.equal(r.admitted, false);
      assert.equal(r.received, '', 'no HTTP answer at all: the upgrade request was never read');
      const nc = await natsWss(wsPort(ts), revoked);
      assert.ok(nc instanceof Error, 'nats.js wsconnect with the revoked certificate cannot connect');
      await watcher.flush();
      await sleep(100);
      assert.deepEqual(got, []);
      assert.ok(ts.logs.some((l) => /websocket: TLS handshake error from 127\.0\.0\.1:\d+: client not OCSP valid/.test(l)));
      assert.ok(ts.logs.some((l) => l.includes('with CA status [revoked]')));
      const c = (await monitorJson(ts.server.monitor.port, '/connz?state=all')) as { total: number };
      assert.equal(c.total, 1, 'only the watcher ever had a connection');
      await watcher.close();
    } finally {
      await ts.stop();
    }
  });

  test('responder down: refused; admitted with allow_when_ca_unreachable', async () => {
    const c = await fresh({ ocspUrls: ['http://127.0.0.1:1/'] });
    let ts = await startTs(env.dir, wsConf('{ verify: true, ca_timeout: 1 }'));
    try {
      const r = await wssClient(wsPort(ts), c);
      assert.equal(r.admitted, false);
      assert.equal(r.received, '');
      assert.ok(ts.logs.some((l) => l.includes('Attempt to obtain OCSP response from CA responder for [')));
    } finally {
      await ts.stop();
    }
    ts = await startTs(env.dir, wsConf('{ verify: true, ca_timeout: 1, allow_when_ca_unreachable: true }'));
    try {
      assert.equal((await wssClient(wsPort(ts), c)).admitted, true);
      assert.ok(ts.logs.some((l) => l.includes('but AllowWhenCAUnreachable set; no cached revocation so allowing')));
    } finally {
      await ts.stop();
    }
  });

  test('a responder that never answers holds only that handshake; handshake_timeout still bounds it', async () => {
    const c = await fresh();
    env.responder.setFault('hang');
    const ts = await startTs(env.dir, wsConf('{ verify: true, ca_timeout: 1 }', '', '  handshake_timeout: "500ms"'));
    try {
      const tcp = await natsConnect({ servers: `127.0.0.1:${ts.port}` });
      const started = performance.now();
      const pending = wssClient(wsPort(ts), c);
      await sleep(100);
      // Meanwhile the server serves other clients.
      const t0 = performance.now();
      await tcp.flush();
      assert.ok(performance.now() - t0 < 500, 'a flush on the client port is not held by the pending check');
      const r = await pending;
      const ms = performance.now() - started;
      assert.equal(r.upgraded, false);
      assert.ok(ms >= 400 && ms < 1500, `dropped by handshake_timeout (500 ms), took ${ms.toFixed(0)} ms`);
      assert.ok(ts.logs.some((l) => l.includes('websocket handshake timeout')));
      await sleep(800); // the check ends (ca_timeout 1 s) after the socket is gone: nothing breaks
      await tcp.flush();
      await tcp.close();
    } finally {
      env.responder.setFault(null);
      await ts.stop();
    }
  });

  test("each block uses its own ocsp_peer: the client tls block's does not apply to wss", async () => {
    const revoked = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const text = peerConf(env, 'true') + wsConf(undefined).replace(/^store_dir.*\n/, '');
    const ts = await startTs(env.dir, text);
    try {
      assert.equal((await wssClient(wsPort(ts), revoked)).admitted, true);
      const v = await monitorJson(ts.server.monitor.port, '/varz');
      assert.equal(v.tls_ocsp_peer_verify, true);
      assert.equal(websocketVarz(v).tls_ocsp_peer_verify, undefined);
    } finally {
      await ts.stop();
    }
  });

  test('re-check: a connected wss client revoked later is closed (close frame 1008 Credentials Revoked)', async () => {
    const c = await fresh();
    env.responder.setValidity({ nextUpdateMs: 2000 });
    const ts = await startTs(env.dir, wsConf('true'));
    try {
      const r = await wssClient(wsPort(ts), c, { keep: true });
      assert.equal(r.admitted, true, r.received);
      const other = await wssClient(wsPort(ts), env.good, { keep: true });
      assert.equal(other.admitted, true);
      const gate = ts.server.ocspPeer!;
      assert.equal(await gate.recheck(), 0, 'still good');
      env.responder.setStatus(c.serialHex, 'revoked');
      await sleep(2100);
      let tail = Buffer.alloc(0);
      const closed = new Promise<void>((res) => r.sock!.on('close', () => res()));
      r.sock!.on('data', (d: Buffer) => (tail = Buffer.concat([tail, d])));
      assert.equal(await gate.recheck(), 1);
      await Promise.race([closed, sleep(3000)]);
      // A close frame: opcode 8, status 1008 (policy violation), reason "Credentials Revoked".
      const at = tail.indexOf(0x88);
      assert.ok(at >= 0, `close frame expected, got ${tail.toString('hex')}`);
      assert.equal(tail.readUInt16BE(at + 2), 1008);
      assert.equal(tail.subarray(at + 4, at + 2 + tail[at + 1]!).toString(), 'Credentials Revoked');
      assert.equal(other.sock!.destroyed, false, 'other clients are untouched');
      assert.ok(ts.logs.some((l) => l.includes('is now revoked: closing connection')));
      other.sock!.destroy();
    } finally {
      env.responder.setValidity({ nextUpdateMs: 3_600_000 });
      await ts.stop();
    }
  });
});

describe('ocsp_peer websocket configuration', () => {
  const parse = (text: string) => parseConfigText(text, 'p.conf', { checkFiles: false });
  const WS = (tlsBody: string): string => `websocket {\n  port: 8443\n  tls {\n    cert_file: c\n    key_file: k\n${tlsBody}  }\n}\n`;

  test('verify: true is required in the websocket tls block (error with file:line:col)', () => {
    let err: unknown;
    try {
      parse(WS('    ocsp_peer: true\n'));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.message, 'p.conf:6:5: OCSP peer verification for client connections requires TLS verify (mTLS) to be enabled');
    const ok = parse(WS('    verify: true\n    ocsp_peer { verify: true, ca_timeout: 0.5 }\n')).options.websocket!;
    assert.equal(ok.tls?.ocspPeer?.verify, true);
    assert.equal(ok.tls?.ocspPeer?.caTimeoutMs, 500);
    assert.equal(parse(WS('    ocsp_peer: false\n')).options.websocket!.tls?.ocspPeer?.verify, false, 'off needs nothing');
    assert.equal(parse(WS('    verify_and_map: true\n    ocsp_peer: true\n')).options.websocket!.tls?.ocspPeer?.verify, true);
  });

  test('nats-server 2.9.10 rejects ocsp_peer in the websocket tls block too (a 2.10+ option)', { skip: NATS_SERVER ? false : 'nats-server not installed' }, () => {
    const f = join(env.dir, 'ws-2910.conf');
    writeFileSync(f, WS('    verify: true\n    ocsp_peer: true\n'));
    const r = spawnSync(NATS_SERVER!, ['-t', '-c', f], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /:7:5: error parsing tls config, unknown field \["ocsp_peer"\]/);
  });

  test('reload turns it on and off for new wss clients; /varz follows; a reload breaking verify is refused', async () => {
    const revoked = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const ts = await startTs(env.dir, wsConf('false'));
    try {
      const mport = ts.server.monitor.port;
      assert.equal((await wssClient(wsPort(ts), revoked)).admitted, true);
      assert.equal(websocketVarz(await monitorJson(mport, '/varz')).tls_ocsp_peer_verify, undefined);
      assert.equal(ts.server.ocspPeer, undefined, 'no gate (nor its module) while no block turns ocsp_peer on');

      await ts.reloadWith(wsConf('true'));
      assert.equal((await wssClient(wsPort(ts), revoked)).admitted, false);
      assert.equal((await wssClient(wsPort(ts), env.good)).admitted, true);
      assert.equal(websocketVarz(await monitorJson(mport, '/varz')).tls_ocsp_peer_verify, true);

      const broken = wsConf('true').replace('    verify: true\n', '');
      await assert.rejects(ts.reloadWith(broken), /:13:5: OCSP peer verification for client connections requires TLS verify \(mTLS\) to be enabled/);
      assert.equal((await wssClient(wsPort(ts), revoked)).admitted, false, 'the old configuration still serves');

      await ts.reloadWith(wsConf('false'));
      assert.equal((await wssClient(wsPort(ts), revoked)).admitted, true);
      assert.equal(websocketVarz(await monitorJson(mport, '/varz')).tls_ocsp_peer_verify, undefined);
      assert.equal(ts.server.ocspPeer, undefined);
    } finally {
      await ts.stop();
    }
  });
});
