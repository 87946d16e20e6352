// bin/tsnats as a child process, where exit statuses and stderr matter: start-up refusals (exit 1
// with nats-server's message), runtime revocation (must/always: exit 20 within one refresh
// interval; auto: keeps serving the revoked staple and keeps checking), and an expired staple
// while the responder is down (no staple, handshakes still succeed).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/index.js';
import { startResponder, type IssuedCert, type TestResponder } from '../../src/testkit/index.js';
import { conf, ocspBlock, probe, setup, sleep, spawnServer, waitFor, type Env } from './helpers.js';

let E: Env;
before(async () => {
  E = await setup();
});
after(async () => {
  await E?.close();
});

describe('start-up refusals: exit 1 with the message on stderr', () => {
  it('must + revoked: found existing OCSP status ...: revoked', async () => {
    const cert = await E.pki.issue('proc-revoked', { mustStaple: true });
    E.responder.setStatus(cert.serialHex, 'revoked');
    const o = await spawnServer('tsnats', E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('must') }));
    if (o.ready) await o.proc.kill();
    assert.equal(o.ready, false);
    assert.equal(o.code, ExitCode.ERROR);
    assert.match(o.proc.out(), new RegExp(`\\[FTL\\] found existing OCSP status for certificate at '${esc(cert.certFile)}': revoked\\n`));
    assert.doesNotMatch(o.proc.out(), /Server is ready/);
  });

  it('Must-Staple without AIA and no url: bad OCSP status update ...: no available ocsp servers', async () => {
    const cert = E.pki.serverMustStapleNoAia;
    const o = await spawnServer('tsnats', E.dir, conf({ cert, caFile: E.pki.caFile }));
    if (o.ready) await o.proc.kill();
    assert.equal(o.ready, false);
    assert.equal(o.code, ExitCode.ERROR);
    assert.match(o.proc.out(), new RegExp(`\\[FTL\\] bad OCSP status update for certificate at '${esc(cert.certFile)}': no available ocsp servers\\n`));
  });
});

describe('revocation while running (nextUpdate 4 s: a refresh about every 2 s)', () => {
  let R: TestResponder;
  before(async () => {
    R = await startResponder({ issuer: E.pki.root });
    R.setValidity({ nextUpdateMs: 4000 });
  });
  after(async () => {
    await R?.close();
  });

  for (const [mode, mustStaple] of [
    ['must', true],
    ['always', false],
  ] as const) {
    it(`${mode}: the process shuts down gracefully and exits ${ExitCode.OCSP_REVOKED}`, async () => {
      const cert = await E.pki.issue(`proc-rt-${mode}`, { mustStaple, ocspUrls: [R.url] });
      const o = await spawnServer('tsnats', E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock(mode) }));
      assert.ok(o.ready, o.proc.out());
      try {
        const p = await probe(o.proc.port, { ca: E.pki.root.certPem });
        assert.equal(p.staple?.status, 'good');
        R.setStatus(cert.serialHex, 'revoked');
        const t0 = Date.now();
        const code = await Promise.race([o.proc.exited, sleep(8000).then(() => 'timeout' as const)]);
        assert.equal(code, ExitCode.OCSP_REVOKED, o.proc.out());
        assert.ok(Date.now() - t0 < 4000, 'within one refresh interval');
        const log = o.proc.out();
        assert.match(log, new RegExp(`\\[ERR\\] Received OCSP status for Client certificate '${esc(cert.certFile)}': revoked`));
        assert.match(log, /Shutting down: OCSP status of certificate '.*' is revoked \(ocsp mode (must|always)\), exit status 20/);
        assert.match(log, /Initiating Shutdown\.\.\.[\s\S]*Server Exiting\.\./, 'graceful');
      } finally {
        await o.proc.kill();
      }
    });
  }

  it('auto: keeps running, serves the revoked staple, keeps checking', async () => {
    const cert: IssuedCert = await E.pki.issue('proc-rt-auto', { mustStaple: true, ocspUrls: [R.url] });
    const o = await spawnServer('tsnats', E.dir, conf({ cert, caFile: E.pki.caFile }));
    assert.ok(o.ready, o.proc.out());
    try {
      assert.equal((await probe(o.proc.port, { ca: E.pki.root.certPem })).staple?.status, 'good');
      R.setStatus(cert.serialHex, 'revoked');
      const sawRevoked = await waitFor(async () => (await probe(o.proc.port, { ca: E.pki.root.certPem, tls13: true })).staple?.status === 'revoked', 8000, 250);
      assert.ok(sawRevoked, 'clients get the revoked staple');
      const before = R.requests.bySerial[cert.serialHex.replace(/^0+/, '')] ?? 0;
      const checking = await waitFor(() => (R.requests.bySerial[cert.serialHex.replace(/^0+/, '')] ?? 0) > before, 6000, 100);
      assert.ok(checking, 'still checking after the revocation');
      assert.equal(o.proc.child.exitCode, null, 'still running');
      // Good again (a hold lifted): the next refresh staples good.
      R.setStatus(cert.serialHex, 'good');
      assert.ok(await waitFor(async () => (await probe(o.proc.port, { ca: E.pki.root.certPem })).staple?.status === 'good', 8000, 250));
    } finally {
      await o.proc.kill();
    }
    assert.equal(await o.proc.exited, 0);
  });

  it('staple expired while the responder is down: handshakes go on without a staple', async () => {
    const r2 = await startResponder({ issuer: E.pki.root });
    r2.setValidity({ nextUpdateMs: 3000 });
    const cert = await E.pki.issue('proc-expire', { mustStaple: true, ocspUrls: [r2.url] });
    const o = await spawnServer('tsnats', E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('must') }));
    assert.ok(o.ready, o.proc.out());
    try {
      assert.equal((await probe(o.proc.port, { ca: E.pki.root.certPem })).staple?.status, 'good');
      await r2.close();
      const gone = await waitFor(async () => (await probe(o.proc.port, { ca: E.pki.root.certPem })).staple === null, 8000, 250);
      assert.ok(gone, 'no staple once expired');
      for (const tls13 of [false, true]) {
        const p = await probe(o.proc.port, { ca: E.pki.root.certPem, tls13 });
        assert.equal(p.staple, null);
        assert.equal(p.serial, cert.serialHex.replace(/^0+/, ''), 'handshake succeeded');
      }
      assert.match(o.proc.out(), /OCSP staple for certificate '.*' expired at .*: handshakes continue without a staple/);
      assert.equal(o.proc.child.exitCode, null, 'a responder outage never shuts the server down');
    } finally {
      await o.proc.kill();
    }
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
