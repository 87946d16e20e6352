import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOcspRequest,
  certIdFor,
  ocspGetUrl,
  parseCertificate,
  parseOcspRequest,
} from '../../src/ocsp/index.js';
import { setup, type Env } from './helpers.js';

function opensslRequest(issuerFile: string, certFile: string): Buffer | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'ocsp-req-'));
  try {
    execFileSync('openssl', ['ocsp', '-issuer', issuerFile, '-cert', certFile, '-no_nonce', '-reqout', join(dir, 'req.der')], {
      stdio: 'ignore',
    });
    return readFileSync(join(dir, 'req.der'));
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ocsp request', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(async () => {
    await env.close();
  });

  it('builds a SHA-1 CertID of issuer name, issuer key and serial, without nonce', () => {
    const { pki } = env;
    const leaf = parseCertificate(pki.serverMustStaple.der);
    const issuer = parseCertificate(pki.root.der);
    const der = buildOcspRequest(certIdFor(leaf, issuer));
    const ids = parseOcspRequest(der);
    assert.equal(ids.length, 1);
    assert.equal(ids[0]!.hash, 'sha1');
    assert.equal(ids[0]!.serial.toString('hex'), pki.serverMustStaple.serialHex);
    assert.deepEqual(ids[0]!.issuerNameHash, createHash('sha1').update(issuer.subjectNameDer).digest());
    assert.deepEqual(ids[0]!.issuerKeyHash, createHash('sha1').update(issuer.publicKeyBits).digest());
    // No extensions (no nonce): for a 16-byte serial, 68 + 15 bytes as nats-server's 1-byte-serial 68.
    assert.equal(der.length, 68 + (leaf.serial.length - 1));
  });

  it('is byte-identical to `openssl ocsp -no_nonce -reqout`', (t) => {
    const { pki } = env;
    const theirs = opensslRequest(pki.root.certFile, pki.serverMustStaple.certFile);
    if (!theirs) return t.skip('openssl not available');
    const ours = buildOcspRequest(certIdFor(parseCertificate(pki.serverMustStaple.der), parseCertificate(pki.root.der)));
    assert.equal(ours.toString('hex'), theirs.toString('hex'));
  });

  it('hashes the issuer name exactly as it appears in the leaf', () => {
    const { pki } = env;
    const leaf = parseCertificate(pki.serverViaIntermediate.der);
    const issuer = parseCertificate(pki.intermediate.der);
    assert.deepEqual(leaf.issuerNameDer, issuer.subjectNameDer);
    const id = certIdFor(leaf, issuer, 'sha256');
    assert.equal(id.issuerNameHash.length, 32);
    assert.deepEqual(id.issuerNameHash, createHash('sha256').update(leaf.issuerNameDer).digest());
  });

  it('encodes GET URLs with percent-encoded base64 that round-trips', () => {
    const { pki } = env;
    const req = buildOcspRequest(certIdFor(parseCertificate(pki.serverMustStaple.der), parseCertificate(pki.root.der)));
    const b64 = req.toString('base64');
    const url = ocspGetUrl('http://ocsp.example.net/', req);
    assert.ok(url.startsWith('http://ocsp.example.net/'));
    const path = url.slice('http://ocsp.example.net/'.length);
    assert.doesNotMatch(path, /[+/=]/);
    assert.equal(decodeURIComponent(path), b64);
    assert.deepEqual(Buffer.from(decodeURIComponent(path), 'base64'), req);
    // a fixed request with all three special characters
    const special = Buffer.from([0xfb, 0xff, 0xbf, 0x00]);
    assert.equal(Buffer.from(special).toString('base64'), '+/+/AA==');
    assert.equal(ocspGetUrl('http://h:1/base/', special), 'http://h:1/base/%2B%2F%2B%2FAA%3D%3D');
    assert.deepEqual(parseOcspRequest(Buffer.from(decodeURIComponent(path), 'base64'))[0]!.serial.toString('hex'), pki.serverMustStaple.serialHex);
  });
});
