// TLS `verify`: only clients with a valid certificate of the configured CA get to speak NATS.
// Each client below connects (INFO, then TLS 1.2 or 1.3), sends CONNECT + PING, and must either get
// its PONG (accepted) or be closed without one (rejected, with a `TLS handshake error` logged).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCert, TestPki } from '../../src/testkit/index.js';
import { makePki, NATS_SERVER, RawClient, spawnNatsServer, startInProc, tempDir, tlsConf, type InProc } from '../hostile/harness.js';

let pki: TestPki;
let tmp: { dir: string; remove(): void };
let ts: InProc;
const certs: Record<string, IssuedCert> = {};

before(async () => {
  pki = await makePki();
  tmp = tempDir('sec-verify');
  const day = 24 * 3_600_000;
  certs.otherCa = await pki.issue('client-other-ca', { issuer: pki.otherRoot, eku: ['clientAuth'], subject: 'CN=client', ocspUrls: [] });
  certs.expired = await pki.issue('client-expired', { eku: ['clientAuth'], subject: 'CN=client', notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day), ocspUrls: [] });
  certs.notYet = await pki.issue('client-not-yet', { eku: ['clientAuth'], subject: 'CN=client', notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 3 * day), ocspUrls: [] });
  certs.selfSigned = await pki.issue('client-self-signed', { selfSigned: true, subject: 'CN=client' });
  certs.ca = pki.root; // the CA certificate itself (a trust anchor), presented as a client certificate
  ts = await startInProc(tmp.dir, tlsConf({ cert: pki.server, caFile: pki.caFile, tlsExtra: ['verify: true', 'timeout: 2'] }));
});
after(async () => {
  await ts?.stop();
  await pki?.cleanup();
  tmp?.remove();
});

type Outcome = 'accepted' | 'rejected';

/*
 * Found by this suite (fixed in cf0965e): the server socket is built by hand,
 * `new tls.TLSSocket(raw, { isServer: true, requestCert, rejectUnauthorized })`, and Node enforces
 * `rejectUnauthorized` only for sockets accepted by a listening tls.Server; OpenSSL itself refuses
 * only a *missing* certificate. Any certificate (another CA, expired, self-signed, ...) was accepted
 * with `verify: true`, and `verify_and_map` mapped its subject/SAN to a user.
 */

async function attempt(cert: IssuedCert | undefined, tls13: boolean, port = ts.port, connect = 'CONNECT {"verbose":false,"pedantic":false}'): Promise<{ outcome: Outcome; detail: string }> {
  let c: RawClient;
  try {
    c = await RawClient.connect(port, {
      tls: {
        ca: pki.root.certPem,
        ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
        minVersion: tls13 ? 'TLSv1.3' : 'TLSv1.2',
        maxVersion: tls13 ? 'TLSv1.3' : 'TLSv1.2',
      },
    });
  } catch (e) {
    return { outcome: 'rejected', detail: `handshake: ${(e as Error).message}` };
  }
  c.send(`${connect}\r\nPING\r\n`);
  try {
    await c.waitFor(/PONG\r\n/, 3000);
    c.close();
    return { outcome: 'accepted', detail: 'PONG' };
  } catch {
    const closed = await c.waitClosed(3000);
    c.close();
    return { outcome: 'rejected', detail: closed ? 'closed without PONG' : 'no PONG (not closed)' };
  }
}

describe('TLS verify: who may connect', () => {
  const cases: Array<[string, () => IssuedCert | undefined, Outcome]> = [
    ['a valid client certificate of the CA', () => pki.client, 'accepted'],
    ['no client certificate', () => undefined, 'rejected'],
    ['a client certificate of another CA (same subject)', () => certs.otherCa, 'rejected'],
    ['an expired client certificate of the CA', () => certs.expired, 'rejected'],
    ['a client certificate of the CA not valid yet', () => certs.notYet, 'rejected'],
    ['a self-signed certificate with the same subject', () => certs.selfSigned, 'rejected'],
  ];
  for (const [name, cert, want] of cases) {
    for (const tls13 of [false, true]) {
      it(`${name} (TLS ${tls13 ? '1.3' : '1.2'}): ${want}`, async () => {
        const before = ts.logs.filter((l) => l.includes('TLS handshake error')).length;
        const r = await attempt(cert(), tls13);
        assert.equal(r.outcome, want, r.detail);
        if (want === 'rejected') {
          assert.notEqual(r.detail, 'no PONG (not closed)', 'the server closes the connection');
          // The server logs the refusal (it may land just after the client saw the close).
          const deadline = Date.now() + 2000;
          while (ts.logs.filter((l) => l.includes('TLS handshake error')).length <= before && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
          assert.ok(ts.logs.filter((l) => l.includes('TLS handshake error')).length > before, 'TLS handshake error logged');
        }
      });
    }
  }
  it('a server-only certificate of the CA (EKU serverAuth, no clientAuth) is refused as a client certificate', async () => {
    for (const tls13 of [false, true]) {
      const r = await attempt(pki.server, tls13);
      assert.equal(r.outcome, 'rejected', `TLS ${tls13 ? '1.3' : '1.2'}: ${r.detail}`);
    }
  });
  it('the CA certificate itself (a trust anchor, with its key) is accepted, as by nats-server (its holder can issue any client certificate anyway)', async () => {
    const r = await attempt(certs.ca, true);
    assert.equal(r.outcome, 'accepted', r.detail);
  });
  it('plaintext NATS on a TLS-required port gets nowhere', async () => {
    const c = await RawClient.connect(ts.port);
    c.send('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
    const gotPong = await c.waitFor(/PONG\r\n/, 1500).then(
      () => true,
      () => false,
    );
    assert.equal(gotPong, false, 'no PONG without TLS');
    assert.ok(await c.waitClosed(4000), 'closed');
    c.close();
  });
});

describe('verify_and_map: a certificate of another CA must not be mapped to a user', () => {
  it('a rogue certificate carrying the user\'s e-mail SAN is refused (no impersonation)', async () => {
    const rogue = await pki.issue('rogue-mapped', { issuer: pki.otherRoot, eku: ['clientAuth'], subject: 'CN=client', emails: ['client@example.com'], ocspUrls: [] });
    const text = tlsConf({
      cert: pki.server,
      caFile: pki.caFile,
      tlsExtra: ['verify_and_map: true'],
      extra: ['authorization { users: [ { user: "client@example.com" } ] }'],
    });
    const srv = await startInProc(tmp.dir, text);
    try {
      const ok = await attempt(pki.client, true, srv.port);
      assert.equal(ok.outcome, 'accepted', `the genuine client is mapped: ${ok.detail}`);
      const bad = await attempt(rogue, true, srv.port);
      assert.equal(bad.outcome, 'rejected', `the rogue certificate must not be mapped to client@example.com: ${bad.detail}`);
    } finally {
      await srv.stop();
    }
  });
});

describe('nats-server agrees (differential)', { skip: NATS_SERVER ? false : 'nats-server not installed' }, () => {
  it('nats-server refuses the same certificates tsnats must refuse', async () => {
    const out = await spawnNatsServer(tmp.dir, tlsConf({ cert: pki.server, caFile: pki.caFile, tlsExtra: ['verify: true', 'timeout: 2'] }));
    assert.ok(out.ready, out.proc.out());
    try {
      const want: Array<[string, IssuedCert | undefined, Outcome]> = [
        ['valid', pki.client, 'accepted'],
        ['none', undefined, 'rejected'],
        ['other CA', certs.otherCa, 'rejected'],
        ['expired', certs.expired, 'rejected'],
        ['not yet valid', certs.notYet, 'rejected'],
        ['self-signed', certs.selfSigned, 'rejected'],
        ['server-only EKU', pki.server, 'rejected'],
        ['the CA itself', certs.ca, 'accepted'],
      ];
      for (const [name, cert, outcome] of want) {
        const r = await attempt(cert, true, out.proc.port);
        assert.equal(r.outcome, outcome, `nats-server, ${name}: ${r.detail}`);
      }
    } finally {
      await out.proc.kill();
    }
  });
});
