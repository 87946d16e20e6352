// ocsp_peer against the real `openssl ocsp` responder, with nats.js, raw node:tls and openssl
// s_client as clients.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, type IssuedCert, type TestPki } from '../../src/testkit/index.js';
import { startOpensslResponder, type OpensslResponder } from '../support/openssl-responder.js';
import { OPENSSL_MISSING, opensslAvailable, runOpenssl } from '../support/openssl.js';
import { natsClient, rawClient, startTs, type PeerEnv } from './helpers.js';

const skip = opensslAvailable() ? false : OPENSSL_MISSING;
let R: OpensslResponder;
let P: TestPki;
let dir: string;
let env: PeerEnv;
let good: IssuedCert;
let revoked: IssuedCert;
let unknown: IssuedCert;
let viaInt: IssuedCert;

before(async () => {
  if (skip) return;
  R = await startOpensslResponder();
  P = await createTestPki({ ocspUrl: R.url });
  good = await P.issue('o-good', { eku: ['clientAuth'] });
  revoked = await P.issue('o-revoked', { eku: ['clientAuth'] });
  unknown = await P.issue('o-unknown', { eku: ['clientAuth'] });
  viaInt = await P.issue('o-via-int', { issuer: P.intermediate, eku: ['clientAuth'] });
  R.attach(P);
  R.revoke(revoked);
  R.setUnknown(unknown);
  dir = mkdtempSync(join(tmpdir(), 'tsnats-peer-openssl-'));
  env = { pki: P, dir } as unknown as PeerEnv;
});
after(async () => {
  await R?.close();
  await P?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function conf(ocspPeer: string, tlsExtra = ''): string {
  return `store_dir: "${dir}"\nocsp_cache: false\ntls {\n  cert_file: "${P.server.certFile}"\n  key_file: "${P.server.keyFile}"\n  ca_file: "${P.caFile}"\n  verify: true\n  ocsp_peer: ${ocspPeer}\n${tlsExtra}}\n`;
}

describe('ocsp_peer with openssl ocsp', { skip }, () => {
  test('good admitted, revoked and unknown refused (raw TLS and nats.js)', async () => {
    const ts = await startTs(dir, conf('true'));
    try {
      assert.equal((await rawClient(ts.port, good, env)).admitted, true);
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, false);
      assert.equal((await rawClient(ts.port, unknown, env)).admitted, false);
      const ok = await natsClient(ts.port, good, env);
      assert.ok(!(ok instanceof Error), String(ok));
      await ok.close();
      assert.ok((await natsClient(ts.port, revoked, env)) instanceof Error);
      assert.ok(ts.logs.some((l) => l.includes('with CA status [revoked]')));
      assert.ok(ts.logs.some((l) => l.includes('with CA status [unknown]')));
    } finally {
      await ts.stop();
    }
  });

  test('intermediate chain: delegated openssl signers for root and intermediate; revoking the intermediate refuses', async () => {
    const ts = await startTs(dir, conf('true'));
    try {
      assert.equal((await rawClient(ts.port, viaInt, env, { useBundle: true })).admitted, true);
      R.revoke(P.intermediate);
      assert.equal((await rawClient(ts.port, viaInt, env, { useBundle: true })).admitted, false);
      R.setGood(P.intermediate);
    } finally {
      await ts.stop();
    }
  });

  test('openssl s_client with handshake_first: a revoked client never even sees INFO', async () => {
    const ts = await startTs(dir, conf('true', '  handshake_first: true\n'));
    try {
      const run = (c: IssuedCert) =>
        runOpenssl(
          ['s_client', '-connect', `127.0.0.1:${ts.port}`, '-cert', c.certFile, '-key', c.keyFile, '-CAfile', P.caFile, '-quiet', '-ign_eof'],
          { input: 'CONNECT {"verbose":false}\r\nPING\r\n', timeoutMs: 3000 },
        );
      const g = await run(good);
      assert.match(g.stdout, /^INFO \{/m);
      assert.match(g.stdout, /PONG/);
      const r = await run(revoked);
      assert.doesNotMatch(r.stdout, /INFO|PONG/);
      assert.equal(r.timedOut, false, 'the server closed the connection');
    } finally {
      await ts.stop();
    }
  });
});
