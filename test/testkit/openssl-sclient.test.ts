import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { createTestPki, type IssuedCert, type TestPki } from '../../src/testkit/index.js';
import { startOpensslResponder, type OpensslResponder } from '../support/openssl-responder.js';
import {
  OPENSSL_MISSING,
  opensslAvailable,
  opensslOcspRequest,
  opensslOcspVerify,
  parseOcspText,
  sClientStatus,
  startNatsInfoRelay,
} from '../support/openssl.js';

const skip = opensslAvailable() ? false : OPENSSL_MISSING;

interface StaplingServer {
  port: number;
  staple: Buffer | null;
  close(): Promise<void>;
}

/**
 * A Node TLS server that staples `staple` (when the client asks). With `infoFirst`, it first
 * writes a NATS INFO line in plaintext, then hands the socket to TLS (like a NATS server).
 */
async function stapleServer(cert: IssuedCert, staple: Buffer | null, infoFirst: boolean): Promise<StaplingServer> {
  const state = { staple };
  const tlsServer = tls.createServer({ cert: readFileSync(cert.bundleFile), key: cert.keyPem });
  tlsServer.on('OCSPRequest', (_c: Buffer, _i: Buffer, cb: (err: Error | null, resp: Buffer | null) => void) => cb(null, state.staple));
  tlsServer.on('secureConnection', (s) => s.resume());
  tlsServer.on('tlsClientError', () => undefined);
  const sockets = new Set<net.Socket>();
  const front = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    if (infoFirst) sock.write('INFO {"server_id":"TEST","tls_required":true}\r\n');
    tlsServer.emit('connection', sock);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return {
    port: (front.address() as net.AddressInfo).port,
    get staple() {
      return state.staple;
    },
    set staple(v) {
      state.staple = v;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        front.close(() => r());
      }),
  };
}

describe('sClientStatus / INFO relay / opensslOcspVerify', { skip }, () => {
  let r: OpensslResponder;
  let pki: TestPki;
  let good: Buffer;
  let revoked: Buffer;

  before(async () => {
    r = await startOpensslResponder({ nmin: 30 });
    pki = await createTestPki({ ocspUrl: r.url });
    r.attach(pki);
    r.revoke(pki.serverRevoked);
    const fetchResp = async (c: IssuedCert) => {
      const der = await opensslOcspRequest({ issuerFile: pki.root.certFile, certFile: c.certFile });
      const res = await fetch(r.url, { method: 'POST', body: der, headers: { 'Content-Type': 'application/ocsp-request' } });
      return Buffer.from(await res.arrayBuffer());
    };
    good = await fetchResp(pki.serverMustStaple);
    revoked = await fetchResp(pki.serverRevoked);
  });
  after(async () => {
    await r?.close();
    await pki?.cleanup();
  });

  it('opensslOcspVerify accepts the responder output and reports its status', async () => {
    const g = await opensslOcspVerify(good, pki.root.certPem, pki.serverMustStaple.certPem);
    assert.ok(g.verified, g.stderr);
    assert.equal(g.certStatus, 'good');
    assert.ok(g.nextUpdate && g.thisUpdate);
    const v = await opensslOcspVerify(revoked, pki.root.certPem, pki.serverRevoked.certPem);
    assert.ok(v.verified);
    assert.equal(v.certStatus, 'revoked');
    // the response for serverRevoked says nothing about serverMustStaple
    const wrong = await opensslOcspVerify(revoked, pki.root.certPem, pki.serverMustStaple.certPem);
    assert.equal(wrong.certStatus, undefined);
    // trusted anchors from another CA: signature chain does not verify
    const other = await opensslOcspVerify(good, pki.root.certPem, pki.serverMustStaple.certPem, { caPem: pki.otherRoot.certPem });
    assert.equal(other.verified, false);
    // a corrupted response is not accepted
    const bad = Buffer.from(good);
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0xff;
    const b = await opensslOcspVerify(bad, pki.root.certPem, pki.serverMustStaple.certPem);
    assert.equal(b.verified, false);
  });

  for (const tls13 of [true, false]) {
    it(`reports a stapled good response (plain TLS, ${tls13 ? 'TLS 1.3' : 'TLS 1.2'})`, async () => {
      const s = await stapleServer(pki.serverMustStaple, good, false);
      try {
        const res = await sClientStatus({ port: s.port, caFile: pki.caFile, servername: 'localhost', tls13, natsInfoFirst: false });
        assert.equal(res.handshake, true, res.stdout + res.stderr);
        assert.equal(res.protocol, tls13 ? 'TLSv1.3' : 'TLSv1.2');
        assert.equal(res.ocspResponseReceived, true);
        assert.equal(res.responseStatus, 'successful');
        assert.equal(res.certStatus, 'good');
        assert.equal(res.verifyCode, 0);
        assert.ok(res.nextUpdate);
      } finally {
        await s.close();
      }
    });
  }

  it('goes through the INFO-first relay and reports revoked / no response', async () => {
    const s = await stapleServer(pki.serverRevoked, revoked, true);
    try {
      const res = await sClientStatus({ port: s.port, caFile: pki.caFile, natsInfoFirst: true });
      assert.equal(res.handshake, true, res.stdout + res.stderr);
      assert.equal(res.infoLine, 'INFO {"server_id":"TEST","tls_required":true}');
      assert.equal(res.ocspResponseReceived, true);
      assert.equal(res.certStatus, 'revoked');
      assert.ok(res.revocationTime);

      s.staple = null;
      const none = await sClientStatus({ port: s.port, caFile: pki.caFile, natsInfoFirst: true, tls13: true });
      assert.equal(none.handshake, true);
      assert.equal(none.ocspResponseReceived, false);
      assert.equal(none.certStatus, undefined);
      assert.match(none.stdout, /OCSP response: no response sent/);

      // without the relay, s_client chokes on the plaintext INFO line
      const direct = await sClientStatus({ port: s.port, caFile: pki.caFile, natsInfoFirst: false, timeoutMs: 5000 });
      assert.equal(direct.handshake, false);
    } finally {
      await s.close();
    }
  });

  it('reports a verify error for an untrusted chain but still shows the staple', async () => {
    const s = await stapleServer(pki.serverMustStaple, good, false);
    try {
      const res = await sClientStatus({ port: s.port, caFile: pki.otherRoot.certFile, natsInfoFirst: false });
      assert.equal(res.handshake, true);
      assert.notEqual(res.verifyCode, 0);
      assert.equal(res.certStatus, 'good');
    } finally {
      await s.close();
    }
  });
});

describe('startNatsInfoRelay (no openssl needed)', () => {
  it('strips the INFO line, forwards what follows it, and pipes both ways', async () => {
    const upstream = net.createServer((sock) => {
      // INFO and the first payload bytes in one segment, then echo
      sock.write('INFO {"a":1}\r\nHELLO');
      sock.on('data', (d) => sock.write(d));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((res) => upstream.listen(0, '127.0.0.1', res));
    const relay = await startNatsInfoRelay({ port: (upstream.address() as net.AddressInfo).port });
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: '127.0.0.1', port: relay.port });
        let buf = '';
        c.write('ping');
        c.on('data', (d) => {
          buf += d.toString();
          if (buf.length >= 'HELLOping'.length) {
            c.destroy();
            resolve(buf);
          }
        });
        c.on('error', reject);
      });
      assert.equal(got, 'HELLOping');
      assert.deepEqual(relay.infoLines, ['INFO {"a":1}']);
    } finally {
      await relay.close();
      upstream.close();
    }
  });
});

describe('parseOcspText', () => {
  it('parses s_client, -resp_text and client status output', () => {
    const sclient = `OCSP Response Data:
    OCSP Response Status: successful (0x0)
    Cert Status: revoked
    Revocation Time: Nov 29 10:11:41 2026 GMT
    Revocation Reason: keyCompromise (0x1)
    This Update: Nov 29 10:11:41 2026 GMT
    Next Update: Nov 29 11:11:41 2026 GMT`;
    const p = parseOcspText(sclient);
    assert.equal(p.responseStatus, 'successful');
    assert.equal(p.certStatus, 'revoked');
    assert.equal(p.revocationReason, 'keyCompromise');
    assert.equal(p.thisUpdate?.toISOString(), '2026-11-29T10:11:41.000Z');
    assert.equal(p.nextUpdate?.toISOString(), '2026-11-29T11:11:41.000Z');
    const client = parseOcspText('/tmp/x/server.pem: good\n\tThis Update: Nov  9 10:11:41 2026 GMT\n');
    assert.equal(client.certStatus, 'good');
    assert.equal(client.thisUpdate?.toISOString(), '2026-11-09T10:11:41.000Z');
    assert.equal(client.nextUpdate, undefined);
    assert.deepEqual(parseOcspText('OCSP response: no response sent'), {});
  });
});
