import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { CertID, OCSPRequest, Request, TBSRequest } from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  OcspValidationError,
  buildOcspRequest,
  certIdFor,
  parseCertificate,
  verifyOcspResponse,
  type CertificateInfo,
  type CertIdValues,
} from '../../src/ocsp/index.js';
import { startResponder, type IssuedCert, type TestResponder } from '../../src/testkit/index.js';
import { setup, type Env } from './helpers.js';

async function post(url: string, body: Buffer): Promise<Buffer> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/ocsp-request' } });
  return Buffer.from(await res.arrayBuffer());
}

function info(c: IssuedCert): CertificateInfo {
  return parseCertificate(c.der);
}

function rejects(fn: () => unknown, code: string, message?: RegExp | string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OcspValidationError, `expected OcspValidationError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
    return true;
  });
}

describe('ocsp verify (strict)', () => {
  let env: Env;
  let leaf: CertificateInfo;
  let root: CertificateInfo;
  let reqDer: Buffer;
  const get = async (r: TestResponder = env.responder, der = reqDer): Promise<Buffer> => post(r.url, der);

  before(async () => {
    env = await setup();
    leaf = info(env.pki.serverMustStaple);
    root = info(env.pki.root);
    reqDer = buildOcspRequest(certIdFor(leaf, root));
  });
  after(async () => {
    await env.close();
  });

  const reset = (): void => {
    env.responder.setFault(null);
    env.responder.setSigner(null);
    env.responder.setValidity({});
    env.responder.setDefault('good');
  };

  it('accepts an issuer-signed good response', async () => {
    reset();
    const der = await get();
    const v = verifyOcspResponse(der, { leaf, issuer: root });
    assert.equal(v.status, 'good');
    assert.equal(v.signer, 'issuer');
    assert.deepEqual(v.der, der);
    assert.ok(v.nextUpdate! > Date.now());
    assert.equal(v.expiresAt, v.nextUpdate);
  });

  it('accepts a delegated responder (issued by the issuer, id-kp-OCSPSigning)', async () => {
    reset();
    env.responder.setSigner(env.pki.responder);
    const v = verifyOcspResponse(await get(), { leaf, issuer: root });
    assert.equal(v.signer, 'delegate');
    assert.match(v.signerSubject, /CN=responder/);
    assert.ok(v.expiresAt <= info(env.pki.responder).notAfter);
  });

  it('accepts an intermediate-issued leaf with the intermediate delegate', async () => {
    reset();
    const r = await startResponder({ issuer: env.pki.intermediate, signer: env.pki.intermediateResponder });
    try {
      const l = info(env.pki.serverViaIntermediate);
      const i = info(env.pki.intermediate);
      const v = verifyOcspResponse(await get(r, buildOcspRequest(certIdFor(l, i))), { leaf: l, issuer: i });
      assert.equal(v.signer, 'delegate');
      // the root's delegate is not authorised for the intermediate's certificates
      r.setSigner(env.pki.responder);
      const bad = await get(r, buildOcspRequest(certIdFor(l, i)));
      rejects(() => verifyOcspResponse(bad, { leaf: l, issuer: i }), 'ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA');
    } finally {
      await r.close();
    }
  });

  it('accepts revoked and unknown answers (authenticity is separate from status)', async () => {
    reset();
    const revokedAt = new Date(Date.now() - 3_600_000);
    env.responder.setStatus(leaf.serialHex, 'revoked', { time: revokedAt, reason: 1 });
    let v = verifyOcspResponse(await get(), { leaf, issuer: root });
    assert.equal(v.status, 'revoked');
    assert.equal(v.revocationTime, Math.floor(revokedAt.getTime() / 1000) * 1000);
    assert.equal(v.revocationReason, 1);
    env.responder.setStatus(leaf.serialHex, 'unknown');
    v = verifyOcspResponse(await get(), { leaf, issuer: root });
    assert.equal(v.status, 'unknown');
    env.responder.setStatus(leaf.serialHex, 'good');
  });

  it('understands SHA-256 CertIDs', async () => {
    reset();
    const der = await get(env.responder, buildOcspRequest(certIdFor(leaf, root, 'sha256')));
    assert.equal(verifyOcspResponse(der, { leaf, issuer: root }).status, 'good');
  });

  it('matches a ResponderID by key hash', async () => {
    const r = await startResponder({ issuer: env.pki.root, signer: env.pki.responder, responderIdByKey: true });
    try {
      assert.equal(verifyOcspResponse(await get(r), { leaf, issuer: root }).signer, 'delegate');
      r.setSigner(null);
      assert.equal(verifyOcspResponse(await get(r), { leaf, issuer: root }).signer, 'issuer');
    } finally {
      await r.close();
    }
  });

  let bufSync: Buffer = Buffer.alloc(0);
  const fetchInto = async (): Promise<void> => {
    bufSync = await get();
  };

  it('rejects: signer of another CA', async () => {
    reset();
    env.responder.setFault({ type: 'wrong-signer', signer: env.pki.otherRoot });
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA', /was not issued by the certificate's issuer/);
  });

  it('rejects: signer without EKU', async () => {
    reset();
    env.responder.setFault({ type: 'wrong-signer', signer: env.pki.responderNoEku });
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_SIGNER_NO_EKU', /missing authorization by CA to act as OCSP signer/);
  });

  it('rejects: a signer that is not embedded and is not the issuer', async () => {
    reset();
    env.responder.setFault({ type: 'wrong-signer', signer: env.pki.responder, embed: false });
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_RESPONDER_ID');
  });

  it('rejects: signed with another key (issuer-signed and delegated)', async () => {
    reset();
    env.responder.setFault('wrong-key');
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_BAD_SIGNATURE');
    env.responder.setSigner(env.pki.responder);
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_BAD_SIGNATURE');
  });

  it('rejects: broken signature', async () => {
    reset();
    env.responder.setFault('bad-signature');
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_BAD_SIGNATURE', /signature is invalid/);
  });

  it('rejects: wrong serial answered', async () => {
    reset();
    env.responder.setFault('wrong-serial');
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_CERTID_SERIAL', /is for serial [0-9a-f]+, not [0-9a-f]+/);
  });

  it('rejects: a response for another certificate', async () => {
    reset();
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf: info(env.pki.server), issuer: root }), 'ERR_OCSP_CERTID_SERIAL');
  });

  it('rejects: wrong issuer hashes', async () => {
    reset();
    env.responder.setFault('wrong-issuer');
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_CERTID_ISSUER', /another issuer/);
  });

  it('rejects: verified against another issuer', async () => {
    reset();
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: info(env.pki.intermediate) }), 'ERR_OCSP_CERTID_ISSUER');
  });

  it('rejects: expired (nextUpdate past), with the nats-server text', async () => {
    reset();
    env.responder.setFault('expired');
    await fetchInto();
    rejects(
      () => verifyOcspResponse(bufSync, { leaf, issuer: root }),
      'ERR_OCSP_NEXT_UPDATE_PAST',
      /^invalid ocsp NextUpdate, is past time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/,
    );
    // exactly at nextUpdate is already too late
    reset();
    await fetchInto();
    const v = verifyOcspResponse(bufSync, { leaf, issuer: root });
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root, now: v.nextUpdate! }), 'ERR_OCSP_NEXT_UPDATE_PAST');
    assert.equal(verifyOcspResponse(bufSync, { leaf, issuer: root, now: v.nextUpdate! - 1 }).status, 'good');
  });

  it('rejects: thisUpdate in the future beyond the skew, with the nats-server text', async () => {
    reset();
    env.responder.setFault('future-this-update');
    await fetchInto();
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_THIS_UPDATE_FUTURE', /^invalid ocsp ThisUpdate, is future time: /);
    // within the skew: accepted; with zero skew: rejected
    reset();
    env.responder.setValidity({ thisUpdateOffsetMs: 30_000 });
    await fetchInto();
    assert.equal(verifyOcspResponse(bufSync, { leaf, issuer: root }).status, 'good');
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root, clockSkewMs: 0 }), 'ERR_OCSP_THIS_UPDATE_FUTURE');
  });

  it('bounds a response without nextUpdate (default 1 h from thisUpdate)', async () => {
    reset();
    env.responder.setFault('no-next-update');
    await fetchInto();
    const v = verifyOcspResponse(bufSync, { leaf, issuer: root });
    assert.equal(v.nextUpdate, undefined);
    assert.equal(v.expiresAt, v.thisUpdate + 3_600_000);
    rejects(
      () => verifyOcspResponse(bufSync, { leaf, issuer: root, now: v.thisUpdate + 3_600_000 }),
      'ERR_OCSP_STALE',
      /without NextUpdate is older than 1h0m0s/,
    );
    const short = verifyOcspResponse(bufSync, { leaf, issuer: root, maxAgeWithoutNextUpdateMs: 60_000 });
    assert.equal(short.expiresAt, v.thisUpdate + 60_000);
  });

  it('rejects: a delegated signer outside its validity', async () => {
    reset();
    env.responder.setSigner(env.pki.responder);
    await fetchInto();
    const notAfter = info(env.pki.responder).notAfter;
    rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root, now: notAfter + 120_000 }), 'ERR_OCSP_SIGNER_VALIDITY');
  });

  for (const status of ['tryLater', 'internalError', 'unauthorized', 'malformedRequest', 'sigRequired'] as const) {
    const text = { tryLater: 'try later', internalError: 'internal error', unauthorized: 'unauthorized', malformedRequest: 'malformed', sigRequired: 'signature required' }[status];
    it(`rejects: non-successful status ${status}`, async () => {
      reset();
      env.responder.setFault({ type: 'ocsp-status', status });
      await fetchInto();
      rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_UNSUCCESSFUL', `ocsp: error from server: ${text}`);
    });
  }

  it('rejects: garbage, HTML, truncated, empty, trailing bytes', async () => {
    reset();
    for (const f of ['garbage', 'html', 'truncated'] as const) {
      env.responder.setFault(f);
      await fetchInto();
      rejects(() => verifyOcspResponse(bufSync, { leaf, issuer: root }), 'ERR_OCSP_MALFORMED');
    }
    reset();
    await fetchInto();
    rejects(() => verifyOcspResponse(Buffer.concat([bufSync, Buffer.from([0])]), { leaf, issuer: root }), 'ERR_OCSP_MALFORMED');
    rejects(() => verifyOcspResponse(Buffer.alloc(0), { leaf, issuer: root }), 'ERR_OCSP_MALFORMED');
  });

  it('rejects: more than one SingleResponse', async () => {
    reset();
    const one = certIdFor(leaf, root);
    const other = certIdFor(info(env.pki.server), root);
    const certId = (id: CertIdValues) =>
      new CertID({
        hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
        issuerNameHash: new OctetString(id.issuerNameHash),
        issuerKeyHash: new OctetString(id.issuerKeyHash),
        serialNumber: new Uint8Array(id.serial).buffer,
      });
    const two = Buffer.from(
      AsnConvert.serialize(
        new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId(one) }), new Request({ reqCert: certId(other) })] }) }),
      ),
    );
    const der = await get(env.responder, two);
    rejects(() => verifyOcspResponse(der, { leaf, issuer: root }), 'ERR_OCSP_RESPONSE_COUNT');
  });

  it('RSA PKI: PKCS#1 v1.5 and RSASSA-PSS signatures, issuer and delegate', async () => {
    const rsa = await setup({ keyType: 'rsa' });
    const pss = await startResponder({ issuer: rsa.pki.root, rsaPss: true });
    try {
      const l = info(rsa.pki.serverMustStaple);
      const i = info(rsa.pki.root);
      const req = buildOcspRequest(certIdFor(l, i));
      assert.equal(verifyOcspResponse(await post(rsa.responder.url, req), { leaf: l, issuer: i }).signer, 'issuer');
      rsa.responder.setSigner(rsa.pki.responder);
      assert.equal(verifyOcspResponse(await post(rsa.responder.url, req), { leaf: l, issuer: i }).signer, 'delegate');
      rsa.responder.setFault('wrong-key');
      const wrong = await post(rsa.responder.url, req);
      rejects(() => verifyOcspResponse(wrong, { leaf: l, issuer: i }), 'ERR_OCSP_BAD_SIGNATURE');
      assert.equal(verifyOcspResponse(await post(pss.url, req), { leaf: l, issuer: i }).status, 'good');
      pss.setFault('bad-signature');
      const broken = await post(pss.url, req);
      rejects(() => verifyOcspResponse(broken, { leaf: l, issuer: i }), 'ERR_OCSP_BAD_SIGNATURE');
    } finally {
      await pss.close();
      await rsa.close();
    }
  });
});

