// wss: the websocket `tls {}` served through the client port's TLS machinery and stapled by the
// same OCSP engine (testkit PKI + programmable responder), checked with a Node TLS client that
// requests OCSP, with openssl s_client -status, on /ocspz, with nats.js over wss, and across a
// reload. nats-server 2.9.10 never staples wss (checked too): an improvement, documented.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { wsconnect } from '@nats-io/nats-core';
import { loadConfigFile } from '../../src/config/index.js';
import { probe as probeRaw, setup, type Env, type ProbeOptions } from '../stapling/helpers.js';
import { OPENSSL_MISSING, opensslAvailable, sClientStatus } from '../support/openssl.js';

const probe = (port: number, o: Omit<ProbeOptions, 'ca'> & { ca: string }): ReturnType<typeof probeRaw> => probeRaw(port, { ...o, ca: readFileSync(o.ca, 'utf8') });
import { SKIP_NATS_SERVER, start, startTs, type WsTarget } from './helpers.js';

function wssConf(E: Env, cert: { certFile: string; keyFile: string }, extra = ''): string {
  return `http: "127.0.0.1:-1"\n${extra}\nwebsocket {\n  listen: "127.0.0.1:-1"\n  tls { cert_file: "${cert.certFile}", key_file: "${cert.keyFile}", ca_file: "${E.pki.caFile}" }\n}\n`;
}

describe('wss with OCSP stapling', () => {
  let E: Env;
  let t: WsTarget;
  before(async () => {
    E = await setup();
    t = await startTs(wssConf(E, E.pki.serverMustStaple));
  });
  after(async () => {
    await t?.stop();
    await E?.close();
  });

  it('every accepted wss handshake carries a good staple for the served certificate (TLS 1.2 and 1.3)', async () => {
    for (const tls13 of [false, true, true]) {
      const p = await probe(t.wsPort, { direct: true, ca: E.pki.caFile, tls13 });
      assert.equal(p.serial, E.pki.serverMustStaple.serialHex.replace(/^0+/, ''));
      assert.ok(p.staple, 'staple present');
      assert.equal(p.staple.status, 'good');
      assert.equal(p.staple.serial, p.serial);
    }
    assert.match(t.log(), /OCSP Stapling enabled for Websocket connections/);
    assert.match(t.log(), /Listening for websocket clients on wss:\/\/127\.0\.0\.1:\d+/);
  });

  it('openssl s_client -status sees the staple', { skip: opensslAvailable() ? false : OPENSSL_MISSING }, async () => {
    const r = await sClientStatus({ port: t.wsPort, natsInfoFirst: false, caFile: E.pki.caFile });
    assert.ok(r.handshake, r.stdout);
    assert.equal(r.responseStatus, 'successful');
    assert.equal(r.certStatus, 'good');
  });

  it('/ocspz lists the certificate under the websocket listener', async () => {
    const j = (await (await fetch(`${t.monitor}/ocspz?listener=websocket`)).json()) as { certificates: Array<Record<string, unknown>> };
    assert.equal(j.certificates.length, 1);
    assert.deepEqual(j.certificates[0]!.listeners, ['websocket']);
    const none = (await (await fetch(`${t.monitor}/ocspz?listener=client`)).json()) as { certificates: unknown[] };
    assert.equal(none.certificates.length, 0);
  });

  it('nats.js over wss: connects, round-trips, /connz shows the TLS version', async () => {
    const ca = readFileSync(E.pki.caFile);
    class CaWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    }
    const g = globalThis as unknown as { WebSocket: unknown };
    const prev = g.WebSocket;
    g.WebSocket = CaWebSocket;
    try {
      const nc = await wsconnect({ servers: `wss://localhost:${t.wsPort}`, name: 'wss-client' });
      const sub = nc.subscribe('x', { max: 1 });
      nc.publish('x', 'hello');
      for await (const m of sub) assert.equal(m.string(), 'hello');
      const c = (await (await fetch(`${t.monitor}/connz`)).json()) as { connections: Array<Record<string, unknown>> };
      const w = c.connections.find((x) => x.name === 'wss-client')!;
      assert.equal(w.type, 'websocket');
      assert.match(String(w.tls_version), /^1\.[23]$/);
      await nc.close();
    } finally {
      g.WebSocket = prev;
    }
  });

  it('reload swaps the wss certificate; the new one is stapled from its first handshake', async () => {
    const next = wssConf(E, E.pki.server, 'ocsp { mode: always }');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const f = join(t.dir, 'server.conf');
    writeFileSync(f, `host: 127.0.0.1\nport: -1\nports_file_dir: "${t.dir}"\n${next}\n`);
    const o = loadConfigFile(f).options;
    // The listen address is the same block: keep the running port so the reload is not refused.
    await t.ts!.server.reload({ ...o, websocket: { ...o.websocket!, host: '127.0.0.1' } });
    const p = await probe(t.wsPort, { direct: true, ca: E.pki.caFile });
    assert.equal(p.serial, E.pki.server.serialHex.replace(/^0+/, ''));
    assert.equal(p.staple?.status, 'good');
  });
});

describe('wss: nats-server 2.9.10 does not staple (tsnats does: improvement)', { skip: SKIP_NATS_SERVER }, () => {
  it('same configuration, ocsp mode always: no staple on nats-server', async () => {
    const E = await setup();
    const conf = wssConf(E, E.pki.serverMustStaple, 'ocsp { mode: always }');
    const go = await start('nats-server', conf);
    const ts = await start('tsnats', conf);
    try {
      const a = await probe(ts.wsPort, { direct: true, ca: E.pki.caFile });
      const b = await probe(go.wsPort, { direct: true, ca: E.pki.caFile });
      assert.equal(a.staple?.status, 'good');
      assert.equal(b.staple, null);
      assert.equal(a.serial, b.serial);
    } finally {
      await Promise.all([go.stop(), ts.stop()]);
      await E.close();
    }
  });
});

describe('wss configuration', () => {
  it('a websocket port without tls or no_tls is refused with nats-server\'s message', async () => {
    await assert.rejects(startTs(`websocket { listen: "127.0.0.1:-1" }`), /websocket requires TLS configuration/);
  });
});
