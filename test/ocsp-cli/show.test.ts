// `tsnats ocsp show`: cached staples written by the engine's own store, validation with --cert,
// corrupt and foreign files, and the --store-dir listing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/ocsp.js';
import { StapleStore, createStapler } from '../../src/ocsp/index.js';
import { startResponder, type IssuedCert } from '../../src/testkit/index.js';
import { run, setup, type Env } from './helpers.js';

describe('tsnats ocsp show', () => {
  let env: Env;
  let storeDir: string;
  let work: string;
  /** The engine's cache file name: SHA-256 of the leaf DER. */
  const sha = (c: IssuedCert) => createHash('sha256').update(c.der).digest('hex');
  const cached = (c: IssuedCert) => new StapleStore(storeDir).pathFor(sha(c));

  /** Lets the engine fetch, verify and persist a staple for `c` into storeDir. */
  async function engineStaple(c: IssuedCert, mode: 'auto' | 'must' = 'auto'): Promise<string> {
    const s = await createStapler({ cert: readFileSync(c.bundleFile), mode, storeDir, memory: false, certPath: c.bundleFile });
    s.close();
    return cached(c);
  }

  before(async () => {
    env = await setup();
    env.responder.setSigner(env.pki.responder);
    storeDir = mkdtempSync(join(tmpdir(), 'ocsp-cli-store-'));
    work = mkdtempSync(join(tmpdir(), 'ocsp-cli-work-'));
  });
  after(async () => {
    await env.close();
    rmSync(storeDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('decodes a staple written by the engine: fields, CertID, embedded certificate; exit 0 without --cert', async () => {
    const { pki } = env;
    const c = pki.serverMustStaple;
    const file = await engineStaple(c);
    const r = await run(['show', file, '--json']);
    assert.equal(r.code, EXIT.GOOD);
    const j = r.json();
    assert.equal(j.command, 'show');
    assert.equal(j.outcome, 'decoded');
    assert.deepEqual(Object.keys(j), ['command', 'exit_code', 'outcome', 'checked_at', 'file', 'response', 'validation', 'error']);
    assert.equal(j.file.path, file);
    assert.equal(j.file.size, readFileSync(file).length);
    assert.equal(j.validation, null);
    const p = j.response;
    assert.deepEqual(Object.keys(p), [
      'response_status',
      'response_type',
      'size',
      'responder_id',
      'produced_at',
      'signature_algorithm',
      'responses',
      'certificates',
      'critical_extensions',
    ]);
    assert.equal(p.response_status, 'successful');
    assert.deepEqual(p.responder_id, { type: 'by_name', value: 'O=tsnats testkit,CN=responder' });
    assert.equal(p.signature_algorithm, 'ecdsa-with-SHA256');
    assert.equal(p.responses.length, 1);
    const s = p.responses[0];
    assert.equal(s.cert_id.hash_algorithm, 'sha1');
    assert.equal(s.cert_id.serial, c.serialHex);
    assert.match(s.cert_id.issuer_name_hash, /^[0-9a-f]{40}$/);
    assert.match(s.cert_id.issuer_key_hash, /^[0-9a-f]{40}$/);
    assert.equal(s.status, 'good');
    assert.ok(Date.parse(s.next_update) > Date.parse(s.this_update));
    assert.equal(p.certificates.length, 1);
    assert.equal(p.certificates[0].subject, 'O=tsnats testkit,CN=responder');
    assert.deepEqual(p.certificates[0].eku, ['OCSPSigning']);

    const text = await run(['show', file]);
    assert.equal(text.code, 0);
    for (const want of ['Response        successful, basic', 'responder id    by name: O=tsnats testkit,CN=responder', 'response #1', `serial          ${c.serialHex}`, 'certificate #1', 'eku             OCSPSigning', 'Result: decoded (not validated) (exit 0)']) {
      assert.ok(text.stdout.includes(want), `missing ${JSON.stringify(want)} in\n${text.stdout}`);
    }
  });

  it('--cert validates it: still valid and for how long; tsnats would load it', async () => {
    const { pki } = env;
    const c = pki.serverMustStaple;
    const file = await engineStaple(c);
    const r = await run(['show', file, '--cert', c.bundleFile, '--json']);
    assert.equal(r.code, 0);
    const j = r.json();
    assert.equal(j.outcome, 'good');
    const v = j.validation;
    assert.deepEqual(Object.keys(v), [
      'certificate',
      'issuer',
      'file_name_matches',
      'valid',
      'status',
      'expires_at',
      'valid_for_ms',
      'signer',
      'error',
      'tsnats_would_load',
    ]);
    assert.equal(v.valid, true);
    assert.equal(v.status, 'good');
    assert.equal(v.file_name_matches, true);
    assert.equal(v.tsnats_would_load, true);
    assert.deepEqual(v.signer, { type: 'delegate', subject: 'O=tsnats testkit,CN=responder' });
    assert.ok(v.valid_for_ms > 50 * 60_000 && v.valid_for_ms <= 3_600_000);
    // leaf only + --ca works the same
    const withCa = await run(['show', file, '--cert', c.certFile, '--ca', pki.caFile, '--json']);
    assert.equal(withCa.code, 0);
    assert.equal(withCa.json().validation.issuer.source, 'ca_file');
    const text = await run(['show', file, '--cert', c.bundleFile]);
    assert.match(text.stdout, /result +valid, status good/);
    assert.match(text.stdout, /usable until +\S+ \(in [0-9hms]+\)/);
    assert.match(text.stdout, /would load this staple at start-up/);
    assert.match(text.stdout, /Result: good \(exit 0\)/);
  });

  it('--cert: no longer valid later (injected clock) → exit 4 with the failed check', async () => {
    const { pki } = env;
    const c = pki.serverMustStaple;
    const file = await engineStaple(c);
    const later = Date.now() + 2 * 3_600_000;
    const r = await run(['show', file, '--cert', c.bundleFile, '--json'], () => later);
    assert.equal(r.code, EXIT.NO_VALID_RESPONSE);
    const j = r.json();
    assert.equal(j.outcome, 'no_valid_response');
    assert.equal(j.validation.valid, false);
    assert.equal(j.validation.error.code, 'ERR_OCSP_NEXT_UPDATE_PAST');
    assert.equal(j.validation.tsnats_would_load, false);
    assert.ok(j.response, 'still decoded');
  });

  it('--cert of another certificate: refused (CertID) and the file name does not match', async () => {
    const { pki } = env;
    const file = await engineStaple(pki.serverMustStaple);
    const r = await run(['show', file, '--cert', pki.server.bundleFile, '--json']);
    assert.equal(r.code, 4);
    const v = r.json().validation;
    assert.equal(v.error.code, 'ERR_OCSP_CERTID_SERIAL');
    assert.equal(v.file_name_matches, false);
    const text = await run(['show', file, '--cert', pki.server.bundleFile]);
    assert.match(text.stdout, /INVALID: ERR_OCSP_CERTID_SERIAL/);
    assert.match(text.stdout, /file name +does not match the certificate/);
  });

  it('a cached revoked staple (auto mode stores it): exit 2', async () => {
    const { pki, responder } = env;
    const c = pki.serverRevoked;
    responder.setStatus(c.serialHex, 'revoked', { reason: 4 });
    try {
      const file = await engineStaple(c, 'auto');
      const r = await run(['show', file, '--cert', c.bundleFile, '--json']);
      assert.equal(r.code, EXIT.REVOKED);
      assert.equal(r.json().validation.status, 'revoked');
      assert.equal(r.json().response.responses[0].revocation_reason, 'superseded');
    } finally {
      responder.setStatus(c.serialHex, 'good');
    }
  });

  it('corrupt, truncated, empty and non-successful files: a clear error, exit 4', async () => {
    const { pki } = env;
    const good = readFileSync(await engineStaple(pki.serverMustStaple));
    const cases: [string, Buffer, string, RegExp][] = [
      ['garbage', Buffer.from('this is not DER at all\n'), 'ERR_OCSP_MALFORMED', /malformed OCSP response: not a DER OCSPResponse/],
      ['truncated', good.subarray(0, good.length >> 1), 'ERR_OCSP_MALFORMED', /malformed OCSP response/],
      ['empty', Buffer.alloc(0), 'ERR_OCSP_MALFORMED', /empty body/],
      ['trylater', Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]), 'ERR_OCSP_UNSUCCESSFUL', /ocsp: error from server: try later/],
    ];
    for (const [name, bytes, code, re] of cases) {
      const f = join(work, name);
      writeFileSync(f, bytes);
      const r = await run(['show', f, '--json']);
      assert.equal(r.code, EXIT.NO_VALID_RESPONSE, name);
      const j = r.json();
      assert.equal(j.outcome, 'no_valid_response');
      assert.equal(j.response, null);
      assert.equal(j.error.code, code, name);
      assert.match(j.error.message, re, name);
      const text = await run(['show', f, '--cert', pki.serverMustStaple.bundleFile]);
      assert.equal(text.code, 4, name);
      assert.match(text.stdout, /Response +cannot be decoded/);
      assert.match(text.stdout, new RegExp(code));
    }
  });

  it('input errors: missing file, directory, bad --cert → exit 1', async () => {
    const { pki } = env;
    const file = await engineStaple(pki.serverMustStaple);
    const cases: [string[], RegExp][] = [
      [['show', join(work, 'nope')], /cannot read '.*nope': ENOENT/],
      [['show', work], /not a regular file/],
      [['show', file, '--cert', '/nonexistent.pem'], /cannot read certificate file/],
      [['show', file, '--cert', pki.serverMustStaple.certFile], /no issuers found/],
      [['show', file, '--ca', pki.caFile], /--ca needs --cert/],
      [['show', file, 'other'], /unexpected argument "other"/],
      [['show', file, '--store-dir', storeDir], /either a file or --store-dir/],
      [['show', '--store-dir', join(work, 'none')], /no OCSP cache directory at/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      assert.equal(r.code, EXIT.USAGE, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
  });

  it('--store-dir lists every cached file with its status and dates; --cert validates its own', async () => {
    const { pki } = env;
    const dir = mkdtempSync(join(work, 'store-'));
    const ms = pki.serverMustStaple;
    const via = pki.serverViaIntermediate;
    const a = await createStapler({ cert: readFileSync(ms.bundleFile), storeDir: dir, memory: false });
    a.close();
    // a second CA: its own responder signs for the intermediate
    const r2 = await startResponder({ issuer: pki.intermediate });
    try {
      const b = await createStapler({ cert: readFileSync(via.bundleFile), storeDir: dir, memory: false, urls: [r2.url] });
      b.close();
    } finally {
      await r2.close();
    }
    const corrupt = 'f'.repeat(64);
    writeFileSync(join(dir, 'ocsp', corrupt), 'junk');
    writeFileSync(join(dir, 'ocsp', 'tmp-cert-status0123456789ab'), 'partial');

    const r = await run(['show', '--store-dir', dir, '--cert', ms.bundleFile, '--cert', pki.server.bundleFile, '--json']);
    assert.equal(r.code, 0);
    const j = r.json();
    assert.deepEqual(Object.keys(j), ['command', 'exit_code', 'outcome', 'checked_at', 'store_dir', 'directory', 'files', 'ignored', 'missing', 'error']);
    assert.equal(j.outcome, 'listed');
    assert.equal(j.directory, join(dir, 'ocsp'));
    assert.deepEqual(j.ignored, ['tmp-cert-status0123456789ab']);
    assert.deepEqual(j.missing, [{ file: pki.server.bundleFile, sha256: sha(pki.server) }]);
    assert.equal(j.files.length, 3);
    const byName = new Map<string, any>(j.files.map((f: any) => [f.name, f]));
    const fa = byName.get(sha(ms));
    assert.deepEqual(Object.keys(fa), [
      'name',
      'path',
      'size',
      'modified',
      'certificate',
      'decoded',
      'status',
      'responder_id',
      'produced_at',
      'this_update',
      'next_update',
      'dates_current',
      'validation',
      'error',
    ]);
    assert.equal(fa.certificate, ms.bundleFile);
    assert.equal(fa.decoded, true);
    assert.equal(fa.status, 'good');
    assert.equal(fa.dates_current, true);
    assert.equal(fa.validation.valid, true);
    const fb = byName.get(sha(via));
    assert.equal(fb.certificate, null);
    assert.equal(fb.status, 'good');
    assert.equal(fb.dates_current, true);
    assert.equal(fb.validation, null);
    assert.equal(fb.responder_id.value, 'O=tsnats testkit,CN=tsnats testkit intermediate CA');
    const fc = byName.get(corrupt);
    assert.equal(fc.decoded, false);
    assert.equal(fc.error.code, 'ERR_OCSP_MALFORMED');

    // later: dates no longer current (cheap check, no certificate needed)
    const later = await run(['show', '--store-dir', join(dir, 'ocsp'), '--json'], () => Date.now() + 3 * 3_600_000);
    assert.equal(later.code, 0);
    assert.ok(later.json().files.filter((f: any) => f.decoded).every((f: any) => f.dates_current === false));

    const text = await run(['show', '--store-dir', dir, '--cert', ms.bundleFile]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^OCSP cache +.*\/ocsp \(3 files\)/);
    assert.match(text.stdout, new RegExp(`${sha(ms)}  \\(${ms.bundleFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    assert.match(text.stdout, /validation +valid, status good/);
    assert.match(text.stdout, /ERR_OCSP_MALFORMED/);
    assert.match(text.stdout, /Ignored +tmp-cert-status0123456789ab/);
    assert.match(text.stdout, /Result: listed \(exit 0\)/);
  });
});
