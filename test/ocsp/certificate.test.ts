import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OcspCertificateError,
  findIssuer,
  hasStatusRequest,
  parseCaBundle,
  parseCertificate,
  parseCertificateChain,
} from '../../src/ocsp/index.js';
import { setup, type Env } from './helpers.js';

describe('ocsp certificate handling', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(async () => {
    await env.close();
  });

  it('detects Must-Staple (TLS Feature containing status_request)', () => {
    const { pki } = env;
    assert.equal(parseCertificate(pki.serverMustStaple.der).mustStaple, true);
    assert.equal(parseCertificate(pki.serverMustStapleNoAia.der).mustStaple, true);
    assert.equal(parseCertificate(pki.server.der).mustStaple, false);
    assert.equal(parseCertificate(pki.root.der).mustStaple, false);
  });

  it('reads the TLS Feature value strictly, as nats-server', () => {
    assert.equal(hasStatusRequest(Buffer.from('3003020105', 'hex')), true);
    assert.equal(hasStatusRequest(Buffer.from('3006020111020105', 'hex')), true); // {17, 5}
    assert.equal(hasStatusRequest(Buffer.from('3003020111', 'hex')), false); // status_request_v2 only
    assert.equal(hasStatusRequest(Buffer.from('300302010500', 'hex')), false); // trailing byte
    assert.equal(hasStatusRequest(Buffer.from('0201 05'.replace(' ', ''), 'hex')), false); // not a SEQUENCE
    assert.equal(hasStatusRequest(Buffer.from('ffff', 'hex')), false);
    assert.equal(hasStatusRequest(Buffer.alloc(0)), false);
  });

  it('reads AIA OCSP URLs in order, and none when absent', async () => {
    const { pki, responder } = env;
    assert.deepEqual(parseCertificate(pki.serverMustStaple.der).ocspUrls, [responder.url]);
    assert.deepEqual(parseCertificate(pki.serverNoAia.der).ocspUrls, []);
    const two = await pki.issue('twoAia', { ocspUrls: ['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b'] });
    assert.deepEqual(parseCertificate(two.der).ocspUrls, ['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b']);
  });

  it('exposes serial, sha256, subject in Go form, CA flag', () => {
    const { pki } = env;
    const c = parseCertificate(pki.serverMustStaple.der);
    assert.equal(c.serialHex, pki.serverMustStaple.serialHex);
    assert.match(c.sha256, /^[0-9a-f]{64}$/);
    assert.equal(c.isCA, false);
    assert.equal(parseCertificate(pki.root.der).isCA, true);
    assert.equal(c.subject, 'O=tsnats testkit,CN=serverMustStaple');
  });

  it('parses PEM chains (skipping keys), DER, and rejects empty input', () => {
    const { pki } = env;
    const chain = parseCertificateChain(readFileSync(pki.serverViaIntermediate.bundleFile, 'utf8'));
    assert.equal(chain.length, 2);
    assert.equal(chain[1]!.subject, parseCertificate(pki.intermediate.der).subject);
    const withKey = parseCertificateChain(pki.server.certPem + pki.server.keyPem);
    assert.equal(withKey.length, 1);
    assert.equal(parseCertificateChain(pki.server.der).length, 1);
    assert.throws(() => parseCertificateChain(pki.server.keyPem), { code: 'ERR_OCSP_NO_CERTIFICATE', message: 'no certificate found' });
    assert.throws(
      () => parseCertificateChain('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      (e: unknown) => e instanceof OcspCertificateError && e.code === 'ERR_OCSP_CERT_PARSE' && /^error parsing certificate: /.test(e.message),
    );
  });

  it('takes the issuer from the cert bundle when it signed the leaf', () => {
    const { pki } = env;
    const chain = parseCertificateChain(readFileSync(pki.serverViaIntermediate.bundleFile));
    assert.equal(findIssuer(chain).sha256, parseCertificate(pki.intermediate.der).sha256);
  });

  it('refuses a bundle whose second certificate did not sign the leaf', () => {
    const { pki } = env;
    const chain = parseCertificateChain(pki.serverViaIntermediate.certPem + pki.otherRoot.certPem);
    assert.throws(() => findIssuer(chain, parseCaBundle(pki.root.certPem + pki.intermediate.certPem)), {
      code: 'ERR_OCSP_NO_ISSUER',
      message: 'no issuers found',
    });
  });

  it('finds the issuer in a ca bundle in any order, intermediates included', () => {
    const { pki } = env;
    const leaf = parseCertificateChain(pki.serverViaIntermediate.certPem);
    const want = parseCertificate(pki.intermediate.der).sha256;
    for (const order of [
      [pki.otherRoot, pki.root, pki.intermediate],
      [pki.intermediate, pki.otherRoot, pki.root],
      [pki.root, pki.intermediate],
    ]) {
      const ca = parseCaBundle(order.map((c) => c.certPem).join(''));
      assert.equal(findIssuer(leaf, ca).sha256, want);
    }
    // several bundles given separately
    assert.equal(findIssuer(leaf, parseCaBundle([pki.root.certPem, pki.intermediate.certPem])).sha256, want);
    // a root-issued leaf finds the root
    assert.equal(
      findIssuer(parseCertificateChain(pki.server.certPem), parseCaBundle(pki.intermediate.certPem + pki.root.certPem)).sha256,
      parseCertificate(pki.root.der).sha256,
    );
  });

  it('errors: no issuer in the ca bundle, issuer not a CA, unparsable ca file', async () => {
    const { pki } = env;
    const leaf = parseCertificateChain(pki.serverViaIntermediate.certPem);
    assert.throws(() => findIssuer(leaf, parseCaBundle(pki.otherRoot.certPem)), { message: 'no issuers found' });
    // no ca given: Node's public roots do not know our throwaway CA
    assert.throws(() => findIssuer(leaf), { message: 'no issuers found' });
    // a leaf "issued" by a non-CA certificate
    const chain = parseCertificateChain(pki.server.certPem + pki.client.certPem);
    assert.throws(() => findIssuer(chain), { code: 'ERR_OCSP_NO_ISSUER' });
    assert.throws(() => parseCaBundle(pki.root.certPem + pki.root.keyPem), {
      code: 'ERR_OCSP_CA_PARSE',
      message: 'failed to parse ca_file: unexpected PEM certificate type: PRIVATE KEY',
    });
    assert.throws(() => parseCaBundle('not a pem'), (e: Error) => /^failed to parse ca_file: /.test(e.message));
  });

  it('reports an issuer without CA basic constraints', async (t) => {
    const { pki } = env;
    // A leaf signed with the key of an end-entity certificate (openssl signs with anything).
    const dir = mkdtempSync(join(tmpdir(), 'ocsp-notca-'));
    try {
      execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'r.csr'), '-subj', '/CN=leaf of a non-CA'], { stdio: 'ignore' });
      execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'r.csr'), '-CA', pki.server.certFile, '-CAkey', pki.server.keyFile, '-set_serial', '7', '-days', '1', '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
      t.skip('openssl not available');
      return;
    }
    const leafPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const expected = { code: 'ERR_OCSP_ISSUER_NOT_CA', message: 'O=tsnats testkit,CN=server invalid ca basic constraints: is not ca' };
    assert.throws(() => findIssuer(parseCertificateChain(leafPem + pki.server.certPem)), expected);
    assert.throws(() => findIssuer(parseCertificateChain(leafPem), parseCaBundle(pki.server.certPem + pki.root.certPem)), expected);
  });
});
