// Server lifecycle and TLS plumbing: the stapling hook (OCSPRequest on upgraded sockets), reload,
// lame duck mode, slow consumers, TLS handshake failures/timeouts, HTTPS monitoring, shutdown
// statuses, the embedding API.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { defaultOptions, loadConfigFile } from '../../src/config/index.js';
import { ExitCode, startServer, type ServerHook } from '../../src/index.js';
import { client, Conn, sleep } from '../wire/harness.js';
import { pki, tsnats } from '../client/helpers.js';
import type { TestPki } from '../../src/testkit/index.js';

let P: TestPki;
before(async () => {
  P = await pki();
});

/** A TLS client that upgrades after INFO (as NATS clients do) and asks for a staple. */
function tlsClient(port: number, opts: { ca: string; requestOCSP?: boolean; servername?: string; cert?: string; key?: string }): Promise<{ sock: tls.TLSSocket; staple: Buffer | null; info: string }> {
  return new Promise((resolve, reject) => {
    const raw = netConnect(port, '127.0.0.1');
    raw.once('error', reject);
    raw.once('data', (d) => {
      let staple: Buffer | null = null;
      const o: tls.ConnectionOptions = { socket: raw, ca: opts.ca, servername: opts.servername ?? 'localhost' };
      if (opts.requestOCSP) (o as Record<string, unknown>).requestOCSP = true; // not in @types/node's ConnectionOptions
      if (opts.cert) o.cert = opts.cert;
      if (opts.key) o.key = opts.key;
      const sock = tls.connect(o);
      sock.on('OCSPResponse', (r) => (staple = r));
      sock.once('secureConnect', () => resolve({ sock, staple, info: d.toString() }));
      sock.once('error', reject);
    });
  });
}

describe('TLS hook for OCSP stapling', () => {
  it('hooks run before "Server is ready"; an OCSPRequest listener on tls.servers() staples upgraded sockets', async () => {
    const calls: string[] = [];
    let seenCert: Buffer | undefined;
    const hook: ServerHook = {
      name: 'test-stapler',
      start: ({ tls: t, server }) => {
        calls.push(`start running=${server.isRunning}`);
        assert.ok(t, 'TLS manager present');
        assert.equal(t.servers().length, 2, 'client upgrade server + HTTPS monitor');
        for (const s of t.servers()) {
          s.on('OCSPRequest', (cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => {
            seenCert = cert;
            cb(null, Buffer.from('FAKE-STAPLE'));
          });
        }
      },
      reload: () => void calls.push('reload'),
      stop: () => void calls.push('stop'),
    };
    const dir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'tsnats-hook-'));
    const conf = `${dir}/s.conf`;
    writeFileSync(conf, `host: 127.0.0.1\nport: -1\nhttps: "127.0.0.1:-1"\ntls { cert_file: "${P.serverMustStaple.certFile}", key_file: "${P.serverMustStaple.keyFile}" }\n`);
    const lines: string[] = [];
    const r = await startServer({ configFile: conf, hooks: [hook], noDefaultHooks: true, log: { write: (l) => void lines.push(l) } });
    try {
      assert.deepEqual(calls, ['start running=false']);
      const c = await tlsClient(r.port, { ca: P.root.certPem, requestOCSP: true });
      assert.match(c.info, /"tls_required":true/);
      assert.equal(c.staple?.toString(), 'FAKE-STAPLE');
      assert.ok(seenCert && seenCert.equals(P.serverMustStaple.der), 'the listener gets the served certificate');
      c.sock.destroy();
      // HTTPS monitoring uses the same certificate and also staples.
      const url = new URL(r.server.monitor.urls()[0]!);
      const m = await new Promise<Buffer | null>((resolve, reject) => {
        let staple: Buffer | null = null;
        const s = tls.connect({ host: '127.0.0.1', port: Number(url.port), ca: P.root.certPem, servername: 'localhost', requestOCSP: true } as tls.ConnectionOptions);
        s.on('OCSPResponse', (x) => (staple = x));
        s.once('secureConnect', () => {
          s.destroy();
          resolve(staple);
        });
        s.once('error', reject);
      });
      assert.equal(m?.toString(), 'FAKE-STAPLE');

      // Reload with another certificate: same tls.Server objects, new context, hook told.
      const before = r.server.tls!.servers();
      writeFileSync(conf, `host: 127.0.0.1\nport: -1\nhttps: "127.0.0.1:-1"\ntls { cert_file: "${P.server.certFile}", key_file: "${P.server.keyFile}" }\n`);
      await r.server.reload(loadConfigFile(conf).options);
      assert.deepEqual(calls, ['start running=false', 'reload']);
      assert.deepEqual(r.server.tls!.servers(), before);
      const c2 = await tlsClient(r.port, { ca: P.root.certPem, requestOCSP: true });
      assert.ok(c2.sock.getPeerX509Certificate()!.raw.equals(P.server.der), 'new certificate served');
      assert.equal(c2.staple?.toString(), 'FAKE-STAPLE');
      c2.sock.destroy();
      assert.ok(lines.some((l) => l.includes('Reloaded: tls = enabled')));
    } finally {
      await r.close();
    }
    assert.deepEqual(calls.at(-1), 'stop');
  });

  it('a failing start hook refuses start-up', async () => {
    await assert.rejects(
      startServer({
        options: { port: 0 },
        hooks: [{ name: 'x', start: () => Promise.reject(new Error('staple fetch failed')) }],
      }),
      /staple fetch failed/,
    );
  });

  it('shutdown(ExitCode.OCSP_REVOKED) closes clients and reports the status', async () => {
    const r = await startServer({ options: { port: -1 } });
    const c = await client(r.port);
    await c.roundTrip();
    void r.server.shutdown(ExitCode.OCSP_REVOKED);
    assert.equal(await r.server.exited, 20);
    assert.equal(await c.waitClosed(), true);
  });

  it('multiple certificates are chosen by SNI', async () => {
    const other = P.get('sni-other') ?? (await P.issue('sni-other', { dnsNames: ['other.example'] }));
    const srv = await tsnats(`tls { certs: [ { cert_file: "${P.server.certFile}", key_file: "${P.server.keyFile}" }, { cert_file: "${other.certFile}", key_file: "${other.keyFile}" } ] }`);
    try {
      const a = await tlsClient(srv.port, { ca: P.root.certPem, servername: 'other.example' });
      assert.ok(a.sock.getPeerX509Certificate()!.raw.equals(other.der));
      a.sock.destroy();
      const b = await tlsClient(srv.port, { ca: P.root.certPem, servername: 'localhost' });
      assert.ok(b.sock.getPeerX509Certificate()!.raw.equals(P.server.der));
      b.sock.destroy();
    } finally {
      await srv.stop();
    }
  });
});

describe('TLS failures affect only that connection', () => {
  it('handshake timeout: closed without bytes after INFO, logged', async () => {
    const srv = await tsnats(`tls { cert_file: "${P.server.certFile}", key_file: "${P.server.keyFile}", timeout: 0.2 }`);
    try {
      const c = await Conn.open(srv.port);
      const info = await c.info();
      assert.equal(info.tls_required, true);
      assert.equal(await c.waitClosed(2000), true);
      assert.equal(c.afterInfo, '');
      assert.ok(srv.logs.some((l) => l.includes('[ERR]') && l.includes('TLS handshake timeout')));
      assert.ok(srv.logs.some((l) => l.includes('Client connection closed: TLS Handshake Failure')));
    } finally {
      await srv.stop();
    }
  });

  it('plaintext bytes to a TLS-required server fail the handshake; others still connect', async () => {
    const srv = await tsnats(`tls { cert_file: "${P.server.certFile}", key_file: "${P.server.keyFile}" }`);
    try {
      const c = await Conn.open(srv.port);
      await c.info();
      c.send('CONNECT {}\r\n');
      assert.equal(await c.waitClosed(2000), true);
      assert.ok(srv.logs.some((l) => l.includes('TLS handshake error')));
      const ok = await tlsClient(srv.port, { ca: P.root.certPem });
      ok.sock.destroy();
    } finally {
      await srv.stop();
    }
  });
});

describe('slow consumers', () => {
  it('pending bytes over max_pending closes the subscriber silently and is counted', async () => {
    const srv = await tsnats('max_pending: 200000\nmax_payload: 65536\nhttp: "127.0.0.1:-1"');
    try {
      const sub = await client(srv.port);
      sub.send('SUB big 1\r\n');
      await sub.roundTrip();
      sub.sock.pause();
      const pub = await client(srv.port);
      const body = 'x'.repeat(60000);
      for (let i = 0; i < 400 && !sub.closed; i++) {
        pub.send(`PUB big ${body.length}\r\n${body}\r\n`);
        if (i % 20 === 0) await pub.roundTrip(5000);
      }
      sub.sock.resume();
      assert.equal(await sub.waitClosed(5000), true);
      assert.ok(!sub.text.includes('-ERR'), 'no -ERR for a slow consumer');
      assert.ok(srv.logs.some((l) => l.includes('[INF]') && l.includes('Slow Consumer Detected: MaxPending of 200000 Exceeded')));
      assert.equal(srv.server.slowConsumers, 1);
      const closed = srv.server.closedConnections().find((c) => c.reason === 'Slow Consumer (Pending Bytes)');
      assert.ok(closed);
      assert.equal(pub.closed, false, 'the publisher is not affected');
      pub.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('lame duck mode', () => {
  it('stops accepting, sends INFO ldm to protocol-1 clients, closes clients, exits 0', async () => {
    const srv = await tsnats('lame_duck_duration: "30s"\nlame_duck_grace_period: "200ms"');
    const a = await Conn.open(srv.port);
    await a.info();
    a.send('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n');
    await a.waitText('PONG\r\n');
    const b = await client(srv.port); // protocol 0: no async INFO
    await b.roundTrip();
    const done = srv.server.lameDuckMode();
    await a.waitText('"ldm":true');
    const ldm = a.afterInfo.split('\r\n').find((l) => l.startsWith('INFO '))!;
    assert.match(ldm, /^INFO \{.*"client_id":\d+,"client_ip":"127.0.0.1","ldm":true\} $/);
    await assert.rejects(Conn.open(srv.port));
    await done;
    assert.equal(await srv.server.exited, 0);
    assert.equal(await a.waitClosed(), true);
    assert.equal(await b.waitClosed(), true);
    assert.ok(!b.text.includes('ldm'));
    assert.ok(srv.logs.some((l) => l.includes('Entering lame duck mode, stop accepting new clients')));
    assert.ok(srv.logs.some((l) => l.includes('Closing existing clients')));
  });
});

describe('reload (in process)', () => {
  let srv: Awaited<ReturnType<typeof tsnats>>;
  after(async () => srv?.stop());

  it('applies users/permissions and limits, refuses host/port changes', async () => {
    srv = await tsnats('authorization { users: [ {user: a, password: one} ] }');
    const c = await client(srv.port, '{"user":"a","pass":"one","verbose":false}');
    await c.roundTrip();
    const confText = (extra: string): void =>
      writeFileSync(srv.confFile, `host: 127.0.0.1\nport: -1\nmax_payload: 2048\nauthorization { users: [ {user: a, password: two}, {user: b, password: x} ] }\n${extra}`);
    confText('');
    await srv.server.reload(loadConfigFile(srv.confFile).options);
    assert.ok(srv.logs.some((l) => l.includes('Reloaded: authorization users')));
    assert.ok(srv.logs.some((l) => l.includes('Reloaded: max_payload = 2048')));
    assert.ok(srv.logs.some((l) => l.includes('Reloaded server configuration')));
    // The old password no longer works: the connected client is dropped, new logins use the new one.
    assert.equal(await c.waitClosed(2000), true);
    const d = await client(srv.port, '{"user":"a","pass":"two","verbose":false}');
    const info = (await Conn.open(srv.port).then(async (x) => { const i = await x.info(); x.close(); return i; }));
    assert.equal(info.max_payload, 2048);
    await d.roundTrip();
    d.close();
    writeFileSync(srv.confFile, 'host: 127.0.0.2\nport: -1\n');
    await assert.rejects(srv.server.reload(loadConfigFile(srv.confFile).options), /config reload not supported for Host: old=127.0.0.1, new=127.0.0.2/);
  });
});

describe('embedding API', () => {
  it('startServer() with plain options picks a free port on 127.0.0.1', async () => {
    const r = await startServer({ port: -1 });
    try {
      assert.ok(r.port > 0);
      assert.equal(r.url, `nats://127.0.0.1:${r.port}`);
      const c = await client(r.port);
      await c.roundTrip();
      c.close();
    } finally {
      await r.close();
    }
  });

  it('startServer({ options }) merges onto defaults', async () => {
    const r = await startServer({ options: { ...defaultOptions(), host: '127.0.0.1', port: 0, maxPayload: 1000 } });
    try {
      const c = await Conn.open(r.port);
      assert.equal((await c.info()).max_payload, 1000);
      c.close();
    } finally {
      await r.close();
    }
  });
});
