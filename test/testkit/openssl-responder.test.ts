import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, type IssuedCert, type TestPki } from '../../src/testkit/index.js';
import { startOpensslResponder, type OpensslResponder } from '../support/openssl-responder.js';
import { OPENSSL_MISSING, opensslAvailable, opensslOcspQuery, opensslOcspRequest, opensslOcspVerify, runOpenssl } from '../support/openssl.js';

const skip = opensslAvailable() ? false : OPENSSL_MISSING;

/** DER OCSPRequest for `cert` built by openssl itself, without a nonce. */
const ocspRequestDer = (issuer: IssuedCert, cert: IssuedCert) => opensslOcspRequest({ issuerFile: issuer.certFile, certFile: cert.certFile });

async function post(url: string, der: Buffer): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', body: der, headers: { 'Content-Type': 'application/ocsp-request' } });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

async function get(url: string, der: Buffer): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(`${url}/${encodeURIComponent(der.toString('base64'))}`);
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

describe('openssl OCSP responder (real openssl client ↔ real openssl responder)', { skip }, () => {
  let r: OpensslResponder;
  let pki: TestPki;
  const query = (cert: IssuedCert, extra: { issuer?: IssuedCert; untrustedFile?: string } = {}) =>
    opensslOcspQuery({
      url: r.url,
      issuerFile: (extra.issuer ?? pki.root).certFile,
      certFile: cert.certFile,
      caFile: pki.caFile,
      ...(extra.untrustedFile ? { untrustedFile: extra.untrustedFile } : {}),
    });

  before(async () => {
    r = await startOpensslResponder({ nmin: 10 });
    pki = await createTestPki({ ocspUrl: r.url });
    r.attach(pki);
  });
  after(async () => {
    await r?.close();
    await pki?.cleanup();
  });

  it('listens on 127.0.0.1 and its URL is in the certificates', () => {
    assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(pki.ocspUrl, r.url);
  });

  it('answers good, with a nextUpdate nmin minutes out, signed by the delegated responder', async () => {
    const before = r.requests;
    const q = await query(pki.serverMustStaple);
    assert.ok(q.verified, q.stderr + q.stdout);
    assert.equal(q.certStatus, 'good');
    assert.ok(q.thisUpdate && q.nextUpdate);
    assert.equal((q.nextUpdate.getTime() - q.thisUpdate.getTime()) / 60_000, 10);
    assert.ok(Math.abs(q.thisUpdate.getTime() - Date.now()) < 60_000);
    assert.equal(r.requests, before + 1);
    const last = r.requestLog.at(-1)!;
    assert.deepEqual(last, { method: 'POST', issuer: 'root', serials: [pki.serverMustStaple.serialHex], httpStatus: 200 });
    assert.equal(r.statusOf(pki.serverMustStaple), 'good');
  });

  it('answers revoked after revoke(), and good again after setGood()', async () => {
    r.revoke(pki.serverRevoked, { reason: 'keyCompromise' });
    const q = await query(pki.serverRevoked);
    assert.ok(q.verified, q.stderr);
    assert.equal(q.certStatus, 'revoked');
    assert.equal(q.revocationReason, 'keyCompromise');
    assert.ok(q.revocationTime && Math.abs(q.revocationTime.getTime() - Date.now()) < 60_000);
    assert.equal(r.statusOf(pki.serverRevoked), 'revoked');

    r.revoke(pki.server); // no reason
    const q2 = await query(pki.server);
    assert.equal(q2.certStatus, 'revoked');
    r.setGood(pki.server);
    assert.equal((await query(pki.server)).certStatus, 'good');
    r.setGood(pki.serverRevoked);
    assert.equal((await query(pki.serverRevoked)).certStatus, 'good');
  });

  it('answers unknown for certificates it does not know', async () => {
    const later = await pki.issue('issuedAfterAttach', { mustStaple: true });
    const q = await query(later);
    assert.ok(q.verified, q.stderr);
    assert.equal(q.certStatus, 'unknown');
    r.setGood(later);
    assert.equal((await query(later)).certStatus, 'good');
    r.setUnknown(later);
    assert.equal((await query(later)).certStatus, 'unknown');
    assert.equal(r.statusOf(later), 'unknown');
  });

  it('serves the PKI\'s other CAs (signed by the CA itself), including CAs issued after attach', async () => {
    const foreign = await pki.issue('otherRootLeaf', { issuer: pki.otherRoot });
    const q = await opensslOcspQuery({ url: r.url, issuerFile: pki.otherRoot.certFile, certFile: foreign.certFile, caFile: pki.otherRoot.certFile });
    assert.ok(q.verified, q.stderr);
    assert.equal(q.certStatus, 'unknown', 'issued after attach');
    r.setGood(foreign);
    assert.equal((await opensslOcspQuery({ url: r.url, issuerFile: pki.otherRoot.certFile, certFile: foreign.certFile, caFile: pki.otherRoot.certFile })).certStatus, 'good');
    assert.equal(r.requestLog.at(-1)!.issuer, 'otherRoot');

    const lateCa = await pki.issue('lateCa', { ca: true });
    const lateLeaf = await pki.issue('lateLeaf', { issuer: lateCa });
    r.revoke(lateLeaf);
    const ql = await query(lateLeaf, { issuer: lateCa, untrustedFile: lateCa.certFile });
    assert.ok(ql.verified, ql.stderr);
    assert.equal(ql.certStatus, 'revoked');
    assert.equal(r.requestLog.at(-1)!.issuer, 'lateCa');
  });

  it('answers unknown (signed for the root) for an issuer outside the PKI', async () => {
    const stranger = await createTestPki({ ocspUrl: r.url });
    try {
      const q = await opensslOcspQuery({ url: r.url, issuerFile: stranger.root.certFile, certFile: stranger.server.certFile, caFile: pki.caFile });
      assert.equal(q.certStatus, 'unknown');
      assert.equal(r.requestLog.at(-1)!.issuer, 'root');
    } finally {
      await stranger.cleanup();
    }
  });

  it('serves the intermediate CA with its own delegated signer', async () => {
    const q = await query(pki.serverViaIntermediate, { issuer: pki.intermediate, untrustedFile: pki.intermediate.certFile });
    assert.ok(q.verified, q.stderr + q.stdout);
    assert.equal(q.certStatus, 'good');
    assert.equal(r.requestLog.at(-1)!.issuer, 'intermediate');
    // the intermediate itself is known to the root's responder (for chain checks)
    const qi = await query(pki.intermediate);
    assert.equal(qi.certStatus, 'good');
  });

  it('answers GET /<url-encoded base64> like POST, with Content-Type application/ocsp-response', async () => {
    const der = await ocspRequestDer(pki.root, pki.serverMustStaple);
    const g = await get(r.url, der);
    assert.equal(g.status, 200);
    assert.equal(g.type, 'application/ocsp-response');
    const v = await opensslOcspVerify(g.body, pki.root.certPem, pki.serverMustStaple.certPem);
    assert.ok(v.verified, v.stderr);
    assert.equal(v.certStatus, 'good');
    assert.equal(r.requestLog.at(-1)!.method, 'GET');
    // raw (unescaped) base64 also works
    const raw = await fetch(`${r.url}/${der.toString('base64')}`);
    assert.equal(raw.status, 200);
    const p = await post(r.url, der);
    assert.equal(p.type, 'application/ocsp-response');
    // SHA-256 CertIDs are routed to the right CA too
    const d256 = await opensslOcspRequest({ issuerFile: pki.intermediate.certFile, certFile: pki.serverViaIntermediate.certFile, sha256CertId: true });
    const v256 = await opensslOcspVerify((await get(r.url, d256)).body, pki.intermediate.certPem, pki.serverViaIntermediate.certPem, {
      caPem: pki.root.certPem,
      untrustedPem: pki.intermediate.certPem,
      certIdDigest: 'sha256',
    });
    assert.ok(v256.verified, v256.stderr);
    assert.equal(v256.certStatus, 'good');
    assert.equal(r.requestLog.at(-1)!.issuer, 'intermediate');
    assert.equal((await opensslOcspVerify(p.body, pki.root.certPem, pki.serverMustStaple.certPem)).certStatus, 'good');
  });

  it('answers malformed requests with an OCSP malformedRequest response', async () => {
    const p = await post(r.url, Buffer.from('not an OCSP request'));
    assert.equal(p.status, 200);
    assert.equal(p.body.toString('hex'), '30030a0101');
    const e = await fetch(r.url, { method: 'POST', body: new Uint8Array(0) });
    assert.equal(e.status, 400);
    const put = await fetch(r.url, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 405);
  });
});

describe('openssl OCSP responder options', { skip }, () => {
  let pki: TestPki;
  let first: OpensslResponder;
  before(async () => {
    first = await startOpensslResponder();
    pki = await createTestPki({ ocspUrl: first.url });
  });
  after(async () => {
    await first?.close();
    await pki?.cleanup();
  });

  it('answers tryLater before attach()', async () => {
    const der = await ocspRequestDer(pki.root, pki.serverMustStaple);
    const p = await post(first.url, der);
    assert.equal(p.body.toString('hex'), '30030a0103');
    await first.close();
  });

  it('restarts at the same URL from { pki } (responder down → up again)', async () => {
    const r = await startOpensslResponder({ pki, nmin: 0 });
    try {
      assert.equal(r.url, pki.ocspUrl);
      const q = await opensslOcspQuery({ url: r.url, issuerFile: pki.root.certFile, certFile: pki.server.certFile, caFile: pki.caFile });
      assert.equal(q.certStatus, 'good');
      assert.ok(q.thisUpdate);
      assert.equal(q.nextUpdate, undefined, 'nmin: 0 → no nextUpdate');
    } finally {
      await r.close();
    }
  });

  it("signer: 'ca' signs with the issuing CA key; ndays adds to nmin", async () => {
    const r = await startOpensslResponder({ pki, port: 0, signer: 'ca', nmin: 5, ndays: 1 });
    try {
      const der = await ocspRequestDer(pki.root, pki.serverMustStaple);
      const p = await post(r.url, der);
      const v = await opensslOcspVerify(p.body, pki.root.certPem, pki.serverMustStaple.certPem);
      assert.ok(v.verified, v.stderr);
      assert.equal(v.certStatus, 'good');
      assert.equal((v.nextUpdate!.getTime() - v.thisUpdate!.getTime()) / 60_000, 24 * 60 + 5);
      const text = await runOpensslRespText(p.body);
      assert.match(text, /Responder Id: CN = tsnats testkit root CA/);

      const di = await ocspRequestDer(pki.intermediate, pki.serverViaIntermediate);
      const vi = await opensslOcspVerify((await post(r.url, di)).body, pki.intermediate.certPem, pki.serverViaIntermediate.certPem, {
        caPem: pki.root.certPem,
        untrustedPem: pki.intermediate.certPem,
      });
      assert.ok(vi.verified, vi.stderr);
      assert.match(await runOpensslRespText((await post(r.url, di)).body), /Responder Id: CN = tsnats testkit intermediate CA/);
    } finally {
      await r.close();
    }
  });

  it('rsigner: responderNoEku makes responses that openssl refuses', async () => {
    const r = await startOpensslResponder({ pki, port: 0, rsigner: pki.responderNoEku });
    try {
      const q = await opensslOcspQuery({ url: r.url, issuerFile: pki.root.certFile, certFile: pki.server.certFile, caFile: pki.caFile });
      assert.equal(q.verified, false);
      assert.match(q.stderr, /Response Verify Failure/);
    } finally {
      await r.close();
    }
  });

  it("methods: ['GET'] refuses POST with 405 (and extraArgs reach openssl)", async () => {
    const r = await startOpensslResponder({ pki, port: 0, methods: ['GET'], extraArgs: ['-resp_no_certs'] });
    try {
      const der = await ocspRequestDer(pki.root, pki.serverMustStaple);
      assert.equal((await post(r.url, der)).status, 405);
      const g = await get(r.url, der);
      assert.equal(g.status, 200);
      // without the embedded delegate cert openssl cannot find the signer...
      const v = await opensslOcspVerify(g.body, pki.root.certPem, pki.serverMustStaple.certPem);
      assert.equal(v.verified, false);
      // ...unless it is given as an untrusted extra cert
      const v2 = await opensslOcspVerify(g.body, pki.root.certPem, pki.serverMustStaple.certPem, { untrustedPem: pki.responder.certPem });
      assert.ok(v2.verified, v2.stderr);
      assert.equal(r.requests, 2);
      assert.deepEqual(
        r.requestLog.map((e) => [e.method, e.httpStatus]),
        [
          ['POST', 405],
          ['GET', 200],
        ],
      );
    } finally {
      await r.close();
    }
  });

  it('rejects bad options and unknown certificates', async () => {
    await assert.rejects(startOpensslResponder({ nmin: -1 }), /nmin/);
    await assert.rejects(startOpensslResponder({ ndays: 0 }), /ndays/);
    const r = await startOpensslResponder({ port: 0 });
    try {
      assert.throws(() => r.revoke(pki.server), /attach/);
      r.attach(pki);
      assert.throws(() => r.attach(pki), /already attached/);
      assert.throws(() => r.revoke(pki.root), /self-signed/);
      const other = await createTestPki({ ocspUrl: r.url });
      try {
        assert.throws(() => r.setGood(other.server), /not part of the attached PKI/);
      } finally {
        await other.cleanup();
      }
    } finally {
      await r.close();
    }
  });
});

async function runOpensslRespText(der: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnats-resp-'));
  try {
    const f = join(dir, 'resp.der');
    await writeFile(f, der);
    const r = await runOpenssl(['ocsp', '-respin', f, '-resp_text', '-noverify']);
    return r.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
