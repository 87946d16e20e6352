// store_dir (top level or jetstream { store_dir }): the staple is cached on disk in nats-server's
// layout, and a restart with the responder stopped serves the cached staple on the first
// handshake without a single request.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { startResponder } from '../../src/testkit/index.js';
import { conf, ocspBlock, probe, setup, startTs, startTsOutcome, type Env } from './helpers.js';

let E: Env;
before(async () => {
  E = await setup();
});
after(async () => {
  await E?.close();
});

describe('store_dir disk cache', () => {
  for (const where of ['top level', 'jetstream']) {
    it(`${where}: written on fetch, served after a restart with the responder stopped (0 requests)`, async () => {
      const r = await startResponder({ issuer: E.pki.root });
      const cert = await E.pki.issue(`store-${where.replace(' ', '-')}`, { mustStaple: true, ocspUrls: [r.url] });
      const store = mkdtempSync(join(E.dir, 'store-'));
      const extra = where === 'jetstream' ? `jetstream { store_dir: "${store}" }` : undefined;
      const text = conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('must'), storeDir: where === 'jetstream' ? undefined : store, extra });
      const file = join(store, 'ocsp', createHash('sha256').update(cert.der).digest('hex'));
      try {
        let ts = await startTs(E.dir, text);
        const first = await probe(ts.port, { ca: E.pki.root.certPem });
        await ts.stop();
        assert.equal(first.staple?.status, 'good');
        assert.ok(existsSync(file), 'cached at <store_dir>/ocsp/<sha256 of the leaf DER>');
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.equal(statSync(join(store, 'ocsp')).mode & 0o777, 0o700);
        assert.ok(readFileSync(file).equals(first.staple.der), 'the stapled bytes');

        // Responder up but counted: a restart does not ask it.
        r.resetRequests();
        ts = await startTs(E.dir, text);
        const second = await probe(ts.port, { ca: E.pki.root.certPem });
        await ts.stop();
        assert.equal(r.requests.total, 0, 'no request on restart');
        assert.ok(second.staple?.der.equals(first.staple.der), 'cached staple served on the first handshake');

        // Responder stopped: still starts (must mode) and staples from disk.
        await r.close();
        ts = await startTs(E.dir, text);
        try {
          assert.ok(ts.logs.some((l) => l.includes(`Found OCSP status for Client certificate at '${cert.certFile}': good`)));
          const third = await probe(ts.port, { ca: E.pki.root.certPem, tls13: true });
          assert.ok(third.staple?.der.equals(first.staple.der));
          assert.equal(ts.server.ocsp.list()[0]!.stapler.status().source, 'disk');
        } finally {
          await ts.stop();
        }
      } finally {
        await r.close().catch(() => undefined);
      }
    });
  }

  it('without store_dir nothing is cached: a restart with the responder stopped refuses to start', async () => {
    const r = await startResponder({ issuer: E.pki.root });
    const cert = await E.pki.issue('store-none', { mustStaple: true, ocspUrls: [r.url] });
    const text = conf({ cert, caFile: E.pki.caFile });
    const ts = await startTs(E.dir, text);
    assert.equal((await probe(ts.port, { ca: E.pki.root.certPem })).staple?.status, 'good');
    await ts.stop();
    await r.close();
    const out = await startTsOutcome(E.dir, text);
    if (out.ok) await out.ts.stop();
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.error, /^bad OCSP status update for certificate at '.*store-none\.pem': /);
  });
});
