// The programmable test responder itself (src/testkit/responder.ts).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildOcspRequest,
  certIdFor,
  parseCertificate,
  parseOcspResponse,
  verifyOcspResponse,
  type CertificateInfo,
} from '../../src/ocsp/index.js';
import { startResponder, type TestResponder } from '../../src/testkit/index.js';
import { setup, type Env } from './helpers.js';

describe('programmable OCSP test responder', () => {
  let env: Env;
  let leaf: CertificateInfo;
  let root: CertificateInfo;
  let req: Buffer;
  const post = async (r: TestResponder = env.responder, body = req) =>
    Buffer.from(await (await fetch(r.url, { method: 'POST', body })).arrayBuffer());

  before(async () => {
    env = await setup();
    leaf = parseCertificate(env.pki.serverMustStaple.der);
    root = parseCertificate(env.pki.root.der);
    req = buildOcspRequest(certIdFor(leaf, root));
  });
  after(async () => {
    await env.close();
  });

  it('answers POST and GET (percent-encoded or raw base64, as nats-server sends it) and counts requests', async () => {
    env.responder.resetRequests();
    assert.equal(verifyOcspResponse(await post(), { leaf, issuer: root }).status, 'good');
    const b64 = req.toString('base64');
    for (const path of [encodeURIComponent(b64), b64]) {
      const res = await fetch(`${env.responder.url}/${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/ocsp-response');
      verifyOcspResponse(Buffer.from(await res.arrayBuffer()), { leaf, issuer: root });
    }
    assert.deepEqual(
      { total: env.responder.requests.total, post: env.responder.requests.post, get: env.responder.requests.get },
      { total: 3, post: 1, get: 2 },
    );
    assert.equal(env.responder.requests.bySerial[leaf.serialHex.replace(/^0+/, '')], 3);
  });

  it('setStatus / setDefault / setValidity', async () => {
    env.responder.setDefault('unknown');
    assert.equal(verifyOcspResponse(await post(), { leaf, issuer: root }).status, 'unknown');
    env.responder.setStatus(leaf.serialHex.toUpperCase(), 'good');
    assert.equal(verifyOcspResponse(await post(), { leaf, issuer: root }).status, 'good');
    env.responder.setDefault('good');
    env.responder.setValidity({ thisUpdateOffsetMs: -60_000, nextUpdateMs: 5 * 60_000 });
    const v = verifyOcspResponse(await post(), { leaf, issuer: root });
    assert.ok(Math.abs(v.thisUpdate - (Date.now() - 60_000)) < 2000);
    assert.equal(v.nextUpdate! - v.thisUpdate, 5 * 60_000);
    env.responder.setValidity({ nextUpdateMs: null });
    assert.equal(verifyOcspResponse(await post(), { leaf, issuer: root }).nextUpdate, undefined);
    env.responder.setValidity({});
  });

  it('answers unknown for a certificate of another CA, malformedRequest for junk, unauthorized before setIssuer', async () => {
    const other = await env.pki.issue('viaIntermediateForResponderTest', { issuer: env.pki.intermediate });
    const l = parseCertificate(other.der);
    const i = parseCertificate(env.pki.intermediate.der);
    const parsed = parseOcspResponse(await post(env.responder, buildOcspRequest(certIdFor(l, i))));
    assert.equal(parsed.responses[0]!.status, 'unknown');
    await assert.rejects(async () => parseOcspResponse(await post(env.responder, Buffer.from('junk'))), { code: 'ERR_OCSP_UNSUCCESSFUL', message: 'ocsp: error from server: malformed' });
    const blank = await startResponder();
    try {
      await assert.rejects(async () => parseOcspResponse(await post(blank)), { message: 'ocsp: error from server: unauthorized' });
      blank.setIssuer(env.pki.root, env.pki.responder);
      assert.equal(verifyOcspResponse(await post(blank), { leaf, issuer: root }).signer, 'delegate');
    } finally {
      await blank.close();
    }
  });

  it('faults: method restrictions, HTTP status, redirect, and setFault(null) heals', async () => {
    env.responder.setFault('only-post');
    assert.equal((await fetch(`${env.responder.url}/${encodeURIComponent(req.toString('base64'))}`)).status, 400);
    env.responder.setFault('only-get');
    assert.equal((await fetch(env.responder.url, { method: 'POST', body: req })).status, 400);
    env.responder.setFault({ type: 'http-status', status: 503 });
    assert.equal((await fetch(env.responder.url, { method: 'POST', body: req })).status, 503);
    env.responder.setFault({ type: 'redirect', location: 'http://127.0.0.1:9/' });
    const res = await fetch(env.responder.url, { method: 'POST', body: req, redirect: 'manual' });
    assert.equal(res.status, 302);
    env.responder.setFault(null);
    assert.equal(verifyOcspResponse(await post(), { leaf, issuer: root }).status, 'good');
  });

  it('close() ends hanging connections', async () => {
    const r = await startResponder({ issuer: env.pki.root });
    r.setFault('hang');
    const pending = fetch(r.url, { method: 'POST', body: req }).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((res) => setTimeout(res, 50));
    const t0 = Date.now();
    await r.close();
    assert.equal(await pending, 'failed');
    assert.ok(Date.now() - t0 < 1000);
  });
});
