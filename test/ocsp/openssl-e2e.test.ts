// End to end against real OpenSSL: `openssl ocsp` as the responder the engine fetches from,
// `openssl s_client -status` as the TLS client reading the staple, and `openssl ocsp -respin` as an
// independent judge of the responses our programmable test responder produces.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  buildOcspRequest,
  certIdFor,
  createStapler,
  parseCertificate,
  verifyOcspResponse,
  type Stapler,
} from '../../src/ocsp/index.js';
import { createTestPki, startResponder, type TestPki } from '../../src/testkit/index.js';
import { startOpensslResponder, type OpensslResponder } from '../support/openssl-responder.js';
import { OPENSSL_MISSING, opensslAvailable, opensslOcspVerify, sClientStatus } from '../support/openssl.js';
import { recordingLogger } from './helpers.js';

const skip = opensslAvailable() ? false : OPENSSL_MISSING;

describe('ocsp engine ↔ real openssl', { skip }, () => {
  let r: OpensslResponder;
  let pki: TestPki;
  let storeDir: string;
  const staplers: Stapler[] = [];
  const servers: tls.Server[] = [];

  before(async () => {
    r = await startOpensslResponder({ nmin: 10 });
    pki = await createTestPki({ ocspUrl: r.url });
    r.attach(pki);
    storeDir = mkdtempSync(join(tmpdir(), 'ocsp-e2e-'));
  });
  after(async () => {
    for (const s of staplers) s.close();
    for (const s of servers) await new Promise((res) => s.close(res));
    await r?.close();
    await pki?.cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('good, then revoked: fetch from openssl ocsp, staple to openssl s_client, shutdown event in must mode', async () => {
    const cert = pki.serverRevoked;
    const log = recordingLogger();
    const s = await createStapler({
      cert: cert.certPem,
      ca: pki.root.certPem,
      mode: 'must',
      certPath: cert.certFile,
      storeDir,
      memory: false,
      logger: log,
    });
    staplers.push(s);
    assert.equal(s.status().status, 'good');
    assert.ok(log.find(/^Found OCSP status for Client certificate at '.*': good, next update /));
    assert.equal(s.status().counters.responders[r.url]!.ok, 1);

    const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (sock) => sock.end());
    servers.push(server);
    s.attach(server);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    for (const tls13 of [false, true]) {
      const seen = await sClientStatus({ port, caFile: pki.caFile, servername: 'localhost', tls13, natsInfoFirst: false });
      assert.equal(seen.handshake, true, seen.stdout);
      assert.equal(seen.ocspResponseReceived, true, seen.stdout);
      assert.equal(seen.certStatus, 'good');
    }
    // the staple on disk is the one openssl produced, byte for byte what we serve
    assert.deepEqual(readFileSync(join(storeDir, 'ocsp', parseCertificate(cert.der).sha256)), s.current());

    r.revoke(cert, { reason: 'keyCompromise' });
    const events: string[] = [];
    s.on('revoked', () => events.push('revoked'));
    s.on('shutdown', (e) => events.push(`shutdown:${e.status}`));
    const st = await s.refresh();
    assert.equal(st.status, 'revoked');
    assert.deepEqual(events, ['revoked', 'shutdown:revoked']);
    assert.ok(log.find(new RegExp(`^Received OCSP status for Client certificate '${cert.certFile}': revoked$`)));
    const after = await sClientStatus({ port, caFile: pki.caFile, servername: 'localhost', natsInfoFirst: false });
    assert.equal(after.certStatus, 'revoked');

    // a restart in must mode now refuses, from the disk copy, without asking the responder
    const before = r.requests;
    await assert.rejects(
      createStapler({ cert: cert.certPem, ca: pki.root.certPem, mode: 'must', certPath: cert.certFile, storeDir, memory: false }),
      { message: `found existing OCSP status for certificate at '${cert.certFile}': revoked` },
    );
    assert.equal(r.requests, before);
  });

  it('intermediate-issued certificate with its bundle: delegated signer of the intermediate', async () => {
    const s = await createStapler({ cert: readFileSync(pki.serverViaIntermediate.bundleFile), mode: 'always', memory: false });
    staplers.push(s);
    assert.equal(s.status().status, 'good');
  });

  it('a responder signing with a certificate without OCSPSigning EKU is refused at start-up', async () => {
    const bad = await startOpensslResponder({ pki, port: 0, rsigner: pki.responderNoEku });
    try {
      await assert.rejects(
        createStapler({ cert: pki.serverMustStaple.certPem, ca: pki.root.certPem, urls: [bad.url], memory: false, certPath: 'x.pem' }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_OCSP_STARTUP_FETCH');
          assert.match(e.message, /^bad OCSP status update for certificate at 'x\.pem': failed to get remote status: OCSP response signer .* missing authorization by CA to act as OCSP signer/);
          return true;
        },
      );
    } finally {
      await bad.close();
    }
  });

  it('openssl accepts what the programmable responder produces (issuer-signed, delegated, ResponderID by key, RSA-PSS)', async () => {
    const leaf = parseCertificate(pki.serverMustStaple.der);
    const root = parseCertificate(pki.root.der);
    const req = buildOcspRequest(certIdFor(leaf, root));
    for (const opts of [{}, { signer: pki.responder }, { signer: pki.responder, responderIdByKey: true }]) {
      const p = await startResponder({ issuer: pki.root, ...opts });
      try {
        const der = Buffer.from(await (await fetch(p.url, { method: 'POST', body: req })).arrayBuffer());
        verifyOcspResponse(der, { leaf, issuer: root });
        const judged = await opensslOcspVerify(der, pki.root.certPem, pki.serverMustStaple.certPem);
        assert.equal(judged.verified, true, judged.stdout + judged.stderr);
        assert.equal(judged.certStatus, 'good');
      } finally {
        await p.close();
      }
    }
    const rsa = await createTestPki({ ocspUrl: 'http://127.0.0.1:9', keyType: 'rsa' });
    const pss = await startResponder({ issuer: rsa.root, rsaPss: true });
    try {
      const l = parseCertificate(rsa.server.der);
      const i = parseCertificate(rsa.root.der);
      const der = Buffer.from(await (await fetch(pss.url, { method: 'POST', body: buildOcspRequest(certIdFor(l, i)) })).arrayBuffer());
      assert.equal(verifyOcspResponse(der, { leaf: l, issuer: i }).status, 'good');
      const judged = await opensslOcspVerify(der, rsa.root.certPem, rsa.server.certPem);
      assert.equal(judged.verified, true, judged.stdout + judged.stderr);
    } finally {
      await pss.close();
      await rsa.cleanup();
    }
  });
});
