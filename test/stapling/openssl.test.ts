// Independent implementations on both ends: the real `openssl ocsp` responder (delegated signer)
// answers tsnats, and `openssl s_client -status` (through the NATS INFO relay, or directly for
// handshake_first and the HTTPS monitor) checks what tsnats staples. `openssl ocsp -respin`
// verifies the stapled bytes.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestPki, type TestPki } from '../../src/testkit/index.js';
import { startOpensslResponder, type OpensslResponder } from '../support/openssl-responder.js';
import { OPENSSL_MISSING, opensslAvailable, opensslOcspVerify, sClientStatus } from '../support/openssl.js';
import { conf, ocspBlock, probe, startTs, startTsOutcome } from './helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const skip = opensslAvailable() ? false : OPENSSL_MISSING;

let R: OpensslResponder;
let P: TestPki;
let dir: string;
before(async () => {
  if (skip) return;
  R = await startOpensslResponder();
  P = await createTestPki({ ocspUrl: R.url });
  R.attach(P);
  R.revoke(P.serverRevoked);
  dir = mkdtempSync(join(tmpdir(), 'tsnats-stapling-openssl-'));
});
after(async () => {
  await R?.close();
  await P?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tsnats with the real openssl responder, seen by openssl s_client', { skip }, () => {
  it('auto, Must-Staple: s_client gets a good staple in TLS 1.2 and 1.3 (INFO relay); openssl verifies it', async () => {
    const ts = await startTs(dir, conf({ cert: P.serverMustStaple, caFile: P.caFile }), { monitor: true });
    try {
      for (const tls13 of [false, true]) {
        const r = await sClientStatus({ port: ts.port, natsInfoFirst: true, caFile: P.caFile, tls13 });
        assert.ok(r.handshake, r.stdout);
        assert.equal(r.protocol, tls13 ? 'TLSv1.3' : 'TLSv1.2');
        assert.ok(r.ocspResponseReceived, 'staple received');
        assert.equal(r.responseStatus, 'successful');
        assert.equal(r.certStatus, 'good');
        assert.equal(r.verifyCode, 0);
        assert.match(r.infoLine ?? '', /^INFO \{.*"tls_required":true/);
      }
      const monitorPort = Number(new URL(ts.server.monitor.urls()[0]!).port);
      const m = await sClientStatus({ port: monitorPort, natsInfoFirst: false, caFile: P.caFile });
      assert.equal(m.certStatus, 'good', 'HTTPS monitor staples');
      const p = await probe(ts.port, { ca: P.root.certPem });
      const v = await opensslOcspVerify(p.staple!.der, P.root.certPem, P.serverMustStaple.certPem);
      assert.ok(v.verified, v.stdout + v.stderr);
      assert.equal(v.certStatus, 'good');
    } finally {
      await ts.stop();
    }
  });

  it('handshake_first + always, no Must-Staple: s_client directly', async () => {
    const ts = await startTs(dir, conf({ cert: P.server, caFile: P.caFile, ocsp: ocspBlock('always'), tlsExtra: 'handshake_first: true' }));
    try {
      for (const tls13 of [false, true]) {
        const r = await sClientStatus({ port: ts.port, natsInfoFirst: false, caFile: P.caFile, tls13 });
        assert.ok(r.handshake);
        assert.equal(r.certStatus, 'good');
      }
    } finally {
      await ts.stop();
    }
  });

  it('auto, revoked: starts and s_client sees the revoked staple; must: refuses to start', async () => {
    const ts = await startTs(dir, conf({ cert: P.serverRevoked, caFile: P.caFile }));
    try {
      const r = await sClientStatus({ port: ts.port, natsInfoFirst: true, caFile: P.caFile });
      assert.ok(r.handshake);
      assert.equal(r.certStatus, 'revoked');
      assert.ok(r.revocationTime instanceof Date);
      assert.ok(ts.logs.some((l) => l.includes(`[ERR] Found OCSP status for Client certificate at '${P.serverRevoked.certFile}': revoked`)));
    } finally {
      await ts.stop();
    }
    const out = await startTsOutcome(dir, conf({ cert: P.serverRevoked, caFile: P.caFile, ocsp: ocspBlock('must') }));
    if (out.ok) await out.ts.stop();
    assert.equal(out.ok, false);
    if (!out.ok) assert.equal(out.error, `found existing OCSP status for certificate at '${P.serverRevoked.certFile}': revoked`);
  });

  it('never: s_client reports no response sent', async () => {
    const ts = await startTs(dir, conf({ cert: P.serverMustStaple, caFile: P.caFile, ocsp: 'ocsp: false' }));
    try {
      const r = await sClientStatus({ port: ts.port, natsInfoFirst: true, caFile: P.caFile });
      assert.ok(r.handshake);
      assert.equal(r.ocspResponseReceived, false);
      assert.match(r.stdout, /OCSP response: no response sent/);
    } finally {
      await ts.stop();
    }
  });
});
