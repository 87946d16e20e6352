// `tsnats ocsp check` / `show` against a real `openssl ocsp` responder, and `show`'s decoding
// cross-checked with openssl's own reading of the same bytes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/ocsp.js';
import { createStapler } from '../../src/ocsp/index.js';
import { createTestPki, type TestPki } from '../../src/testkit/index.js';
import { startOpensslResponder, type OpensslResponder } from '../support/openssl-responder.js';
import { OPENSSL_MISSING, opensslAvailable, opensslOcspVerify } from '../support/openssl.js';
import { run } from './helpers.js';

const skip = opensslAvailable() ? false : OPENSSL_MISSING;

describe('tsnats ocsp ↔ real openssl ocsp responder', { skip }, () => {
  let r: OpensslResponder;
  let pki: TestPki;
  let storeDir: string;

  before(async () => {
    r = await startOpensslResponder({ nmin: 10 });
    pki = await createTestPki({ ocspUrl: r.url });
    r.attach(pki);
    storeDir = mkdtempSync(join(tmpdir(), 'ocsp-cli-openssl-'));
  });
  after(async () => {
    await r?.close();
    await pki?.cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('good, signed by the delegated responder: exit 0, signer and EKU, 10 min validity', async () => {
    const res = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    assert.equal(res.code, EXIT.GOOD, res.stdout);
    const j = res.json();
    assert.equal(j.response.status, 'good');
    assert.equal(j.response.signer.type, 'delegate');
    assert.equal(j.response.signer.subject, 'O=tsnats testkit,CN=responder');
    assert.deepEqual(j.response.signer.eku, ['OCSPSigning']);
    assert.equal(Date.parse(j.response.next_update) - Date.parse(j.response.this_update), 10 * 60_000);
    assert.equal(j.decision.would_staple, true);
    assert.ok(r.requestLog.some((e) => e.method === 'POST' && e.serials.includes(pki.serverMustStaple.serialHex)));
  });

  it('a certificate of the intermediate CA, answered by the intermediate responder', async () => {
    const res = await run(['check', '--cert', pki.serverViaIntermediate.bundleFile, '--json']);
    assert.equal(res.code, 0, res.stdout);
    assert.equal(res.json().response.signer.subject, 'O=tsnats testkit,CN=intermediateResponder');
  });

  it('revoked with a reason: exit 2; mode must would refuse to start', async () => {
    const c = pki.serverRevoked;
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 600_000);
    r.revoke(c, { reason: 'keyCompromise', time });
    try {
      const res = await run(['check', '--cert', c.bundleFile, '--mode', 'must', '--json']);
      assert.equal(res.code, EXIT.REVOKED, res.stdout);
      const j = res.json();
      assert.equal(j.response.status, 'revoked');
      assert.equal(j.response.revocation_reason, 'keyCompromise');
      assert.equal(j.response.revocation_time, time.toISOString());
      assert.equal(j.decision.would_start, false);
      assert.equal(j.decision.startup_error, `found existing OCSP status for certificate at '${c.bundleFile}': revoked`);
    } finally {
      r.setGood(c);
    }
  });

  it('unknown: exit 3', async () => {
    const c = pki.server;
    r.setUnknown(c);
    try {
      const res = await run(['check', '--cert', c.bundleFile, '--mode', 'always', '--json']);
      assert.equal(res.code, EXIT.UNKNOWN, res.stdout);
      assert.equal(res.json().response.status, 'unknown');
    } finally {
      r.setGood(c);
    }
  });

  it('openssl signing with a certificate without OCSPSigning: rejected with the reason, exit 4', async () => {
    const bad = await startOpensslResponder({ rsigner: pki.responderNoEku, nmin: 10 });
    try {
      bad.attach(pki);
      const res = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--url', bad.url, '--json']);
      assert.equal(res.code, EXIT.NO_VALID_RESPONSE, res.stdout);
      const j = res.json();
      assert.equal(j.error.code, 'ERR_OCSP_SIGNER_NO_EKU');
      assert.match(j.error.message, /responderNoEku' missing authorization by CA to act as OCSP signer/);
      assert.equal(j.attempts[0].response.status, 'good');
    } finally {
      await bad.close();
    }
  });

  it("show decodes an engine-cached openssl response the same way openssl reads it", async () => {
    const c = pki.serverMustStaple;
    const s = await createStapler({ cert: readFileSync(c.bundleFile), mode: 'must', storeDir, memory: false });
    s.close();
    const file = join(storeDir, 'ocsp', createHash('sha256').update(c.der).digest('hex'));
    const res = await run(['show', file, '--cert', c.bundleFile, '--json']);
    assert.equal(res.code, 0, res.stdout);
    const j = res.json();
    assert.equal(j.validation.valid, true);
    const ours = j.response.responses[0];
    const theirs = await opensslOcspVerify(readFileSync(file), pki.root.certPem, c.certPem);
    assert.ok(theirs.verified, theirs.stderr);
    assert.equal(theirs.certStatus, ours.status);
    assert.equal(theirs.thisUpdate?.getTime(), Date.parse(ours.this_update));
    assert.equal(theirs.nextUpdate?.getTime(), Date.parse(ours.next_update));
    assert.equal(ours.cert_id.serial, c.serialHex);
    assert.equal(j.response.certificates[0].subject, 'O=tsnats testkit,CN=responder');
  });
});
