import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { createTestPki, derToPem, pemToDer, pemToDerAll, sha256Hex, type IssuedCert, type TestPki } from '../../src/testkit/index.js';
import { OPENSSL_MISSING, opensslAvailable, opensslVerify, opensslX509Text, runOpenssl } from '../support/openssl.js';

const OCSP_URL = 'http://127.0.0.1:18888';
const noOpenssl = opensslAvailable() ? false : OPENSSL_MISSING;

/** DER of an extension's extnValue, or undefined. */
function extValue(cert: IssuedCert, oid: string): Buffer | undefined {
  const c = AsnConvert.parse(cert.der, Certificate);
  const e = c.tbsCertificate.extensions?.find((x) => x.extnID === oid);
  return e ? Buffer.from(e.extnValue.buffer) : undefined;
}

/** Handshake a Node TLS client with a Node TLS server presenting `serverCert` (cert_file = bundle). */
async function handshake(
  pki: TestPki,
  serverCert: IssuedCert,
  client: { host: string; servername?: string; clientCert?: IssuedCert },
): Promise<{ authorized: boolean; peerSubject: string; clientAuthorized?: boolean }> {
  let serverSide: { authorized: boolean } | undefined;
  const server = tls.createServer({
    cert: readFileSync(serverCert.bundleFile),
    key: serverCert.keyPem,
    ca: pki.root.certPem,
    requestCert: !!client.clientCert,
    rejectUnauthorized: !!client.clientCert,
  });
  server.on('secureConnection', (s) => {
    serverSide = { authorized: s.authorized };
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    return await new Promise((resolve, reject) => {
      const sock = tls.connect({
        host: client.host,
        port,
        ca: pki.root.certPem,
        servername: client.servername,
        cert: client.clientCert?.certPem,
        key: client.clientCert?.keyPem,
      });
      sock.once('secureConnect', () => {
        const peer = sock.getPeerCertificate();
        const out = { authorized: sock.authorized, peerSubject: String(peer.subject?.CN) };
        sock.once('close', () => resolve({ ...out, ...(serverSide && client.clientCert ? { clientAuthorized: serverSide.authorized } : {}) }));
        sock.resume();
      });
      sock.once('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('testkit PKI (pure JS)', () => {
  let pki: TestPki;
  let genMs = 0;

  before(async () => {
    const t0 = performance.now();
    pki = await createTestPki({ ocspUrl: OCSP_URL });
    genMs = performance.now() - t0;
  });
  after(async () => {
    await pki?.cleanup();
  });

  it('creates the whole EC PKI quickly', (t) => {
    t.diagnostic(`EC P-256 PKI (${pki.all().length} certs) generated in ${genMs.toFixed(0)} ms`);
    assert.ok(genMs < 5000, `generation took ${genMs} ms`);
    assert.equal(pki.ocspUrl, OCSP_URL);
    assert.equal(pki.caFile, pki.root.certFile);
  });

  it('writes cert, key (0600) and bundle files', () => {
    for (const c of pki.all()) {
      assert.equal(readFileSync(c.certFile, 'utf8'), c.certPem, c.name);
      assert.equal(readFileSync(c.keyFile, 'utf8'), c.keyPem, c.name);
      assert.equal(statSync(c.keyFile).mode & 0o777, 0o600, `${c.name} key mode`);
      assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      const bundle = pemToDerAll(readFileSync(c.bundleFile, 'utf8'));
      const issuer = pki.issuerOf(c);
      if (issuer === c) assert.deepEqual(bundle, [c.der]);
      else assert.deepEqual(bundle, [c.der, issuer.der], `${c.name} bundle = leaf + issuer`);
    }
    const b = pemToDerAll(readFileSync(pki.serverViaIntermediate.bundleFile, 'utf8'));
    assert.deepEqual(b[1], pki.intermediate.der);
  });

  it('uses random positive 16-byte serial numbers', () => {
    const seen = new Set<string>();
    for (const c of pki.all()) {
      assert.match(c.serialHex, /^[0-7][0-9a-f]{31}$/, c.name);
      assert.notEqual(c.serialHex.slice(0, 2), '00');
      const raw = Buffer.from(AsnConvert.parse(c.der, Certificate).tbsCertificate.serialNumber);
      assert.equal(raw.toString('hex'), c.serialHex, `${c.name}: serialHex is the DER content`);
      assert.ok(raw[0]! < 0x80, 'positive');
      assert.equal(new X509Certificate(c.der).serialNumber.toLowerCase(), c.serialHex);
      assert.ok(!seen.has(c.serialHex));
      seen.add(c.serialHex);
    }
  });

  it('pemToDer / derToPem / sha256Hex', () => {
    const c = pki.serverMustStaple;
    assert.deepEqual(pemToDer(c.certPem), c.der);
    assert.equal(derToPem(c.der), c.certPem);
    assert.equal(derToPem(new Uint8Array(c.der)), c.certPem);
    assert.match(derToPem(Buffer.from('hi'), 'X Y'), /^-----BEGIN X Y-----\naGk=\n-----END X Y-----\n$/);
    const fp = new X509Certificate(c.der).fingerprint256.replace(/:/g, '').toLowerCase();
    assert.equal(sha256Hex(c.der), fp);
    assert.throws(() => pemToDer('nothing here'), /no PEM block/);
  });

  it('chains verify (Node X509Certificate)', () => {
    for (const c of pki.all()) {
      const x = new X509Certificate(c.der);
      const issuer = new X509Certificate(pki.issuerOf(c).der);
      assert.ok(x.checkIssued(issuer), `${c.name} issued by ${pki.issuerOf(c).name}`);
      assert.ok(x.verify(issuer.publicKey), `${c.name} signature`);
      const now = Date.now();
      assert.ok(c.notBefore.getTime() <= now - 59 * 60_000 && c.notAfter.getTime() >= now + 23 * 3600_000, `${c.name} validity`);
    }
    assert.equal(pki.serverViaIntermediate.issuerName, 'intermediate');
    assert.equal(pki.intermediate.issuerName, 'root');
    assert.equal(pki.otherRoot.issuerName, 'otherRoot');
    assert.notEqual(pki.otherRoot.subject, pki.root.subject);
  });

  it('has the specified CA flags, SANs, AIA, EKUs, Must-Staple and nocheck', () => {
    const OID_TLSF = '1.3.6.1.5.5.7.1.24';
    const OID_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
    const mustStaple = new Set(['serverMustStaple', 'serverMustStapleNoAia', 'serverRevoked', 'serverViaIntermediate']);
    const withAia = new Set(['serverMustStaple', 'server', 'serverRevoked', 'client', 'intermediate', 'serverViaIntermediate']);
    const ekus: Record<string, string[] | undefined> = {
      responder: ['1.3.6.1.5.5.7.3.9'],
      intermediateResponder: ['1.3.6.1.5.5.7.3.9'],
      responderNoEku: ['1.3.6.1.5.5.7.3.2'],
      serverMustStaple: ['1.3.6.1.5.5.7.3.1'],
      server: ['1.3.6.1.5.5.7.3.1'],
      serverMustStapleNoAia: ['1.3.6.1.5.5.7.3.1'],
      serverNoAia: ['1.3.6.1.5.5.7.3.1'],
      serverRevoked: ['1.3.6.1.5.5.7.3.1'],
      serverViaIntermediate: ['1.3.6.1.5.5.7.3.1'],
      client: ['1.3.6.1.5.5.7.3.2'],
    };
    for (const c of pki.all()) {
      const x = new X509Certificate(c.der);
      assert.equal(x.ca, ['root', 'otherRoot', 'intermediate'].includes(c.name), `${c.name} CA flag`);
      const tlsf = extValue(c, OID_TLSF);
      if (mustStaple.has(c.name)) assert.equal(tlsf?.toString('hex'), '3003020105', `${c.name} Must-Staple`);
      else assert.equal(tlsf, undefined, `${c.name} has no TLS Feature`);
      if (withAia.has(c.name)) assert.equal(x.infoAccess, `OCSP - URI:${OCSP_URL}`, `${c.name} AIA`);
      else assert.equal(x.infoAccess, undefined, `${c.name} has no AIA`);
      assert.deepEqual(x.keyUsage, ekus[c.name], `${c.name} EKU`);
      const nocheck = extValue(c, OID_NOCHECK);
      if (c.name === 'responder' || c.name === 'intermediateResponder') assert.equal(nocheck?.toString('hex'), '0500');
      else assert.equal(nocheck, undefined, `${c.name} nocheck`);
    }
    for (const name of ['serverMustStaple', 'server', 'serverNoAia', 'serverViaIntermediate']) {
      const x = new X509Certificate(pki.get(name)!.der);
      assert.equal(x.checkHost('localhost'), 'localhost');
      assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    }
    const client = new X509Certificate(pki.client.der);
    assert.equal(client.subject, 'CN=client');
    assert.equal(client.subjectAltName, 'email:client@example.com');
    assert.equal(client.checkEmail('client@example.com'), 'client@example.com');
  });

  it('serverMustStaple completes a Node TLS handshake (localhost and 127.0.0.1)', async () => {
    const byName = await handshake(pki, pki.serverMustStaple, { host: '127.0.0.1', servername: 'localhost' });
    assert.deepEqual(byName, { authorized: true, peerSubject: 'serverMustStaple' });
    const byIp = await handshake(pki, pki.serverMustStaple, { host: '127.0.0.1' });
    assert.equal(byIp.authorized, true);
  });

  it('serverViaIntermediate handshakes with only the root trusted (bundle carries the intermediate)', async () => {
    const r = await handshake(pki, pki.serverViaIntermediate, { host: '127.0.0.1', servername: 'localhost' });
    assert.equal(r.authorized, true);
  });

  it('client certificate is accepted for mTLS', async () => {
    const r = await handshake(pki, pki.server, { host: '127.0.0.1', servername: 'localhost', clientCert: pki.client });
    assert.equal(r.authorized, true);
    assert.equal(r.clientAuthorized, true);
  });

  it('issue() makes more leaves with options, and rejects bad or duplicate names', async () => {
    const notAfter = new Date(Date.now() + 3600_000);
    const leaf = await pki.issue('extraLeaf', { mustStaple: true, ocspUrls: ['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b'], notAfter, dnsNames: ['example.test'] });
    const x = new X509Certificate(leaf.der);
    assert.equal(x.infoAccess, 'OCSP - URI:http://127.0.0.1:1/a\nOCSP - URI:http://127.0.0.1:2/b');
    assert.equal(x.subjectAltName, 'DNS:example.test');
    assert.equal(extValue(leaf, '1.3.6.1.5.5.7.1.24')?.toString('hex'), '3003020105');
    assert.equal(Math.floor(leaf.notAfter.getTime() / 1000), Math.floor(notAfter.getTime() / 1000));
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(pki.get('extraLeaf'), leaf);

    const subCa = await pki.issue('subCa', { ca: true, issuer: pki.intermediate, subject: 'CN=Sub CA' });
    const deep = await pki.issue('deepLeaf', { issuer: subCa, eku: ['clientAuth'], emails: ['x@example.com'], ocspUrls: [] });
    assert.ok(new X509Certificate(deep.der).verify(new X509Certificate(subCa.der).publicKey));
    assert.equal(new X509Certificate(deep.der).subjectAltName, 'email:x@example.com');
    assert.equal(new X509Certificate(deep.der).infoAccess, undefined);

    const selfCa = await pki.issue('thirdRoot', { selfSigned: true });
    assert.equal(selfCa.issuerName, 'thirdRoot');
    assert.ok(new X509Certificate(selfCa.der).ca);

    await assert.rejects(pki.issue('extraLeaf', {}), /already used/);
    await assert.rejects(pki.issue('../evil', {}), /invalid certificate name/);
    await assert.rejects(pki.issue('fromLeaf', { issuer: leaf }), /not a CA/);
  });

  it('openssl verify accepts every chain (incl. intermediate)', { skip: noOpenssl }, async () => {
    const fromRoot = [pki.root, pki.responder, pki.responderNoEku, pki.serverMustStaple, pki.server, pki.serverMustStapleNoAia, pki.serverNoAia, pki.serverRevoked, pki.client, pki.intermediate];
    for (const c of fromRoot) {
      const r = await opensslVerify({ caFile: pki.caFile, certFile: c.certFile });
      assert.ok(r.ok, `${c.name}: ${r.output}`);
    }
    for (const c of [pki.serverViaIntermediate, pki.intermediateResponder]) {
      const r = await opensslVerify({ caFile: pki.caFile, certFile: c.certFile, untrustedFile: pki.intermediate.certFile });
      assert.ok(r.ok, `${c.name}: ${r.output}`);
      const b = await opensslVerify({ caFile: pki.caFile, certFile: c.certFile, untrustedFile: c.bundleFile });
      assert.ok(b.ok, `${c.name} via its bundle: ${b.output}`);
    }
    const o = await opensslVerify({ caFile: pki.otherRoot.certFile, certFile: pki.otherRoot.certFile });
    assert.ok(o.ok, o.output);
    const s = await opensslVerify({ caFile: pki.caFile, certFile: pki.serverMustStaple.certFile, purpose: 'sslserver' });
    assert.ok(s.ok, s.output);
    const c = await opensslVerify({ caFile: pki.caFile, certFile: pki.client.certFile, purpose: 'sslclient' });
    assert.ok(c.ok, c.output);
    const other = await opensslVerify({ caFile: pki.otherRoot.certFile, certFile: pki.server.certFile });
    assert.equal(other.ok, false, 'a cert does not verify against the unrelated root');
    const noInt = await opensslVerify({ caFile: pki.caFile, certFile: pki.serverViaIntermediate.certFile });
    assert.equal(noInt.ok, false, 'intermediate is required');
  });

  it('openssl x509 -text shows Must-Staple, AIA and EKUs as specified', { skip: noOpenssl }, async () => {
    const text = async (c: IssuedCert) => opensslX509Text(c.certFile);
    for (const c of [pki.serverMustStaple, pki.serverMustStapleNoAia, pki.serverRevoked, pki.serverViaIntermediate]) {
      assert.match(await text(c), /TLS Feature: *\n\s+status_request/, `${c.name} Must-Staple`);
    }
    for (const c of [pki.server, pki.serverNoAia, pki.client, pki.root, pki.responder]) {
      assert.doesNotMatch(await text(c), /TLS Feature/, `${c.name} no Must-Staple`);
    }
    const ms = await text(pki.serverMustStaple);
    assert.match(ms, /Authority Information Access: *\n\s+OCSP - URI:http:\/\/127\.0\.0\.1:18888/);
    assert.match(ms, /Extended Key Usage: *\n\s+TLS Web Server Authentication\n/);
    assert.match(ms, /DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.doesNotMatch(await text(pki.serverMustStapleNoAia), /Authority Information Access/);
    assert.doesNotMatch(await text(pki.serverNoAia), /Authority Information Access/);
    const resp = await text(pki.responder);
    assert.match(resp, /Extended Key Usage: *\n\s+OCSP Signing\n/);
    assert.match(resp, /OCSP No Check/);
    const noEku = await text(pki.responderNoEku);
    assert.doesNotMatch(noEku, /OCSP Signing/);
    assert.doesNotMatch(noEku, /OCSP No Check/);
    const client = await text(pki.client);
    assert.match(client, /Subject: CN = client\n/);
    assert.match(client, /TLS Web Client Authentication/);
    assert.match(client, /email:client@example\.com/);
    const root = await text(pki.root);
    assert.match(root, /CA:TRUE/);
    assert.match(root, /Certificate Sign, CRL Sign/);
    assert.match(await text(pki.intermediate), /CA:TRUE/);
    // serial as openssl prints it == serialHex upper-cased
    const r = await runOpenssl(['x509', '-in', pki.client.certFile, '-noout', '-serial']);
    assert.equal(r.stdout.trim(), `serial=${pki.client.serialHex.toUpperCase()}`);
    // openssl reads the PKCS#8 keys
    const k = await runOpenssl(['pkey', '-in', pki.serverMustStaple.keyFile, '-noout']);
    assert.equal(k.code, 0, k.stderr);
  });
});

describe('testkit PKI with RSA keys and a given dir', () => {
  it('creates an RSA 2048 PKI that handshakes and verifies; cleanup removes the dir', async (t) => {
    const dir = `${process.env.TMPDIR ?? '/tmp'}/tsnats-pki-rsa-${process.pid}-${Date.now()}`;
    const t0 = performance.now();
    const pki = await createTestPki({ ocspUrl: OCSP_URL, keyType: 'rsa', dir });
    t.diagnostic(`RSA 2048 PKI generated in ${(performance.now() - t0).toFixed(0)} ms`);
    try {
      assert.equal(pki.dir, dir);
      const x = new X509Certificate(pki.serverMustStaple.der);
      assert.equal(x.publicKey.asymmetricKeyType, 'rsa');
      assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
      assert.equal(pki.serverMustStaple.keyType, 'rsa');
      const ec = await pki.issue('ecLeaf', { keyType: 'ec' });
      assert.equal(new X509Certificate(ec.der).publicKey.asymmetricKeyType, 'ec');
      const r = await handshake(pki, pki.serverMustStaple, { host: '127.0.0.1', servername: 'localhost' });
      assert.equal(r.authorized, true);
      if (opensslAvailable()) {
        const v = await opensslVerify({ caFile: pki.caFile, certFile: pki.serverViaIntermediate.certFile, untrustedFile: pki.intermediate.certFile });
        assert.ok(v.ok, v.output);
      }
    } finally {
      await pki.cleanup();
    }
    assert.equal(existsSync(dir), false);
  });

  it('requires an ocspUrl', async () => {
    await assert.rejects(createTestPki({ ocspUrl: '' }), /ocspUrl is required/);
  });
});
